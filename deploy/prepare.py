"""Before `make scale`: check Redis answers and create the PostgreSQL database if missing.

Reads ``DATABASE_URL`` and ``REDIS_URL``; exits with a clear message when a
service is not reachable.
"""

from __future__ import annotations

import os
import sys

import psycopg
import redis
from psycopg import sql


def ensure_database(url: str) -> None:
    if not url.startswith(("postgres://", "postgresql://")):
        return
    base, _, name = url.rpartition("/")
    name = name.split("?", 1)[0]
    try:
        with psycopg.connect(f"{base}/postgres", autocommit=True, connect_timeout=5) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                print(f"created database {name}")
    except psycopg.OperationalError as exc:
        sys.exit(f"PostgreSQL is not reachable at {base}: {exc}")


def check_redis(url: str) -> None:
    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        sys.exit(f"Redis is not reachable at {url}: {exc}")


if __name__ == "__main__":
    ensure_database(os.environ["DATABASE_URL"])
    check_redis(os.environ["REDIS_URL"])
