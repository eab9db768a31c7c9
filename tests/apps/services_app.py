"""A small app for golive's own tests, started by checklists as a real process.

``python services_app.py MODE`` serves on ``$PORT``. ``GET /health`` answers at once, and
``GET /env`` returns the variables whose names start with ``APP_``; ``GET /moved`` redirects to
the app's public address in ``APP_PUBLIC_URL``, where nothing listens (as apps behind a proxy do). ``GET /use`` uses
``DATABASE_URL`` and ``REDIS_URL`` the way real apps do, by MODE:

- ``pool``: connections opened at start and kept (SQLAlchemy's pool, redis-py, an RQ worker);
- ``per-request``: a connection per request, closed after it (Django with CONN_MAX_AGE=0);
- ``at-start``: once, as it starts (a check of its database at boot), then never again;
- ``hollow``: never; it reads other variables than golive sets and uses nothing.

``python services_app.py migrate`` is a setup command: it creates a table in
``DATABASE_URL`` (or, when that is not a Postgres URL, in a SQLite file of that name) and exits.

On start it prints ``APP_LOG_LINES`` lines (default 3), coloured with ANSI codes, and the
value of ``APP_SECRET_TOKEN``, as careless apps do.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import psycopg
import redis

MODE = sys.argv[1] if len(sys.argv) > 1 else "pool"
KEPT: dict[str, Any] = {}


def use_services() -> None:
    database, cache = os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL")
    if MODE == "pool":
        if database:
            KEPT.setdefault("db", psycopg.connect(database, autocommit=True)).execute("SELECT 1")
        if cache:
            KEPT.setdefault("cache", redis.Redis.from_url(cache)).get("app:key")
    elif MODE == "per-request":
        if database:
            with psycopg.connect(database, autocommit=True) as conn:
                conn.execute("SELECT 1")
        if cache:
            client = redis.Redis.from_url(cache)
            client.get("app:key")
            client.close()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/use":
            use_services()
        if self.path == "/moved":
            self.send_response(308)
            self.send_header("location", os.environ.get("APP_PUBLIC_URL", "http://127.0.0.1:9/"))
            self.send_header("content-length", "0")
            self.end_headers()
            return
        document = {k: v for k, v in os.environ.items() if k.startswith("APP_")} if self.path == "/env" else {}
        body = json.dumps({"ok": True, **document}).encode()
        self.send_response(200 if self.path != "/fail" else 500)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        print(f"request {format % args}", flush=True)


def migrate() -> None:
    database = os.environ.get("DATABASE_URL", "app.sqlite3")
    if database.startswith("postgresql://"):
        with psycopg.connect(database, autocommit=True) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS migrated (id int)")
    else:
        with sqlite3.connect(database) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS migrated (id int)")


def main() -> None:
    if MODE == "migrate":
        migrate()
        return
    for number in range(int(os.environ.get("APP_LOG_LINES", "3"))):
        print(f"\x1b[32mINFO\x1b[0m starting, line {number}", flush=True)
    print(f"token is {os.environ.get('APP_SECRET_TOKEN', 'unset')}", flush=True)
    if MODE == "pool":
        use_services()
    if MODE == "at-start" and os.environ.get("DATABASE_URL", "").startswith("postgresql://"):
        with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
            conn.execute("SELECT 1")
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler)
    print(f"listening on {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
