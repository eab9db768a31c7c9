# The Postgres image with Debian's PostGIS: for apps whose migrations add geometry columns.
ARG BASE=golive-local/postgres:15
FROM ${BASE}
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-15-postgis-3 >/dev/null \
    && rm -rf /var/lib/apt/lists/*
