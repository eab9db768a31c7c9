FROM golive-local/debian-servers:bookworm
# Every other container on the bridge network reaches this port: protected mode stays on,
# so without a password (pytest-golive always gives one, --requirepass) only loopback
# clients inside the container are served.
EXPOSE 6379
ENTRYPOINT ["redis-server", "--bind", "0.0.0.0", "--protected-mode", "yes", "--save", "", "--appendonly", "no"]
