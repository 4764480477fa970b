"""What the designer's properties panel shows for the selection: a field, a step, a transition or the process.

Each kind of selection has one function here (steps and transitions register theirs
from :mod:`admin.designer_flow`) returning the template's context; the template is
``admin/designer/_panel_<kind>.html``.
"""

from __future__ import annotations

from collections.abc import Callable

from formbuilder import fieldkinds
from formbuilder.conditions import OPERATORS
from formbuilder.editing import MODES
from formbuilder.tables import COLUMN_KINDS
from workflows.storage.models import Process

from . import matrix
from .designer_ops import Sel
from .editforms import BasicsForm, FieldForm, options
from .editor import department_choices, dictionary_choices
from .formulas import field_problems, picker, sample_fields
from .org import ROLE_CHOICES
from .stepeditor import field_options

PREFIX = "lzp"  # the panel's inputs must not share ids with the canvas's fields (a field may be called "title")
Panel = Callable[[Process, dict, Sel, str], dict]
PANELS: dict[str, Panel] = {}


def panel(kind: str) -> Callable[[Panel], Panel]:
    def register(fn: Panel) -> Panel:
        PANELS[kind] = fn
        return fn
    return register


def panel_context(process: Process, doc: dict, sel: Sel, step_key: str) -> dict:
    return {"kind": sel.kind or "process", **PANELS[sel.kind or "process"](process, doc, sel, step_key)}


def presets(doc: dict, key: str) -> list:
    from .designer_formulas import presets as offered  # the shortcuts import this module's field_form
    return offered(doc, key)


def step_cell(doc: dict, step: dict, key: str) -> dict:
    """The field's cell at the shown step as the condition pickers show it."""
    return matrix.cell_of(doc, step.get("fields", {}).get(key))


def field_form(doc: dict, key: str, formdata=None) -> FieldForm:
    """The field's settings form, filled from the document (or the posted data), with its choices."""
    schema = doc["schema"]["properties"][key]
    form = (FieldForm(formdata, prefix=PREFIX) if formdata is not None
            else FieldForm(data=fieldkinds.settings(schema), prefix=PREFIX))
    form.dictionary.choices = options([("", "—"), *dictionary_choices()])
    form.roles.choices, form.departments.choices = list(ROLE_CHOICES), options(department_choices())
    form.reader_roles.choices, form.reader_departments.choices = list(ROLE_CHOICES), options(department_choices())
    form.cascade.choices = options([("", "—")] + [(name, s.get("title", name)) for name, s
                                                  in doc["schema"]["properties"].items() if name != key])
    return form


@panel("field")
def field_panel(process: Process, doc: dict, sel: Sel, step_key: str) -> dict:
    schema = doc["schema"]["properties"][sel.key]
    kind = fieldkinds.kind_of(schema)
    step = next(s for s in doc["steps"] if s["key"] == step_key)
    return {"key": sel.key, "schema": schema, "field_kind": kind, "form": field_form(doc, sel.key),
            "shown": [*fieldkinds.shown(kind), *fieldkinds.READER_SETTINGS] if kind else [],
            "mode": step.get("fields", {}).get(sel.key, "hidden"), "picker": picker(doc),
            "sample_fields": lambda text: sample_fields(doc, text), "column_kinds": COLUMN_KINDS,
            "checked": field_problems(doc, process.code, sel.key), "kinds": fieldkinds.KINDS,
            "presets": presets(doc, sel.key) if kind in fieldkinds.FORMULA_KINDS else [],
            "cell": step_cell(doc, step, sel.key), "operators": OPERATORS, "modes": MODES,
            "options": field_options(doc),
            "rules": [(i, r) for i, r in enumerate(doc.get("x-rules") or []) if isinstance(r, dict)
                      and r.get("field") == sel.key]}


@panel("process")
def process_panel(process: Process, doc: dict, sel: Sel, step_key: str) -> dict:
    priority = doc.get("priority", {})
    form = BasicsForm(data={**doc, "priority_enabled": priority.get("enabled", False),
                            "priority_default": priority.get("default", "normal")})
    return {"form": form}
