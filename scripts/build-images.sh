#!/usr/bin/env bash
# Build Postgres and Redis images from Debian packages, for machines that cannot pull
# from a registry (air-gapped runners, this project's CI). The Postgres image honours the
# official image's POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB. Images that exist are
# kept: build only what is missing (or everything with --force).
#
#   scripts/build-images.sh [--force] [--postgis]
#   -> golive-local/postgres:15 and golive-local/redis:7
#   point pytest-golive at them with GOLIVE_POSTGRES_IMAGE / GOLIVE_REDIS_IMAGE.
#   --postgis also builds golive-local/postgis:15 (the Postgres image with Debian's PostGIS),
#   for apps whose migrations need it (tests/realapps; GOLIVE_REALAPPS_POSTGIS_IMAGE).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
base=golive-local/debian-servers:bookworm
postgres=${GOLIVE_POSTGRES_IMAGE:-golive-local/postgres:15}
redis=${GOLIVE_REDIS_IMAGE:-golive-local/redis:7}
postgis_image=${GOLIVE_REALAPPS_POSTGIS_IMAGE:-golive-local/postgis:15}
force= postgis=
for arg in "$@"; do
    case $arg in
        --force) force=--force ;;
        --postgis) postgis=1 ;;
        *) echo "usage: scripts/build-images.sh [--force] [--postgis]" >&2; exit 2 ;;
    esac
done

have() { [ "$force" != "--force" ] && docker image inspect "$1" >/dev/null 2>&1; }

build_postgis() {
    if [ -n "$postgis" ] && ! have "$postgis_image"; then
        docker build --quiet -t "$postgis_image" --build-arg "BASE=$postgres" \
            -f "$here/images/postgis.Dockerfile" "$here/images" >/dev/null
        echo "build-images: built $postgis_image"
    fi
}

if have "$postgres" && have "$redis"; then
    echo "build-images: $postgres and $redis exist"
    build_postgis
    exit 0
fi
if ! have "$base"; then
    if ! command -v mmdebstrap >/dev/null 2>&1; then
        echo "build-images: installing mmdebstrap"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null
    fi
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    echo "build-images: building a Debian bookworm root file system with postgresql-15 and redis-server"
    mmdebstrap --quiet --variant=apt --include=postgresql-15,redis-server,util-linux bookworm "$work/rootfs.tar"
    docker import "$work/rootfs.tar" "$base" >/dev/null
fi
docker build --quiet -t "$postgres" -f "$here/images/postgres.Dockerfile" "$here/images" >/dev/null
docker build --quiet -t "$redis" -f "$here/images/redis.Dockerfile" "$here/images" >/dev/null
echo "build-images: built $postgres and $redis"
build_postgis
