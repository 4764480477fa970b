"""The columns of a detail table (明细表) in the visual editor: add, edit, move and remove, one change each.

A column is edited with the settings of a field of its kind (``formbuilder.fieldkinds``), minus
what only a whole field has; its page is the table's field page with ``?column=KEY`` (or
``?add_column=KIND``), so a table's columns live under the table they belong to.
"""

from __future__ import annotations

from flask import abort, request
from flask_admin import expose
from flask_babel import gettext

from formbuilder import editing2, fieldkinds
from formbuilder.editing import EditError
from formbuilder.tables import COLUMN_KINDS, FIELD_ONLY_KEYS, columns
from workflows.processes import documents as docs

from .editforms import FieldForm, options
from .editor import Stale, change, dictionary_choices, draft_of, revision


def column_schema(old: dict | None, kind: str, settings: dict) -> dict:
    """The column's schema from the form: a field's, without the keys that mean something for a whole field."""
    built = fieldkinds.build(kind, settings)
    return fieldkinds.merge(old, {k: v for k, v in built.items() if k not in FIELD_ONLY_KEYS})


class ColumnsMixin:
    """Mixed into the processes view next to :class:`admin.editor.EditorMixin`."""

    def _column_page(self, code: str, key: str):
        _, doc = draft_of(code)
        table = doc["schema"]["properties"][key]
        column = request.args.get("column")
        old = columns(table).get(column) if column else None
        if column is not None and old is None:
            abort(404)
        kind = fieldkinds.kind_of(old) if old else request.args.get("add_column")
        if kind not in COLUMN_KINDS:
            abort(404)
        form = FieldForm(request.form) if request.method == "POST" else FieldForm(data={
            **fieldkinds.settings(old), "column_required": column in table["items"].get("required", [])} if old else {})
        self._column_choices(form, table, column)
        if request.method == "POST" and self._field_valid(form, column):
            try:
                return self._save_column(code, key, column, kind, form, old)
            except (Stale, docs.DocumentError, EditError) as error:
                return self._refused(code, lambda p: self._render_column(code, doc, key, column, kind, form, p), error)
        status = 422 if request.method == "POST" else 200
        return self._render_column(code, doc, key, column, kind, form), status

    def _save_column(self, code: str, key: str, column: str | None, kind: str, form: FieldForm, old: dict | None):
        name, schema = column or form.key.data, column_schema(old, kind, form.settings())
        problems = change(code, "process.edit", lambda d: editing2.put_column(
            d, key, name, schema, required=bool(form.column_required.data), new=column is None))
        return self._done(code, problems, gettext("Column saved."), ".edit_field", key=key)

    @staticmethod
    def _column_choices(form: FieldForm, table: dict, column: str | None) -> None:
        form.dictionary.choices = options([("", "—"), *dictionary_choices()])
        form.cascade.choices = options([("", "—")] + [(name, f"{schema.get('title', name)} ({name})") for name, schema
                                                      in columns(table).items() if name != column])

    def _render_column(self, code: str, doc: dict, key: str, column: str | None, kind: str, form: FieldForm,
                       problems: list | None = None):
        return self.render("admin/editor_column.html", doc=doc, code=code, key=key, column=column, kind=kind,
                           form=form, rev=revision(doc), shown=fieldkinds.shown(kind, column=True),
                           kinds=fieldkinds.KINDS, table=doc["schema"]["properties"][key], problems=problems or [])

    @expose("/<code>/fields/<key>/columns/<move>", methods=("POST",))
    def column_action(self, code: str, key: str, move: str):
        column = request.form.get("column", "")
        edits = {"up": lambda d: editing2.move_column(d, key, column, -1),
                 "down": lambda d: editing2.move_column(d, key, column, 1),
                 "delete": lambda d: editing2.remove_column(d, key, column)}
        if move not in edits:
            abort(404)
        try:
            problems = change(code, "process.edit", edits[move])
        except (Stale, docs.DocumentError, EditError) as error:
            return self._refused(code, lambda p: self._editor_page(code, p), error)
        message = gettext("Column removed.") if move == "delete" else gettext("Columns reordered.")
        return self._done(code, problems, message, ".edit_field", key=key)
