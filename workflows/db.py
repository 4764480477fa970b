"""One peewee database proxy, bound by the app factory from ``DATABASE_URL``.

SQLite (the embedded default) runs in WAL mode with IMMEDIATE write
transactions and a busy timeout, so concurrent writers queue instead of
failing; PostgreSQL (the scale option) is pooled.
"""

from __future__ import annotations

import os
from pathlib import Path

from peewee import Database, DatabaseProxy, SqliteDatabase
from playhouse import db_url
from playhouse.migrations import Runner

database = DatabaseProxy()
_bound: dict = {}
MIGRATIONS = Path(__file__).with_name("migrations")
SQLITE_PRAGMAS = {"journal_mode": "wal", "busy_timeout": 30000, "foreign_keys": 1, "synchronous": "normal"}


def make_database(url: str, root: str | os.PathLike = ".") -> Database:
    """A database for ``url``; relative SQLite paths are taken from ``root``."""
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        if path != ":memory:":
            path = os.path.join(root, path)
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        return SqliteDatabase(path, pragmas=SQLITE_PRAGMAS, timeout=30, lock_type="IMMEDIATE")
    if url.startswith(("postgresql://", "postgres://")):
        pooled = "postgresql+pool://" + url.split("://", 1)[1]
        return db_url.connect(pooled, max_connections=32, stale_timeout=300, timeout=10)
    raise ValueError(f"DATABASE_URL: unsupported scheme in {url!r} (use sqlite:/// or postgresql://)")


def bind(url: str, root: str | os.PathLike = ".") -> Database:
    """Point the shared proxy at ``url``, reusing the database (and pool) if already bound."""
    key = (url, os.fspath(root))
    if _bound.get("key") == key and database.obj is not None:
        return database.obj
    old = database.obj
    if old is not None:
        old.close_all() if hasattr(old, "close_all") else old.close()
    db = make_database(url, root)
    database.initialize(db)
    _bound["key"] = key
    return db


def upgrade() -> list[str]:
    """Apply pending migrations (idempotent); returns the names applied."""
    with database.connection_context():
        return Runner(database.obj, str(MIGRATIONS)).up()


def init_app(app) -> None:
    """Bind the proxy and open/close a connection around each request."""
    bind(app.config["DATABASE_URL"], app.root_path)

    @app.before_request
    def _connect():
        database.connect(reuse_if_open=True)

    @app.teardown_appcontext
    def _close(exc):
        if not database.is_closed():
            database.close()
