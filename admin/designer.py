"""The designer: palette, canvas, properties panel and flow diagram on one page, edited without reloads.

One full page load opens it; every edit is an htmx POST to ``/design/op/<name>``
(:mod:`admin.designer_ops`), run through ``admin.editor.change`` (one transaction,
one audit entry, 409 when the page is stale) and answered with the designer's body,
which htmx swaps in place. The page carries its state (revision, shown step,
selection, undo and redo stacks) in hidden inputs every request includes, so the
server keeps nothing between requests and any worker can answer.
"""

from __future__ import annotations

import json

from flask import abort, request
from flask_admin import expose
from flask_babel import gettext
from werkzeug.datastructures import MultiDict

from formbuilder import editing, fieldkinds
from formbuilder.tables import columns, is_table
from workflows.processes import documents as docs
from workflows.storage.models import Process

from . import designer_formulas, designer_props  # noqa: F401 - register the panel's edits in OPS
from . import designer_history as history
from .designer_canvas import canvas_form, palette
from .designer_flow import flow_markup
from .designer_ops import FOCUS, OPS, Ctx, Sel
from .designer_panels import panel_context
from .editor import Stale, change, draft_of, revision
from .places import linked


class Unchanged(Exception):
    """The edit left the draft as it was."""


def shown_step(doc: dict, wanted: str | None) -> str:
    keys = [step["key"] for step in doc.get("steps", [])]
    return wanted if wanted in keys else keys[0]


def published_keys(code: str) -> frozenset:
    """Keys of the latest version's fields, and ``TABLE.COLUMN`` of its tables' columns: they keep their keys."""
    latest = docs.latest_version(code)
    props = latest.document["schema"]["properties"] if latest else {}
    cols = {f"{key}.{col}" for key, schema in props.items() if is_table(schema) for col in columns(schema)}
    steps = {f"step:{step['key']}" for step in latest.document["steps"]} if latest else set()
    return frozenset(props) | frozenset(cols) | frozenset(steps)


def problems_of(doc: dict, code: str) -> list:
    return linked(docs.publish_problems(doc), code)


class DesignerMixin:
    """Pages of the designer; mixed into the processes view (AdminOnly decides access)."""

    @expose("/<code>/design")
    def designer(self, code: str):
        process, doc = draft_of(code)
        state = {"step": request.args.get("step"), "sel": request.args.get("sel", ""), "undo": "", "redo": ""}
        return self.render("admin/designer/page.html", **self._body(process, doc, state))

    @expose("/<code>/design/view", methods=("POST",))
    def design_view(self, code: str):
        """Another step on the canvas or another selection in the panel: nothing is written."""
        process, doc = draft_of(code)
        state = MultiDict(request.form)
        if request.form.get("show_step"):
            state["step"] = request.form["show_step"]
        return self.render("admin/designer/_body.html", **self._body(process, doc, state))

    @expose("/<code>/design/op/<op_name>", methods=("POST",))
    def design_op(self, code: str, op_name: str):
        run = OPS.get(op_name) or abort(404)
        process, doc = draft_of(code)
        ctx = Ctx(shown_step(doc, request.form.get("step")), Sel.parse(request.form.get("sel")), request.form,
                  published=published_keys(code))
        done: list = []

        def edit(before: dict) -> dict:
            after, sel = run(before, ctx)
            done.append(sel)
            if json.dumps(after, ensure_ascii=False) == json.dumps(before, ensure_ascii=False):
                raise Unchanged  # a blur or Enter without a change: nothing to save, audit or undo
            return after

        try:
            change(code, "process.edit", edit, lambda before, after: done.append(history.record(code, before, after)))
        except Stale:
            return self._stale(process, doc), 409
        except (docs.DocumentError, editing.EditError) as error:
            return self._refused_op(process, doc, error), 422
        except Unchanged:
            return self._after(code, ctx, done[0], request.form.get("undo", ""), request.form.get("redo", ""))
        return self._after(code, ctx, done[0], history.pushed(request.form.get("undo"), done[1]),
                           focus=ctx.focus or FOCUS.get(op_name))

    def _after(self, code: str, ctx: Ctx, sel: Sel, undo: str, redo: str = "", focus: str | None = None):
        """The body after an edit with the page's new undo and redo stacks (a new edit empties redo)."""
        process, doc = draft_of(code)
        state = MultiDict({"step": ctx.step, "sel": str(sel), "undo": undo or "", "redo": redo or ""})
        return self.render("admin/designer/_body.html", said=ctx.said, focus=focus, **self._body(process, doc, state))

    def _stale(self, process: Process, doc: dict):
        said = [gettext("The draft was changed by someone else since this page was opened. "
                        "Reload it and make your change again.")]
        return self.render("admin/designer/_body.html", stale=True, said=said,
                           **self._body(process, doc, request.form))

    def _refused_op(self, process: Process, doc: dict, error: Exception):
        problems = error.problems if isinstance(error, docs.DocumentError) else [error.problem]
        return self.render("admin/designer/_body.html", refused=linked(problems, process.code),
                           **self._body(process, doc, request.form))

    @expose("/<code>/design/undo", methods=("POST",))
    def design_undo(self, code: str):
        return self._travel(code, history.undo)

    @expose("/<code>/design/redo", methods=("POST",))
    def design_redo(self, code: str):
        return self._travel(code, history.redo)

    def _travel(self, code: str, move):
        """Undo or redo one edit: the draft as it was before (after) it, as a new audited edit."""
        process, doc = draft_of(code)
        ctx = Ctx(shown_step(doc, request.form.get("step")), Sel.parse(request.form.get("sel")), request.form)
        try:
            undo, redo = move(code, request.form)
        except Stale:
            return self._stale(process, doc), 409
        except history.NothingTo:
            return self.render("admin/designer/_body.html", **self._body(process, doc, request.form))
        doc = draft_of(code)[1]
        sel = ctx.sel if _still_there(doc, ctx.sel) else Sel()
        ctx.step = shown_step(doc, ctx.step)
        return self._after(code, ctx, sel, undo, redo)

    def _body(self, process: Process, doc: dict, state) -> dict:
        """Everything the designer's templates read, from the draft and the page's state."""
        step_key = shown_step(doc, state.get("step"))
        sel = Sel.parse(state.get("sel"))
        sel = sel if _still_there(doc, sel) else Sel()
        step = next(s for s in doc["steps"] if s["key"] == step_key)
        return {"process": process, "doc": doc, "code": process.code, "rev": revision(doc), "step": step,
                "sel": sel, "undo": state.get("undo") or "", "redo": state.get("redo") or "",
                "palette": palette(), "canvas": canvas_form(process, step_key), "kind_of": fieldkinds.kind_of,
                "problems": problems_of(doc, process.code), "panel": panel_context(process, doc, sel, step_key),
                "published": published_keys(process.code), "flow_diagram": flow_markup(doc, sel, step_key)}


def _still_there(doc: dict, sel: Sel) -> bool:
    if sel.kind == "field":
        return sel.key in doc.get("schema", {}).get("properties", {})
    steps = {s["key"]: s for s in doc.get("steps", [])}
    if sel.kind == "step":
        return sel.key in steps
    if sel.kind == "transition":
        return sel.key in steps and 0 <= sel.index < len(steps[sel.key].get("transitions", []))
    return True
