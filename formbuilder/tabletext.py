"""How a detail table (明细表) reads: one line for read-only text, one cell per table in exports, and
one timeline entry per changed row.

A table's stored value is a list of row objects (``[{"part": "fr-200", "qty": 2}, ...]``, empty cells
absent). Each cell reads the way its column would read as a field of its own (``display.text_of``):
dictionary codes as labels, booleans as ✓/✗, instants in local time. Total like ``display``: whatever
is stored (not a list, a row that is no object, a column the schema lacks, a nested value) reads as
text, never raises, and never as a Python repr.

Attachment cells read as their file names when the caller knows them (``files``: key -> file name)
and are left out when it does not: a stored key means nothing to a reader, and the customer's
progress page offers no files at all.

The punctuation follows the table's own titles, which the admin wrote in one language: full-width
(``配件：压缩机，数量：2；``) when they hold Chinese, ASCII (``Part: fan, Qty: 1; ``) otherwise.

``display`` imports the field-type registry, whose table entry imports this module; so the registry
and ``display`` are imported inside the functions that use them, keeping the import graph acyclic.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from .messages import N_, Msg

#: What a row with no readable cell shows, so its number is not followed by nothing.
EMPTY_ROW = "—"
#: A row position one side of a change does not have (a stored ``null`` row is a row).
NO_ROW: Any = object()
_CHINESE = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")


@dataclass(frozen=True)
class Marks:
    """The punctuation of one table: after a column title, between cells, between rows."""

    title: str
    cell: str
    row: str


FULL_WIDTH = Marks("：", "，", "；")
ASCII = Marks(": ", ", ", "; ")


@dataclass(frozen=True)
class Reading:
    """What a cell needs to read: the dictionaries, the file names if known, the yes/no words if wanted."""

    dictionaries: Mapping
    files: Mapping[str, str] | None = None
    yes_no: tuple[str, str] | None = None


def columns(schema: Any) -> dict[str, dict]:
    """column key -> column schema, in the document's order; {} for a schema of another shape.

    ``tables.columns`` for a schema that passed the checks; this one reads whatever it is given."""
    items = schema.get("items") if isinstance(schema, dict) else None
    found = items.get("properties") if isinstance(items, dict) else None
    return {k: c for k, c in found.items() if isinstance(c, dict)} if isinstance(found, dict) else {}


def marks(schema: Any) -> Marks:
    """Full-width punctuation when the table's or a column's title holds Chinese, ASCII otherwise."""
    titles = [schema.get("title", "") if isinstance(schema, dict) else ""]
    titles += [c.get("title", k) for k, c in columns(schema).items()]
    return FULL_WIDTH if any(_CHINESE.search(str(t)) for t in titles) else ASCII


def loose_text(value: Any) -> str:
    """A value of no expected shape as text: JSON for objects and lists (never a repr), else its text."""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return "" if value is None else str(value)


def cell_text(column: dict, cell: Any, reading: Reading) -> str:
    """One cell as its column would read as a field; attachments as file names, or "" if unknown."""
    from .display import text_of
    from .fieldtypes import _file_names, classify

    kind = classify(column)
    if kind is not None and kind.name == "attachment":
        names = _file_names(cell, reading.files) if reading.files is not None else ""
        return loose_text(cell) if names is None else names
    if reading.yes_no is not None and isinstance(cell, bool):
        return reading.yes_no[0] if cell else reading.yes_no[1]
    if isinstance(cell, dict) or (isinstance(cell, list) and any(isinstance(v, dict | list) for v in cell)):
        return loose_text(cell)
    return text_of(kind, column, cell, reading.dictionaries)


def cell_texts(schema: dict, row: dict, reading: Reading, keys: Collection[str] | None = None) -> list[tuple[str, str]]:
    """(column title, text) of a row's readable cells: the schema's columns in order, then unknown keys.

    ``keys`` limits the cells to those (the timeline lists only the changed ones)."""
    known = columns(schema)
    order = [*(k for k in known if k in row), *(k for k in row if k not in known)]
    wanted = order if keys is None else [k for k in order if k in keys]
    found = ((str(known.get(k, {}).get("title", k)), cell_text(known.get(k, {}), row[k], reading)) for k in wanted)
    return [(title, text) for title, text in found if text]


def row_text(schema: dict, row: Any, reading: Reading, keys: Collection[str] | None = None) -> str:
    """One row as ``title：value，title：value`` (the table's marks); a row that is no object as text."""
    if not isinstance(row, dict):
        return loose_text(row)
    mark = marks(schema)
    return mark.cell.join(f"{title}{mark.title}{text}" for title, text in cell_texts(schema, row, reading, keys))


def _numbered(schema: dict, value: Any, reading: Reading, separator: str | None) -> str:
    """Every row numbered from 1 and joined by ``separator`` (None: the table's row mark)."""
    if value is None or value == "" or value == []:
        return ""
    if not isinstance(value, list):  # one object stands for one row; anything else reads as text
        return row_text(schema, value, reading) if isinstance(value, dict) else loose_text(value)
    joined = marks(schema).row if separator is None else separator
    return joined.join(f"{n}. {row_text(schema, row, reading) or EMPTY_ROW}" for n, row in enumerate(value, 1))


def table_text(schema: dict, value: Any, dictionaries: Mapping, files: Mapping[str, str] | None = None) -> str:
    """The whole table as one line: ``1. 配件：压缩机，数量：2；2. 配件：风扇``.

    The registry entry's ``text``: read-only fields, the customer's progress page, the dry run. Pass
    ``files`` where attachment cells may be named (the ticket page); without it they are left out."""
    return _numbered(schema, value, Reading(dictionaries, files), None)


def table_grid(schema: dict, value: Any, dictionaries: Mapping,
               files: Mapping[str, str] | None = None) -> tuple[list[str], list[list[str]]] | None:
    """(column titles, one list of cell texts per row) to show a table as a table; None for another shape."""
    rows = value if isinstance(value, list) and all(isinstance(r, dict) for r in value) else None
    if rows is None:
        return None
    known, reading = columns(schema), Reading(dictionaries, files)
    return ([str(c.get("title", k)) for k, c in known.items()],
            [[cell_text(c, row[k], reading) if k in row else "" for k, c in known.items()] for row in rows])


def table_export(schema: dict, value: Any, dictionaries: Mapping, files: Mapping[str, str],
                 yes_no: tuple[str, str] | None = None) -> str:
    """The table's one export cell: a numbered row a line, cells ``title：value``, booleans in ``yes_no``.

    Not the registry's ``export`` (that one gets no schema): ``exports.flatten`` calls it for a table."""
    return _numbered(schema, value, Reading(dictionaries, files, yes_no), "\n")


def _rows(value: Any) -> list | None:
    """The stored rows; an empty value is no rows, a value of another shape None."""
    if value is None or value == "" or value == []:
        return []
    return value if isinstance(value, list) else None


def _blank(cell: Any) -> bool:
    return cell is None or cell == "" or cell == []


def changed_keys(old: dict, new: dict) -> list[str]:
    """The columns whose cell differs between two rows (an empty cell and an absent one are alike)."""
    keys = [*old, *(k for k in new if k not in old)]
    return [k for k in keys if old.get(k) != new.get(k) and not (_blank(old.get(k)) and _blank(new.get(k)))]


def row_change(schema: dict, old: Any, new: Any, reading: Reading) -> tuple[str, str] | None:
    """(old text, new text) of one row position; None when nothing readable changed.

    An added or removed row reads whole; a changed row lists only its changed cells."""
    if old == new:
        return None
    if isinstance(old, dict) and isinstance(new, dict):
        keys = changed_keys(old, new)
        before, after = row_text(schema, old, reading, keys), row_text(schema, new, reading, keys)
    else:
        before = "" if old is NO_ROW else row_text(schema, old, reading) or EMPTY_ROW
        after = "" if new is NO_ROW else row_text(schema, new, reading) or EMPTY_ROW
    return None if before == after else (before, after)


def row_changes(schema: dict, old: Any, new: Any, dictionaries: Mapping, *, key: str = "",
                files: Mapping[str, str] | None = None,
                gettext: Callable[[str], str] | None = None) -> list[tuple[str, str, str]]:
    """A table's change as timeline entries (label, old text, new text), one per changed row position.

    Rows are matched by position: a row added reads (``配件 第 3 行``, "", its text), a removed one
    (label, its text, ""), a changed one only its changed cells before and after. A value of another
    shape than a list gives one entry for the whole table, as any field's change. ``key`` names the
    field when its schema has no title; ``gettext`` renders the label in the reader's language."""
    title = str(schema.get("title", key)) if isinstance(schema, dict) else key
    before, after, reading = _rows(old), _rows(new), Reading(dictionaries, files)
    if before is None or after is None:
        return [(title, table_text(schema, old, dictionaries, files), table_text(schema, new, dictionaries, files))]
    entries = []
    for n in range(max(len(before), len(after))):
        change = row_change(schema, before[n] if n < len(before) else NO_ROW,
                            after[n] if n < len(after) else NO_ROW, reading)
        if change is not None:
            label = Msg(N_("%(field)s, row %(row)d"), {"field": title, "row": n + 1}).render(gettext)
            entries.append((label, *change))
    return entries
