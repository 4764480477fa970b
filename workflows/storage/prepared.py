"""Hot queries whose SQL text is generated once per database kind, then only re-bound.

Generating SQL is what peewee spends most of an engine action on: building the
ticket's load query takes ~260 µs, running it ~10 µs (issue 10). A :class:`Prepared`
query is built once with placeholder arguments; each call substitutes the real
values at the recorded parameter positions and runs the same text. Only the
query's text is kept, never a row: every call reads the database.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable

from workflows.storage.db import database

_counter = itertools.count(1)


class Prepared:
    """``build(*args)`` returns a peewee query whose shape does not depend on the arguments' values."""

    def __init__(self, build: Callable, *kinds: type):
        self.build, self.kinds = build, kinds  # each argument is a str or an int (None would change the shape)
        self._texts: dict[type, tuple] = {}
        self._shapes: dict[type, dict] = {}  # per database kind: how the first call's rows were read
        self._lock = threading.Lock()

    def _text(self) -> tuple:
        """(template query, SQL, params, {param index: argument index}) for the bound database's kind."""
        kind = type(database.obj)
        if kind not in self._texts:
            marks = [f"\x00arg{next(_counter)}" if k is str else -next(_counter) * 7919 for k in self.kinds]
            query = self.build(*marks)
            sql, params = query.sql()
            slots = {i: marks.index(p) for i, p in enumerate(params) if _hashable(p) and p in marks}
            if set(slots.values()) != set(range(len(marks))):  # each argument must land in a parameter
                raise ValueError(f"{self.build.__name__}: an argument is not a plain query parameter")
            with self._lock:
                self._texts[kind] = (query, sql, params, slots)
        return self._texts[kind]

    def _cursor(self, args: tuple):
        query, sql, params, slots = self._text()
        bound = [args[slots[i]] if i in slots else p for i, p in enumerate(params)]
        return query, database.execute_sql(sql, bound)

    def rows(self, *args) -> list:
        """The rows as the built query would return them (models, with their joined models)."""
        kind = type(database.obj)
        rows, shape = _converted(*self._cursor(args), self._shapes.get(kind))
        if shape is not None:
            self._shapes.setdefault(kind, shape)
        return rows

    def first(self, *args):
        rows = self.rows(*args)
        return rows[0] if rows else None

    def tuples(self, *args) -> list[tuple]:
        """Plain rows (for ``RETURNING`` and column reads)."""
        return self._cursor(args)[1].fetchall()


_PER_CURSOR = frozenset({"cursor", "count", "index", "initialized", "populated", "row_cache"})


def _converted(query, cursor, shape: dict | None) -> tuple[list, dict | None]:
    """The cursor's rows as ``query`` itself returns them (models, their joined models, or dicts/tuples),
    and the wrapper's shape when this call was the first to learn it.

    peewee converts rows only inside ``query.execute()``, which would generate the SQL again (the very
    cost a Prepared query skips), and offers no public way to convert a cursor run elsewhere. So this
    reaches into ``_get_cursor_wrapper``. The wrapper's first row resolves the columns: it reads the
    cursor's description and maps each column to its model, field and converter. That was about half of
    a hot read's CPU on PostgreSQL (issue 24: the ticket's load 0.69 -> 0.33 ms, an API token's 0.35 ->
    0.20 ms), for an answer that depends only on the SQL text, so the first call keeps that ``shape`` and
    later calls start from it. tests/test_prepared.py pins what this must give, so a peewee upgrade that
    changes it fails there, not in the engine.
    """
    wrapper = query._get_cursor_wrapper(cursor)
    if shape is not None:
        vars(wrapper).update(shape)
        wrapper.initialized = True
    rows = list(wrapper)
    if shape is None and wrapper.initialized:
        return rows, {k: v for k, v in vars(wrapper).items() if k not in _PER_CURSOR}
    return rows, None


def _hashable(value: object) -> bool:
    return isinstance(value, str | int) and not isinstance(value, bool)
