#!/usr/bin/env bash
# Build Postgres and Redis images from Debian packages, for machines that cannot pull
# from a registry (air-gapped runners, this project's CI). The Postgres image honours the
# official image's POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB. Images that exist are
# kept: build only what is missing, or was built from another recipe (the files in
# scripts/images, whose hash each image carries as the label golive.recipe), or
# everything with --force.
#
#   scripts/build-images.sh [--force]
#   -> golive-local/postgres:15 and golive-local/redis:7
#   point pytest-golive at them with GOLIVE_POSTGRES_IMAGE / GOLIVE_REDIS_IMAGE.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
base=golive-local/debian-servers:bookworm
postgres=${GOLIVE_POSTGRES_IMAGE:-golive-local/postgres:15}
redis=${GOLIVE_REDIS_IMAGE:-golive-local/redis:7}
force=${1:-}

recipe() { cat "$here/images/$1.Dockerfile" "$here/images/$1"-* 2>/dev/null | sha256sum | cut -c1-16; }
have() { # image name, recipe name
    [ "$force" != "--force" ] &&
        [ "$(docker image inspect -f '{{ index .Config.Labels "golive.recipe" }}' "$1" 2>/dev/null)" = "$(recipe "$2")" ]
}

if have "$postgres" postgres && have "$redis" redis; then
    echo "build-images: $postgres and $redis exist"
    exit 0
fi
if ! docker image inspect "$base" >/dev/null 2>&1 || [ "$force" = "--force" ]; then
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
for kind in postgres redis; do
    image=$postgres
    [ "$kind" = redis ] && image=$redis
    docker build --quiet --label "golive.recipe=$(recipe "$kind")" -t "$image" \
        -f "$here/images/$kind.Dockerfile" "$here/images" >/dev/null
done
echo "build-images: built $postgres and $redis"
