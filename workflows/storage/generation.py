"""One stamp for the configuration every request reads, and the in-process caches behind it (issue 24).

Departments, users, dictionaries, processes and their versions, rules, webhook endpoints, robot
targets, calendars and settings change rarely, and nearly every action reads them. Database triggers
(migration 0026) give the one ``generation`` row a new stamp in the transaction of every change to
those tables, whatever made it: the admin, the API, the CLI, a worker, another host, a hand-written
``UPDATE``. A cache keeps a value with the stamp it was built under; the stamp is read once per
request (:func:`scope`) and a value built under another stamp is built again. So a change committed
on one host is seen by the next request on every other, with no message bus and no expiry time.

The stamp is random, not a counter: a value built inside a transaction that then rolls back carries
a stamp that no committed change will have. Outside a scope (scripts, tests calling the engine) the
stamp is read at each use: still one small statement instead of the tables it stands for.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

from peewee import SQL

from workflows.storage.db import _bound, database
from workflows.storage.prepared import Prepared

T = TypeVar("T")
TABLES = ("department", "user", "dictionary", "process", "process_version", "rule", "webhook_endpoint",
          "robot_target", "calendar", "setting")  # the tables whose every change renews the stamp
SQL_STAMP = "SELECT stamp FROM generation WHERE id = 1"
_memo: ContextVar[dict | None] = ContextVar("generation", default=None)
_caches: dict[str, tuple[int, object]] = {}
_present: set = set()  # the bound databases (their URL key) known to have the table


def stamp() -> int | None:
    """The current stamp: read from the database once per scope (each use outside one); None before
    migration 0026 (a migration of an older database runs today's code: nothing is kept then)."""
    memo = _memo.get()
    if memo is not None and "stamp" in memo:
        return memo["stamp"]
    row = database.execute_sql(SQL_STAMP).fetchone() if _migrated() else None
    value = row[0] if row else None
    if memo is not None:
        memo["stamp"] = value
    return value


def column():
    """The stamp as a column (``generation_stamp``) of a query the request runs anyway, such as the
    login's user or the API token's: with :func:`seen`, the request reads it without a statement of its own."""
    return _column(_migrated())


def _column(migrated: bool):
    return SQL(f"({SQL_STAMP})" if migrated else "NULL").alias("generation_stamp")


def prepared(build: Callable, *kinds: type) -> Callable[[], Prepared]:
    """``build(stamp_column, *args)`` as a :class:`Prepared` query: one SQL text with :func:`column`, one
    without (a database before migration 0026), and the one that fits the bound database when called."""
    texts = {state: Prepared(functools.partial(build, _column(state)), *kinds) for state in (True, False)}
    return lambda: texts[_migrated()]


def _migrated() -> bool:
    """Whether the bound database has the stamp's table: asked of the database until it has (then known for
    its URL; no migration drops it but 0026's own ``down``, which only tests run)."""
    key = _bound.get("key")
    if key in _present:
        return True
    if "generation" in database.get_tables():
        _present.add(key)
        return True
    return False


def seen(row) -> None:
    """Take the stamp a query read through :func:`column` as this scope's (no-op outside a scope)."""
    memo, value = _memo.get(), getattr(row, "generation_stamp", None)
    if memo is not None and value is not None and "stamp" not in memo:
        memo["stamp"] = value


def cached(name: str, build: Callable[[], T]) -> T:
    """``build()``'s value, built again when the stamp changed since it was built (read the stamp first:
    the tables are then read at least as new as the stamp the value is kept under)."""
    current = stamp()
    if current is None:
        return build()
    held = _caches.get(name)
    if held is not None and held[0] == current:
        return held[1]  # type: ignore[return-value]
    value = build()
    _caches[name] = (current, value)
    return value


@contextmanager
def scope() -> Iterator[None]:
    """Read the stamp at most once inside (a request, a worker's job): the view of one unit of work."""
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


@contextmanager
def unit() -> Iterator[None]:
    """A scope unless one is open: every engine action is one (``uploads.action``; ``engine.create`` is one as
    a decorator, ``@generation.unit()``, since it reads its version before its action), so a script, the worker
    or a test calling the engine reads the stamp once per action rather than at each cache it uses."""
    if _memo.get() is not None:
        yield
        return
    with scope():
        yield


def forget() -> None:
    """Read the stamp again at the next use: this unit of work just changed the configuration
    (``storage.audit.record`` calls it: every configuration change is audited in its transaction)."""
    memo = _memo.get()
    if memo is not None:
        memo.clear()


def memo() -> dict | None:
    """The current unit of work's scratch dict (None outside a scope): answers one request asks twice.
    Cleared with :func:`forget`; keys must hold whatever makes the answer change (a ticket's version)."""
    return _memo.get()


def init_app(app) -> None:
    """A scope per request: the first cache used reads the stamp, the others reuse it."""
    @app.before_request
    def _open() -> None:
        _memo.set({})

    @app.teardown_request
    def _close(exc) -> None:
        _memo.set(None)
