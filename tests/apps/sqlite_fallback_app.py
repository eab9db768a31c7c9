"""A small app whose settings fall back to SQLite when its database switch is not set, as
Django projects with ``if os.getenv("DB") == "postgres":`` around their ``DATABASES`` do.

``python sqlite_fallback_app.py migrate`` is its setup: with ``DATABASE_URL`` set, it creates a
table there (Postgres); without, it migrates ``./data.sqlite`` in its working folder (a
developer's own database, if one is there). ``python sqlite_fallback_app.py serve`` serves
``GET /health`` on ``$PORT`` and, without ``DATABASE_URL``, records each request in
``./data.sqlite`` too.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

import psycopg


def use_database() -> None:
    url = os.environ.get("DATABASE_URL")
    if url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS visits (id serial PRIMARY KEY)")
            conn.execute("INSERT INTO visits DEFAULT VALUES")
        return
    fallback = sqlite3.connect("data.sqlite")
    with fallback:
        fallback.execute("CREATE TABLE IF NOT EXISTS visits (id INTEGER PRIMARY KEY)")
        fallback.execute("INSERT INTO visits DEFAULT VALUES")
    fallback.close()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        use_database()
        body = b"ok\n"
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


if __name__ == "__main__":
    if sys.argv[1:] == ["migrate"]:
        use_database()
    else:
        HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
