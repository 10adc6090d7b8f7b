"""How order transactions take the database: on SQLite, one writer at a time per process.

SQLite has one writer at a time, and a writer that finds the database locked
retries by sleeping (up to 100 ms a time), which makes the latency tail long.
Within one process, order transactions queue on a lock instead, and are
handed the database as soon as the previous one commits.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

_SQLITE_WRITE_LOCK = threading.Lock()


@contextmanager
def sqlite_writer() -> Iterator[None]:
    """Queue behind this process's other SQLite writers (nothing on other databases, or when nested)."""
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        yield
        return
    with _SQLITE_WRITE_LOCK:
        yield
