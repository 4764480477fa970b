"""Inserts and keyed updates whose SQL text is generated once per shape, then only re-bound (issue 24).

A new row's ``save()`` and the engine's versioned ticket update spent a third of an action in peewee
building SQL text (``Insert._generate_insert`` and ``Update.__sql__``), though the text depends only
on the shape: the database kind, the model, which columns are written and which values the field
turns into an SQL function (SQLite's ``json(?)``). The first write of a shape is built by peewee as
usual; its parameters are compared with the ones computed here, and only a shape whose parameters
match exactly is re-bound afterwards; any other shape keeps peewee's path for good. So a peewee
upgrade that changes how a value is written falls back to peewee instead of writing something else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from peewee import Field, Function, Model, Node

from workflows.storage.db import database

_INSERTS: dict[tuple, str | None] = {}  # shape -> SQL text, or None: peewee builds it each time
_UPDATES: dict[tuple, str | None] = {}
_UNFIT = object()


def save_new(instance: Model) -> int:
    """``Model.save()`` of a row not yet written (auto-increment key unset), as peewee does it."""
    meta = instance._meta
    data = instance.__data__.copy()
    instance._populate_unsaved_relations(data)
    data.pop(meta.primary_key.name, None)
    key = insert(type(instance), data)
    if key is not None:
        instance._pk = key
        instance._dirty.discard(meta.primary_key.name)
    instance._dirty -= set(data)
    return 1


def insert(model: type[Model], data: dict[str, Any]):
    """``model.insert(**data).execute()``: the new row's id."""
    def build():
        return model.insert(**data)
    if any(isinstance(value, Node) for value in data.values()):  # an SQL expression as a value: peewee writes it
        return _inserted(*build().sql())
    fields = model._meta.fields
    names = tuple(sorted(data, key=lambda name: fields[name]._sort_key))
    values = [fields[name].db_value(data[name]) for name in names]
    key = (type(database.obj), model, names, tuple(isinstance(v, Node) for v in values))
    return _bound(_INSERTS, key, build, _params(values), _inserted)


def update(model: type[Model], values: dict[Field, Any], where: dict[Field, Any]) -> int:
    """``model.update(values).where(f1 == v1, f2 == v2, ...).execute()``: the rows changed."""
    def build():
        return model.update(values).where(*(f == v for f, v in where.items()))
    if any(isinstance(value, Node) for value in [*values.values(), *where.values()]):
        return _changed(*build().sql())
    sets = sorted(values, key=lambda f: f._sort_key)  # peewee sorts SET by the fields' order
    converted = [f.db_value(values[f]) for f in sets] + [f.db_value(v) for f, v in where.items()]
    key = (type(database.obj), model, tuple(f.name for f in sets), tuple(f.name for f in where),
           tuple(isinstance(v, Node) for v in converted))
    return _bound(_UPDATES, key, build, _params(converted), _changed)


def _bound(texts: dict[tuple, str | None], key: tuple, build: Callable, params: list, run: Callable):
    """``run(sql, params)`` with the shape's cached text; a shape's first write learns whether its text may be
    kept (peewee bound exactly ``params``), and a shape that may not is built by peewee at every write."""
    if key not in texts:
        sql, built = build().sql()
        texts[key] = sql if _same(params, built) else None
        return run(sql, built)
    if texts[key] is None:
        return run(*build().sql())
    return run(texts[key], params)


def _inserted(sql: str, params: list):
    """The new row's id: PostgreSQL's ``RETURNING`` row (peewee adds it there), SQLite's last rowid."""
    cursor = database.execute_sql(sql, params)
    return cursor.fetchone()[0] if " RETURNING " in sql else cursor.lastrowid


def _changed(sql: str, params: list) -> int:
    return database.execute_sql(sql, params).rowcount


def _params(values: list) -> list:
    """The statement's parameters: each value, or the one plain argument of the SQL function it became."""
    out = []
    for value in values:
        if isinstance(value, Node):
            arguments = getattr(value, "arguments", None) if isinstance(value, Function) else None
            value = arguments[0] if arguments and len(arguments) == 1 and not isinstance(arguments[0], Node) \
                else _UNFIT
        out.append(value)
    return out


def _same(mine: list, peewees: list) -> bool:
    """Whether peewee bound exactly these parameters (psycopg's JSON wrappers compare by what they wrap)."""
    if len(mine) != len(peewees):
        return False
    return all(a is not _UNFIT and type(a) is type(b) and (a == b or (hasattr(a, "obj") and a.obj == b.obj))
               for a, b in zip(mine, peewees, strict=True))
