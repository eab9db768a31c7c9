#!/usr/bin/env bash
# Build Postgres and Redis images from Debian packages, for machines that cannot pull
# from a registry (air-gapped runners, this project's CI). The Postgres image honours the
# official image's POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB. Images that exist are
# kept: build only what is missing (or everything with --force).
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

have() { [ "$force" != "--force" ] && docker image inspect "$1" >/dev/null 2>&1; }

if have "$postgres" && have "$redis"; then
    echo "build-images: $postgres and $redis exist"
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
