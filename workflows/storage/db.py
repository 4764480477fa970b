"""One peewee database proxy, bound by the app factory from ``DATABASE_URL``.

SQLite (the embedded default) runs in WAL mode with IMMEDIATE write
transactions and a busy timeout, so concurrent writers queue instead of
failing; PostgreSQL (the scale option) is pooled, sized by ``DB_POOL_*``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path

from peewee import Database, DatabaseProxy, SqliteDatabase
from playhouse import db_url
from playhouse.migrations import Runner
from playhouse.pool import PooledPostgresqlDatabase
from psycopg.pq import TransactionStatus

database = DatabaseProxy()
_bound: dict = {}
MIGRATIONS = Path(__file__).with_name("migrations")
SQLITE_PRAGMAS = {"journal_mode": "wal", "busy_timeout": 30000, "foreign_keys": 1, "synchronous": "normal"}


class SparingPostgresPool(PooledPostgresqlDatabase):
    """peewee's pool, without its liveness round trip for a connection back from a request a moment ago.

    peewee sends ``SELECT 1`` on every check-out (a round trip per request, 4 % of an API read). A
    connection that came back idle within :attr:`recent` seconds was working then; one idle longer is
    pinged as before, so a restarted server's dead connections are still replaced. (Django does not check
    at all by default; a failure in the window is that request's error, as a crash mid-request is.)
    """

    recent = 1.0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._returned: dict = {}

    def _can_reuse(self, conn) -> bool:
        reusable = super()._can_reuse(conn)
        if reusable:
            self._returned[self.conn_key(conn)] = time.monotonic()
        return reusable

    def _is_closed(self, conn) -> bool:
        returned = self._returned.pop(self.conn_key(conn), None)
        fresh = returned is not None and time.monotonic() - returned < self.recent
        if fresh and not conn.closed and conn.info.transaction_status == TransactionStatus.IDLE:
            return False
        return super()._is_closed(conn)


db_url.register_database(SparingPostgresPool, "postgresql+sparing")


def make_database(url: str, root: str | os.PathLike = ".") -> Database:
    """A database for ``url``; relative SQLite paths are taken from ``root``."""
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        if path != ":memory:":
            path = os.path.join(root, path)
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        return SqliteDatabase(path, pragmas=SQLITE_PRAGMAS, timeout=30, lock_type="IMMEDIATE")
    if url.startswith(("postgresql://", "postgres://")):
        pooled = "postgresql+sparing://" + url.split("://", 1)[1]
        return db_url.connect(pooled, **pool_options())
    raise ValueError(f"DATABASE_URL: unsupported scheme in {url!r} (use sqlite:/// or postgresql://)")


POOL_SETTINGS = {  # environment variable: (PooledPostgresqlDatabase option, default)
    "DB_POOL_SIZE": ("max_connections", 32),  # per process: a sync gunicorn worker uses one at a time
    "DB_POOL_STALE_TIMEOUT": ("stale_timeout", 300),  # seconds a connection lives; an older one is replaced
    "DB_POOL_TIMEOUT": ("timeout", 10),  # seconds to wait for a free connection before failing
    "DB_CONNECT_TIMEOUT": ("connect_timeout", 5),  # seconds for a new connection (psycopg), so /healthz answers
}


def pool_options(environ: Mapping[str, str] = os.environ) -> dict[str, int]:
    """The PostgreSQL pool's options from ``DB_POOL_*`` variables, named in the error when not a number."""
    options = {}
    for variable, (option, default) in POOL_SETTINGS.items():
        text = environ.get(variable, "").strip()
        if text and not (text.isascii() and text.isdigit() and int(text) > 0):
            raise ValueError(f"{variable}: expected a positive whole number, got {text!r}")
        options[option] = int(text) if text else default
    return options


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


def upgrade(target: str | None = None) -> list[str]:
    """Apply pending migrations (idempotent), or those up to ``target`` (e.g. "0001_documents"); returns their names."""
    from workflows.storage import statistics  # it reads the bound database: imported when it is bound

    with database.connection_context():
        applied = Runner(database.obj, str(MIGRATIONS)).up(target)
        statistics.after_migrations(applied)  # ANALYZE a real database whose schema just changed
        return applied


def init_app(app) -> None:
    """Bind the proxy; a request's connection is returned (to the pool) when the request ends.

    The connection opens at the request's first query (peewee's autoconnect), not
    before every request: a page that needs none takes none, and a database that
    is down fails at the query, where the page can answer (/healthz: 503).
    """
    bind(app.config["DATABASE_URL"], app.root_path)

    @app.teardown_appcontext
    def _close(exc):
        if database.is_closed() or _kept():
            return
        database.close()


def _kept() -> bool:
    """SQLite: the thread keeps its connection for its next request (issue 24: opening it and setting its
    PRAGMAs was 16 % of an API read). Only an idle one: a request that left a transaction open (it failed
    inside one) has it rolled back and closed. PostgreSQL's connections go back to the pool."""
    if not isinstance(database.obj, SqliteDatabase):
        return False
    if database.in_transaction():
        database.rollback()
        return False
    return True


COLLISIONS = ("40P01", "40001")  # PostgreSQL: deadlock detected, serialization failure


def collided(error: BaseException) -> bool:
    """True for a transaction PostgreSQL rolled back because a concurrent one held what it needed.

    Nothing of it was kept, so the user action may be tried again: callers answer 409, not 500. peewee
    wraps the driver's error and keeps it as ``orig``.
    """
    return getattr(getattr(error, "orig", None), "sqlstate", None) in COLLISIONS
