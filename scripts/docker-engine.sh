#!/usr/bin/env bash
# Make a Docker engine answer on this machine, for testcontainers.
# - nothing to do when `docker info` already answers (GitHub Actions, a developer laptop);
# - otherwise (a fresh Debian machine, run as root) install docker.io and start dockerd
#   with published ports bound to 127.0.0.1 only.
set -euo pipefail

if docker info >/dev/null 2>&1; then
    echo "docker-engine: an engine already answers"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "docker-engine: no engine answers, and starting one needs root" >&2
    exit 1
fi
if ! command -v dockerd >/dev/null 2>&1; then
    echo "docker-engine: installing docker.io"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi
log=/var/log/golive-dockerd.log
echo "docker-engine: starting dockerd (log: $log)"
nohup dockerd --ip 127.0.0.1 >"$log" 2>&1 &
for _ in $(seq 1 60); do
    if docker info >/dev/null 2>&1; then
        echo "docker-engine: ready"
        exit 0
    fi
    sleep 0.5
done
echo "docker-engine: dockerd did not answer within 30 s; last log lines:" >&2
tail -n 20 "$log" >&2
exit 1
