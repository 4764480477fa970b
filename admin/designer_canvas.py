"""The designer's palette and canvas: field kinds by group, and the shown step's real form.

The canvas is the form the workspace renders for that step (the same compiled
form class and the same field partials), so what the admin arranges is what the
handler will see; the designer only wraps each field with its mode and handles.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from formbuilder import fieldkinds
from formbuilder.cache import compiled_step, draft_key
from workflows.people import roster
from workflows.processes import documents as docs
from workflows.storage.models import Process

#: The palette's groups, in order; every kind of :data:`fieldkinds.KINDS` is in exactly one.
GROUPS = (
    (_l("Text and numbers"), ("text", "textarea", "number", "integer", "email", "date", "datetime")),
    (_l("Choices"), ("select", "radio", "multiselect", "checkboxes", "checkbox", "cascade", "rating")),
    (_l("People"), ("user", "users", "department")),
    (_l("Tables and files"), ("table", "attachment")),
)


@dataclass(frozen=True)
class Canvas:
    """The shown step's form, or why it cannot be drawn yet (a problem the list names)."""

    form: object | None
    error: str | None = None


def palette() -> list[tuple[str, list[tuple[str, str]]]]:
    """``[(group label, [(kind, kind label)])]``; a kind no group names goes to the last group."""
    grouped = {kind for _, kinds in GROUPS for kind in kinds}
    groups = [(label, [(k, fieldkinds.KINDS[k]) for k in kinds if k in fieldkinds.KINDS]) for label, kinds in GROUPS]
    rest = [(k, label) for k, label in fieldkinds.KINDS.items() if k not in grouped]
    if rest:
        groups[-1][1].extend(rest)
    return groups


def everything_shown(doc: dict, step_key: str) -> dict:
    """The draft with every field hidden at ``step_key`` made read-only there, so the canvas can draw it.

    The workspace's form leaves hidden fields out; the canvas shows them (greyed, with their real mode
    on the badge) so one click can bring them in.
    """
    steps = []
    for step in doc["steps"]:
        if step["key"] == step_key:
            modes = step.get("fields", {})
            step = {**step, "fields": {k: modes.get(k, "readonly") if modes.get(k, "hidden") != "hidden" else "readonly"
                                       for k in doc["schema"]["properties"]}}
        steps.append(step)
    return {**doc, "steps": steps}


def canvas_form(process: Process, step_key: str) -> Canvas:
    """The compiled form of the draft's step, empty, with every field (admins read all of them)."""
    try:
        shown = everything_shown(process.draft, step_key)
        compiled = compiled_step(draft_key(shown), shown, step_key)
        form = compiled.form_class(None, data={}, dictionaries=roster.with_people(docs.dictionary_indexes()))
    except Exception as error:  # noqa: BLE001 - a draft mid-edit may not compile; the problem list says why
        return Canvas(None, str(error))
    return Canvas(form)
