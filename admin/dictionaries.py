"""The dictionary tree editor (字典与面板): add, rename, reorder, disable and remove items, edit their
attributes (format 2); import and export.

Every change is one transaction with its audit entry (see :mod:`workflows.processes.dictedit`);
each POST redirects back with a flash, or re-renders the page with status 422 and
the problems. Access is decided by the admin package's AdminOnly mixin.
"""

from __future__ import annotations

from flask import Response, abort, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext
from flask_login import current_user

from workflows.processes import dictedit
from workflows.processes.documents import DocumentError
from workflows.storage.models import Dictionary

from .versions import parse, pretty, rendered


def stored(code: str) -> Dictionary:
    return Dictionary.get_or_none(Dictionary.code == code) or abort(404)


class DictionariesView(BaseView):
    @expose("/")
    def index(self):
        return self._index_page()

    def _index_page(self, problems: list[str] | None = None, form: dict | None = None):
        rows = [(row, dictedit.count(row.document)) for row in Dictionary.select().order_by(Dictionary.code)]
        return self.render("admin/dictionaries.html", rows=rows, problems=problems or [], form=form or {})

    @expose("/new", methods=("POST",))
    def new(self):
        code, name = request.form.get("code", ""), request.form.get("name", "")
        try:
            dictedit.create(code, name, current_user.user)
        except DocumentError as error:
            return self._index_page(rendered(error.problems), {"code": code, "name": name}), 422
        flash(gettext("Dictionary %(code)s created.", code=code.strip()), "success")
        return redirect(url_for(".tree", code=code.strip()))

    @expose("/import", methods=("POST",))
    def import_document(self):
        """Create or replace a dictionary from an uploaded document; an identical one changes nothing."""
        upload = request.files.get("file")
        document, problems = parse(upload.read().decode("utf-8", errors="replace") if upload else "")
        if not problems:
            try:
                row, changed = dictedit.import_document(document, current_user.user)
            except DocumentError as error:
                problems = rendered(error.problems)
        if problems:
            return self._index_page(problems), 422
        flash(gettext("Imported dictionary %(code)s.", code=row.code) if changed else
              gettext("Dictionary %(code)s is unchanged.", code=row.code), "success")
        return redirect(url_for(".tree", code=row.code))

    @expose("/<code>/")
    def tree(self, code: str):
        return self._tree_page(stored(code))

    def _tree_page(self, row: Dictionary, problems: list[str] | None = None):
        return self.render("admin/dictionary.html", dictionary=row, doc=row.document, problems=problems or [],
                           usage=dictedit.usage(row.code), count=dictedit.count(row.document), shown=dictedit.shown)

    @expose("/<code>/export")
    def export(self, code: str):
        row = stored(code)
        return Response(pretty(row.document) + "\n", mimetype="application/json",
                        headers={"Content-Disposition": f"attachment; filename={code}.dictionary.json"})

    # -- item actions: one POST, one transaction, one audit entry each ----------------------------------

    def _change(self, code: str, action: str, change, message: str):
        """Apply ``change`` (document -> document) and redirect back, or show why not with 422."""
        stored(code)
        try:
            dictedit.edit(code, current_user.user, action, change)
        except DocumentError as error:  # rolled back: the page shows the stored document
            return self._tree_page(stored(code), rendered(error.problems)), 422
        flash(message, "success")
        return redirect(url_for(".tree", code=code))

    def _item(self, code: str, value: str) -> dict:
        """The item ``value`` of dictionary ``code`` (404 when either is unknown)."""
        try:
            return dictedit.locate(stored(code).document, value)[0]
        except DocumentError:
            abort(404)

    @expose("/<code>/items/add", methods=("POST",))
    def add(self, code: str):
        form = request.form
        parent, value, label = form.get("parent") or None, form.get("value", ""), form.get("label", "")
        return self._change(code, "dictionary.add", lambda doc: dictedit.add_item(doc, parent, value, label),
                            gettext("Item %(value)s added.", value=value.strip()))

    @expose("/<code>/items/<path:value>/rename", methods=("POST",))
    def rename(self, code: str, value: str):
        self._item(code, value)
        label = request.form.get("label", "")
        return self._change(code, "dictionary.rename", lambda doc: dictedit.rename(doc, value, label),
                            gettext("Item %(value)s renamed.", value=value))

    @expose("/<code>/items/<path:value>/toggle", methods=("POST",))
    def toggle(self, code: str, value: str):
        enable = not self._item(code, value).get("enabled", True)
        message = (gettext("Item %(value)s enabled.", value=value) if enable else
                   gettext("Item %(value)s disabled: no longer offered for new input.", value=value))
        return self._change(code, "dictionary.enable" if enable else "dictionary.disable",
                            lambda doc: dictedit.set_enabled(doc, value, enable), message)

    @expose("/<code>/items/<path:value>/up", methods=("POST",))
    def up(self, code: str, value: str):
        return self._move(code, value, -1)

    @expose("/<code>/items/<path:value>/down", methods=("POST",))
    def down(self, code: str, value: str):
        return self._move(code, value, +1)

    def _move(self, code: str, value: str, delta: int):
        self._item(code, value)
        return self._change(code, "dictionary.move", lambda doc: dictedit.move(doc, value, delta),
                            gettext("Item %(value)s moved.", value=value))

    @expose("/<code>/items/<path:value>/delete", methods=("POST",))
    def delete(self, code: str, value: str):
        self._item(code, value)
        return self._change(code, "dictionary.remove", lambda doc: dictedit.remove(doc, value),
                            gettext("Item %(value)s removed.", value=value))

    @expose("/<code>/items/<path:value>/data", methods=("POST",))
    def attributes(self, code: str, value: str):
        """Replace the item's attributes with the rows of its form; a format-1 dictionary becomes format 2."""
        self._item(code, value)
        rows = attribute_rows(request.form)
        upgrade = stored(code).document.get("format", 1) < 2 and any(key.strip() for key, _ in rows)
        message = gettext("Attributes of %(value)s saved.", value=value)
        if upgrade:
            message += " " + gettext("The dictionary is now format 2.")
        return self._change(code, "dictionary.data", lambda doc: dictedit.set_data(doc, value, rows), message)


def attribute_rows(form) -> list[tuple[str, str]]:
    """The (key, value) rows of an attribute form, a row ticked "remove" blanked so rows keep their numbers."""
    removed = set(form.getlist("remove"))
    pairs = zip(form.getlist("key"), form.getlist("value"), strict=False)
    return [("", "") if str(i) in removed else (key, text) for i, (key, text) in enumerate(pairs)]
