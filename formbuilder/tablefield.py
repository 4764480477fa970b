"""The detail table's WTForms field: WTForms' own FieldList of FormField rows.

The row form class is built once per step form class (with the step form, from the
column schemas, each column by its registry type); a request only binds it. Rows are
named ``parts-0-qty`` as FieldList names them; the page script renumbers them when a
row is added, removed or moved, so the submitted order is the table's order.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wtforms import Form
from wtforms.fields import FieldList, FormField
from wtforms.utils import unset_value

from .tables import columns

#: Each enabled input is paired with this hidden marker, so an unticked box or an emptied multi-select
#: still counts as submitted while a disabled field does not (``forms.PRESENT`` re-exports it).
PRESENT = "lz_present"


class Column:
    """One column, read once per form class: its key, schema, registry type and option source."""

    def __init__(self, name: str, schema: dict, kind, source):
        self.name, self.schema, self.type, self.source = name, schema, kind, source
        self.label = schema.get("title") or name


def row_class(schema: dict) -> tuple[type[Form], tuple[Column, ...]]:
    """The row form of a table and its columns (called once per step form class)."""
    from .fieldtypes import classify, html_attributes
    from .forms import OptionSource
    from .steps import FieldMode, FieldSpec

    cols, attrs = [], {}
    for name, col in columns(schema).items():
        kind = classify(col)
        render = html_attributes(col) | ({"data-lz-cascade": col["x-cascade"], "data-lz-dict": col["x-dictionary"]}
                                         if "x-cascade" in col else {})
        attrs[name] = kind.unbound(col, label=col.get("title") or name, render_kw=render)
        source = OptionSource(FieldSpec(name, col, kind, FieldMode("editable"))) if kind.has_choices else None
        cols.append(Column(name, col, kind, source))
    return type("TableRow", (Form,), attrs), tuple(cols)


class TableField(FieldList):
    """A detail table. ``data`` is the table as JSON: rows of converted cells, blank rows left out."""

    def __init__(self, *args, columns: tuple[Column, ...] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.columns, self.kept, self._dictionaries = columns, [], {}

    def process(self, formdata, data=unset_value, extra_filters=None):
        """The submitted rows when the browser sent the table, else the stored ones (read-only, hidden)."""
        sent = formdata is not None and self.name in formdata.getlist(PRESENT)
        rows = [self._row_in(row) for row in data if isinstance(row, dict)] if isinstance(data, list) else []
        super().process(formdata if sent else None, rows)
        self._json = None  # worked out once, on the first read of ``data``

    def _row_in(self, row: dict) -> dict:
        """A stored row as the row form takes it; a file cell keeps its keys (the page sends them back)."""
        return {c.name: row[c.name] if c.type.name == "attachment" else c.type.to_form(row[c.name])
                for c in self.columns if c.name in row}

    @staticmethod
    def _cell_out(column: Column, value: Any) -> Any:
        if column.type.name == "attachment":  # kept keys and new uploads; the engine stores the uploads
            return [v for v in value or [] if (isinstance(v, str) and v) or getattr(v, "filename", None)] or None
        return column.type.to_json(value)

    @property
    def data(self) -> list[dict]:
        if getattr(self, "_json", None) is None:
            self._json = self._rows()
        return self._json

    def _rows(self) -> list[dict]:
        rows, self.kept = [], []
        for position, entry in enumerate(self.entries):
            row = {c.name: self._cell_out(c, entry.form[c.name].data) for c in self.columns}
            row = {k: v for k, v in row.items() if v not in (None, "", [])}
            if row or any(entry.form[c.name].process_errors for c in self.columns):
                rows.append(row)
                self.kept.append(position)
        return rows

    def blank(self, index: int | str):
        """An unsaved row (the page's "add row" template, or one empty row to type in)."""
        name, id_ = f"{self.name}{self._separator}{index}", f"{self.id}{self._separator}{index}"
        row = self.meta.bind_field(self._form, self.unbound_field,
                                   {"name": name, "id": id_, "_meta": self.meta, "translations": self._translations})
        row.process(None)
        self._fill(row)
        return row

    def fill(self, dictionaries: Mapping) -> None:
        """Options of every row's choice cells (a cascade cell's from its row's parent cell)."""
        self._dictionaries = dictionaries
        for row in self.entries:
            self._fill(row)

    def _fill(self, row) -> None:
        form = row.form

        def current(name: str):
            return form[name].data if name in form else None
        for c in self.columns:
            if c.source is not None:
                form[c.name].choices = c.source.choices(current, form[c.name].data, self._dictionaries)

    def row_of(self, index: int):
        """The entry shown as JSON row ``index`` (blank rows are not in the JSON)."""
        self.data  # noqa: B018 - works out ``kept`` once
        return self.entries[self.kept[index]] if 0 <= index < len(self.kept) else None

    def place(self, path: list[str], message: str) -> bool:
        """Put an error for ``row/column`` at its cell; False when no such cell is on the page."""
        row = self.row_of(int(path[0])) if path and path[0].isdigit() else None
        if row is None:
            return False
        if len(path) > 1 and path[1] in row.form:
            row.form[path[1]].errors = [*row.form[path[1]].errors, message]
        else:
            row.lz_errors = [*getattr(row, "lz_errors", []), message]
        return True

    def input_errors(self) -> list[tuple[str, Any]]:
        """(``parts/2/qty``, column) for each cell whose text could not be read (``abc`` as a number)."""
        self.data  # noqa: B018
        return [(f"{self.name}/{i}/{c.name}", c) for i, position in enumerate(self.kept)
                for c in self.columns if self.entries[position].form[c.name].process_errors]


#: The most rows a posted form is read with when the table sets no ``maxItems``: binding costs per row,
#: and a forged form could name a million (the request size limit bounds the bytes, not the rows).
ROWS_READ = 1000


def table_field(schema: dict, **kwargs: Any) -> TableField:
    """The unbound table field of a step form class (``FieldType.unbound`` of the "table" type).

    One row past ``maxItems`` is read, so a form with too many rows is refused ("at most"), not cut short.
    """
    row, cols = row_class(schema)
    kwargs.pop("default", None)
    limit = schema["maxItems"] + 1 if isinstance(schema.get("maxItems"), int) else ROWS_READ
    return TableField(FormField(row), columns=cols, min_entries=0, max_entries=limit, **kwargs)
