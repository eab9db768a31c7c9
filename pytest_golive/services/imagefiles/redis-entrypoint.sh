#!/bin/sh
# Entry point compatible with the official redis image's: no arguments, or arguments that
# start with "-" (--requirepass SECRET, --maxmemory ...), run redis-server with them; a
# leading "redis-server" is accepted too; anything else is run as a command. For images
# built from Debian packages by `golive images build`. Protected mode stays on: without a
# password (pytest-golive always gives one) only clients inside the container are served.
set -eu
if [ "${1:-}" = "redis-server" ]; then
    shift
elif [ "$#" -gt 0 ] && [ "${1#-}" = "$1" ]; then
    exec "$@"
fi
exec redis-server --bind 0.0.0.0 --protected-mode yes --save "" --appendonly no "$@"
