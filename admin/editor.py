"""The visual process editor: basics and fields (steps and the matrix are in :mod:`admin.stepeditor`).

Every change loads the draft, applies one ``formbuilder.editing`` function,
saves the draft and records the audit entry in one transaction. Pages carry
the draft's revision; a change made on a stale page is refused (409) instead
of silently overwriting another admin's edit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext
from flask_login import current_user

from formbuilder import editing, editing2, fieldkinds
from formbuilder.diagram import flow_svg
from formbuilder.diagram_marks import translated
from formbuilder.keys import key_for
from formbuilder.tables import COLUMN_KINDS
from workflows.processes import documents as docs
from workflows.storage.models import Department, Dictionary, Process

from .editforms import BasicsForm, FieldForm, NewProcessForm, options
from .org import ROLE_CHOICES
from .places import linked


class Stale(Exception):
    """The draft changed after the page was rendered."""


def revision(document: object) -> str:
    return hashlib.sha256(json.dumps(document, ensure_ascii=False).encode()).hexdigest()[:16]


def draft_of(code: str) -> tuple[Process, dict]:
    process = Process.get_or_none(Process.code == code) or abort(404)
    return process, process.draft


def change(code: str, action: str, edit: Callable[[dict], dict],
           recorded: Callable[[dict, dict], None] | None = None) -> list:
    """Apply ``edit`` to the draft through the document store (saved with its audit entry, one transaction).

    Returns the static-check problems left in the draft (they block publishing only); ``recorded(before,
    after)`` runs in the same transaction with the draft as saved. A format-1
    draft the edit gives a format-2 key becomes format 2 in the same change, and the flash says so.
    """
    draft_of(code)  # 404 for an unknown process
    raised = []

    def fresh(before: dict) -> None:
        if request.form.get("rev") != revision(before):
            raise Stale

    def upgrading(before: dict) -> dict:
        after, up = editing2.upgraded(edit(before))
        raised.append(up)
        if recorded is not None:  # in the edit's transaction: the designer's undo record
            recorded(before, after)
        return after

    problems = docs.edit_draft(code, current_user.user, action, upgrading, fresh)
    if any(raised):
        flash(gettext('The draft now uses format 2 ("format": 2), which this setting needs; '
                      "everything else means what it did."), "info")
    return problems


def department_choices() -> list[tuple[str, str]]:
    """The departments a member field may be narrowed to, by code."""
    return [(code, f"{name} ({code})") for code, name in
            Department.select(Department.code, Department.name).order_by(Department.code).tuples()]


def dictionary_choices() -> list[tuple[str, str]]:
    return [(code, f"{name} ({code})") for code, name in
            Dictionary.select(Dictionary.code, Dictionary.name).order_by(Dictionary.code).tuples()]


def _codes() -> list[str]:
    return [code for (code,) in Process.select(Process.code).tuples()]


def ordering(key: str, move: Callable, remove: Callable) -> dict[str, Callable[[dict], dict]]:
    """The up, down and delete edits of the field or step ``key``, by their URL word."""
    return {"up": lambda d: move(d, key, -1), "down": lambda d: move(d, key, 1), "delete": lambda d: remove(d, key)}


def _put_field(doc: dict, key: str, schema: dict, new: bool, steps: list[str]) -> dict:
    """Add or replace a field; a computed one is made read-only where a step had it editable (check 8)."""
    out = editing.put_field(doc, key, schema, new=new)
    if "x-formula" not in schema:
        return out
    out, changed = editing2.computed_read_only(out, key)
    steps[:] = changed
    return out


class EditorMixin:
    """Pages of the visual editor; mixed into the processes view (AdminOnly decides access)."""

    def _refused(self, code: str, page: Callable, error: Exception, status: int = 422):
        """Re-render ``page`` with the problems of a refused change."""
        if isinstance(error, Stale):
            message = gettext("The draft was changed by someone else since this page was opened. "
                              "Reload it and make your change again.")
            return page([{"path": "/", "text": "/: " + message, "url": None}]), 409
        problems = error.problems if isinstance(error, docs.DocumentError) else [error.problem]
        return page(linked(problems, code)), status

    def _done(self, code: str, problems: list, message: str, endpoint: str = ".editor", **kwargs):
        flash(message, "success")
        if problems:
            flash(gettext("%(count)d problem(s) left before the draft can be published.", count=len(problems)),
                  "warning")
        return redirect(url_for(endpoint, code=code, **kwargs))

    @expose("/new", methods=("GET", "POST"))
    def new_process(self):
        form = NewProcessForm(request.form if request.method == "POST" else None)
        if request.method == "POST" and form.validate():
            code = form.code.data or key_for(form.name.data, _codes(), fallback="process")
            if Process.get_or_none(Process.code == code):
                form.code.errors.append(gettext("A process with this code exists."))
            else:
                doc = editing.skeleton(code, form.name.data, form.first_step.data)
                docs.create_draft(doc, current_user.user)
                flash(gettext("Process created. Add its fields and steps."), "success")
                return redirect(url_for(".designer", code=doc["code"]))
        return self.render("admin/editor_new.html", form=form), 422 if request.method == "POST" else 200

    @expose("/<code>/edit")
    def editor(self, code: str):
        return self._editor_page(code)

    def _editor_page(self, code: str, problems: list | None = None, basics: BasicsForm | None = None):
        process, doc = draft_of(code)
        checked = linked(docs.publish_problems(doc), code)
        return self.render("admin/editor.html", process=process, doc=doc, rev=revision(doc),
                           basics=basics or self._basics_form(doc), problems=problems or [], checked=checked,
                           kinds=fieldkinds.KINDS, kind_of=fieldkinds.kind_of,
                           diagram=flow_svg(doc, end_label=gettext("End"), words=translated(gettext)))

    @staticmethod
    def _basics_form(doc: dict) -> BasicsForm:
        priority = doc.get("priority", {})
        return BasicsForm(data={**doc, "priority_enabled": priority.get("enabled", False),
                                "priority_default": priority.get("default", "normal")})

    @expose("/<code>/basics", methods=("POST",))
    def basics(self, code: str):
        form = BasicsForm(request.form)
        if not form.validate():
            return self._editor_page(code, basics=form), 422
        try:
            problems = change(code, "process.edit", lambda doc: editing.set_basics(doc, form.data))
        except (Stale, docs.DocumentError) as error:
            return self._refused(code, lambda p: self._editor_page(code, p, form), error)
        return self._done(code, problems, gettext("Basic information saved."))

    @expose("/<code>/add-field/<kind>", methods=("GET", "POST"))
    def add_field(self, code: str, kind: str):
        if kind not in fieldkinds.KINDS:
            abort(404)
        return self._field_page(code, kind, None)

    @expose("/<code>/fields/<key>", methods=("GET", "POST"))
    def edit_field(self, code: str, key: str):
        _, doc = draft_of(code)
        schema = doc["schema"]["properties"].get(key) or abort(404)
        return self._field_page(code, fieldkinds.kind_of(schema) or abort(404), key)

    def _field_page(self, code: str, kind: str, key: str | None):
        if key and kind == "table" and {"column", "add_column"} & set(request.args):
            return self._column_page(code, key)
        _, doc = draft_of(code)
        old = doc["schema"]["properties"].get(key) if key else None
        form = FieldForm(request.form) if request.method == "POST" else FieldForm(
            data=fieldkinds.settings(old) if old else {})
        self._field_choices(form, doc, key)
        if request.method == "POST" and self._field_valid(form, key):
            try:
                name = key or form.key.data
                schema = fieldkinds.merge(old, fieldkinds.build(kind, form.settings()))
                steps: list[str] = []
                problems = change(code, "process.edit", lambda d: _put_field(d, name, schema, key is None, steps))
                if steps:
                    flash(gettext("A computed field is read-only: it is now read-only at %(steps)s, where it was "
                                  "editable or required.", steps="、".join(steps)), "info")
                return self._done(code, problems, gettext("Field saved."))
            except (Stale, docs.DocumentError, editing.EditError) as error:
                return self._refused(code, lambda p: self._render_field(code, doc, kind, key, form, p), error)
        status = 422 if request.method == "POST" else 200
        return self._render_field(code, doc, kind, key, form), status

    @staticmethod
    def _field_valid(form: FieldForm, key: str | None) -> bool:
        valid = form.validate()
        if key is None and not form.key.data:
            form.key.errors = [*form.key.errors, gettext("This field is required.")]
            return False
        return valid

    @staticmethod
    def _field_choices(form: FieldForm, doc: dict, key: str | None) -> None:
        form.dictionary.choices = options([("", "—"), *dictionary_choices()])
        form.roles.choices, form.departments.choices = list(ROLE_CHOICES), options(department_choices())
        form.reader_roles.choices, form.reader_departments.choices = list(ROLE_CHOICES), options(department_choices())
        form.cascade.choices = options([("", "—")] + [(name, f"{schema.get('title', name)} ({name})") for name, schema
                                                      in doc["schema"]["properties"].items() if name != key])

    def _render_field(self, code: str, doc: dict, kind: str, key: str | None, form: FieldForm,
                      problems: list | None = None):
        return self.render("admin/editor_field.html", doc=doc, code=code, kind=kind, key=key, form=form,
                           rev=revision(doc), shown=[*fieldkinds.shown(kind), *fieldkinds.READER_SETTINGS],
                           kinds=fieldkinds.KINDS, problems=problems or [], kind_of=fieldkinds.kind_of,
                           column_kinds=COLUMN_KINDS,
                           **self._field_extras(doc, code, key))

    @expose("/<code>/fields/<key>/<move>", methods=("POST",))
    def field_action(self, code: str, key: str, move: str):
        message = gettext("Field removed.") if move == "delete" else gettext("Fields reordered.")
        return self._arrange(code, move, ordering(key, editing.move_field, editing.remove_field), message)

    def _arrange(self, code: str, move: str, edits: dict[str, Callable[[dict], dict]], message: str):
        """Fields and steps are moved and removed alike: one of ``edits`` (else 404), then the editor again."""
        if move not in edits:
            abort(404)
        try:
            problems = change(code, "process.edit", edits[move])
        except (Stale, docs.DocumentError, editing.EditError) as error:
            return self._refused(code, lambda p: self._editor_page(code, p), error)
        return self._done(code, problems, message)
