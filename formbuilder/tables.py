"""Detail tables (明细表): the shape, the static checks of their columns, and their rows' rules.

A table is ``{"type": "array", "x-widget": "table", "items": {"type": "object",
"properties": {COLUMN: <a scalar field of format 1, or an attachment>}, "required": [...]}}``
(``../shared/design/process-format.md``, Format 2). Its value is a list of row objects,
empty cells absent. The JSON Schema of the step checks the cells; what a schema cannot
say (dictionary options, cascades within a row) is checked here, each error at its cell:
``parts/2/qty`` is the third row's ``qty``, rows counted from 0 as in JSON Pointer.
The page's field is ``tablefield.TableField``; how a table reads is ``tabletext``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .messages import N_, Msg, Problem, pointer

#: The field types a column may be: one value per cell (a list of options would need a table in a cell).
COLUMN_KINDS = frozenset({"text", "textarea", "email", "number", "integer", "date", "datetime", "select",
                          "radio", "checkbox", "cascade", "rating", "attachment"})
#: Field keys that mean something for a whole field only, never for one column.
FIELD_ONLY_KEYS = ("x-formula", "x-readers", "x-public", "default")
NOT_OPTION = Msg(N_("Not one of the available options."))


def is_table(schema: Any) -> bool:
    """The table shape: an array of objects shown as a table."""
    return (isinstance(schema, dict) and schema.get("type") == "array" and schema.get("x-widget") == "table"
            and isinstance(schema.get("items"), dict) and schema["items"].get("type") == "object")


def columns(schema: dict) -> dict[str, dict]:
    """A table's columns, in document order."""
    found = schema.get("items", {}).get("properties", {})
    return found if isinstance(found, dict) else {}


def cell(table: str, row: int, column: str | None = None) -> str:
    """The key an error of a cell (or of a whole row) is reported under: ``parts/2/qty``."""
    return f"{table}/{row}" + (f"/{column}" if column is not None else "")


# -- static checks (check 1 for columns, check 3 for their dictionaries) ----------------------------

def problems(properties: dict, dictionaries: Mapping) -> list[Problem]:
    """Every problem of every table's columns, at its path."""
    found: list[Problem] = []
    for name, schema in properties.items():
        if is_table(schema):
            found += _column_problems(["schema", "properties", name, "items"], schema["items"], dictionaries)
    return found


def _column_problems(path: list, items: dict, dictionaries: Mapping) -> list[Problem]:
    from .checks import dictionary_refs
    from .fieldtypes import classify

    props = columns({"items": items})
    found = []
    for column, schema in props.items():
        at = [*path, "properties", column]
        kind = classify(schema)
        if kind is None or kind.name not in COLUMN_KINDS:
            found.append(Problem(pointer(at), Msg(N_("unsupported column type: a column holds one value"))))
        found += [Problem(pointer([*at, key]), Msg(N_("%(key)s applies to a whole field, not to a column"),
                                                   {"key": key})) for key in FIELD_ONLY_KEYS if key in schema]
    for i, column in enumerate(items.get("required", [])):
        if column not in props:
            found.append(Problem(pointer([*path, "required", i]), Msg(N_("no such column in the table"))))
    prefix = pointer(["schema", "properties"])
    return found + [Problem(pointer(path + ["properties"]) + p.path[len(prefix):], p.msg)
                    for p in dictionary_refs(props, dictionaries)]


# -- submission: what the schema cannot check ------------------------------------------------------

def _old_values(stored: Any, column: str) -> set:
    rows = stored if isinstance(stored, list) else []
    return {row.get(column) for row in rows if isinstance(row, dict)}


def option_errors(name: str, schema: dict, stored: Any, value: Any,
                  dictionaries: Mapping) -> list[tuple[str, Msg]]:
    """Dictionary cells that are not options (of the row's chosen parent, for a cascade column).

    A disabled item stays valid in a cell where the stored table already had it, as for a field.
    """
    found = []
    dictionary_columns = [(c, s) for c, s in columns(schema).items() if s.get("x-dictionary")]
    for i, row in enumerate(value if isinstance(value, list) else []):
        for column, col in dictionary_columns:
            chosen = row.get(column) if isinstance(row, dict) else None
            if not isinstance(chosen, str):
                continue
            index, parent = dictionaries.get(col["x-dictionary"]), col.get("x-cascade")
            new = chosen not in _old_values(stored, column)
            if index is None or not index.is_option(chosen, row.get(parent) if parent else None, new=new):
                found.append((cell(name, i, column), _cascade_msg(schema, parent) if parent else NOT_OPTION))
    return found


def _cascade_msg(schema: dict, parent: str) -> Msg:
    label = columns(schema).get(parent, {}).get("title", parent)
    return Msg(N_("Not an option of the chosen %(parent)s."), {"parent": label})


def error_key(field: str, path: Iterable, validator: str, instance: Any, expected: Any,
              known: Iterable[str] = ()) -> list[str]:
    """Where a JSON Schema error inside a table is reported: the cell, the row, or the table.

    ``path`` is the error's path below the table (row index, column); a missing required
    column is reported at its cell.
    """
    parts = list(path)
    if validator == "required" and len(parts) == 1 and isinstance(instance, dict):
        return [cell(field, parts[0], c) for c in expected if c not in instance]
    if validator == "additionalProperties" and len(parts) == 1 and isinstance(instance, dict):
        return [cell(field, parts[0], c) for c in instance if c not in known]
    if len(parts) >= 2:
        return [cell(field, parts[0], parts[1])]
    return [cell(field, parts[0])] if parts else [field]


# -- files in cells: a cell of an attachment column holds attachment keys, like an attachment field ----

def file_columns(schema: dict) -> tuple[str, ...]:
    """The table's attachment columns."""
    return tuple(c for c, s in columns(schema).items()
                 if s.get("type") == "array" and isinstance(s.get("items"), dict)
                 and s["items"].get("format") == "attachment")


def _is_upload(value: Any) -> bool:
    return not isinstance(value, str) and bool(getattr(value, "filename", None))


def take_files(name: str, file_cols: tuple[str, ...], rows: Any) -> dict[str, list]:
    """The uploads in a table's file cells, by cell (``parts/2/photo``), taken out of ``rows`` in place.

    A cell keeps the attachment keys it already held (the page sends them back beside new files).
    """
    found: dict[str, list] = {}
    for i, row in enumerate(rows if isinstance(rows, list) else []):
        for column in file_cols:
            value = row.get(column) if isinstance(row, dict) else None
            if not isinstance(value, list):
                continue
            uploads, kept = [v for v in value if _is_upload(v)], [v for v in value if not _is_upload(v)]
            if uploads:
                found[cell(name, i, column)] = uploads
                if kept:
                    row[column] = kept
                else:
                    del row[column]
    return found


def split(slot: str) -> tuple[str, int, str] | None:
    """``parts/2/photo`` as (table, row, column); None for a field's own name."""
    parts = slot.split("/")
    return (parts[0], int(parts[1]), parts[2]) if len(parts) == 3 and parts[1].isdigit() else None


def add_keys(data: dict, slot: str, keys: list[str]) -> dict:
    """``data`` with ``keys`` added to the cell ``slot`` (rows copied, never changed in place)."""
    table, index, column = split(slot)
    rows = [dict(r) if isinstance(r, dict) else r for r in data.get(table) or []]
    if 0 <= index < len(rows) and isinstance(rows[index], dict):
        rows[index][column] = [*(rows[index].get(column) or []), *keys]
    return {**data, table: rows}


def cell_keys(rows: Any, file_cols: tuple[str, ...]) -> set[str]:
    """Every attachment key held in a table's file cells."""
    return {key for row in (rows if isinstance(rows, list) else []) if isinstance(row, dict)
            for column in file_cols if isinstance(row.get(column), list)
            for key in row[column] if isinstance(key, str)}
