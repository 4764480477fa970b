"""The designer's edits, by name: each is a pure change of the draft plus where the selection goes next.

The designer page posts every edit to one endpoint (``/design/op/<name>``); the view
looks the name up in :data:`OPS`, runs it through ``admin.editor.change`` (one
transaction, one audit entry, 409 on a stale page) and renders the designer again.
Field edits live here; step and transition edits register themselves from
:mod:`admin.designer_flow` with the same decorator, so one table lists what the
designer can do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask_babel import gettext
from werkzeug.datastructures import MultiDict

from formbuilder import editing, fieldkinds
from formbuilder.editing import MODES, EditError
from formbuilder.keys import key_for
from formbuilder.messages import N_


@dataclass(frozen=True)
class Sel:
    """What the properties panel shows: ``field:KEY``, ``step:KEY``, ``transition:STEP:INDEX`` or nothing."""

    kind: str = ""
    key: str = ""
    index: int = -1

    @classmethod
    def parse(cls, text: str | None) -> Sel:
        parts = (text or "").split(":")
        if parts[0] in ("field", "step") and len(parts) == 2 and parts[1]:
            return cls(parts[0], parts[1])
        if parts[0] == "transition" and len(parts) == 3 and parts[2].isdigit():
            return cls("transition", parts[1], int(parts[2]))
        return cls()

    def __str__(self) -> str:
        if self.kind == "transition":
            return f"transition:{self.key}:{self.index}"
        return f"{self.kind}:{self.key}" if self.kind else ""


@dataclass
class Ctx:
    """The request an edit runs for: the step shown on the canvas, the selection, the posted fields."""

    step: str
    sel: Sel
    form: MultiDict
    said: list[str] = field(default_factory=list)  # notes for the admin, already translated
    published: frozenset = frozenset()  # field keys of the latest published version: they keep their keys
    focus: str | None = None  # the id of the input the cursor goes to after the edit, when the op says

    def text(self, name: str) -> str:
        return (self.form.get(name) or "").strip()


Op = Callable[[dict, Ctx], tuple[dict, Sel]]
OPS: dict[str, Op] = {}
#: Where the cursor goes after an edit, by op: a new field's label, ready to be typed over.
FOCUS: dict[str, str] = {"add_field": "lzp-title"}


def op(name: str) -> Callable[[Op], Op]:
    def register(fn: Op) -> Op:
        OPS[name] = fn
        return fn
    return register


def fields_of(doc: dict) -> dict:
    return doc.get("schema", {}).get("properties", {})


def the_field(doc: dict, key: str) -> dict:
    return fields_of(doc).get(key) or _missing(["schema", "properties", key])


def _missing(path: list):
    raise EditError(path, N_("no such field"))


def _index(ctx: Ctx, upper: int) -> int:
    """The posted position (drop target), clamped to the list; the end when absent."""
    raw = ctx.text("index")
    return max(0, min(int(raw), upper)) if raw.lstrip("-").isdigit() else upper


def _place(doc: dict, key: str, index: int) -> dict:
    """The document with field ``key`` at position ``index`` of the schema's properties."""
    props = fields_of(doc)
    order = [k for k in props if k != key]
    order.insert(min(index, len(order)), key)
    out = dict(doc, schema={**doc["schema"], "properties": {k: props[k] for k in order}})
    return out


@op("add_field")
def add_field(doc: dict, ctx: Ctx) -> tuple[dict, Sel]:
    """A field of the posted kind, named by its kind until the admin names it, editable at the shown step.

    Editable where the admin is looking (not hidden everywhere): a field one cannot see on the
    canvas one just dropped it on would be a surprise; the other steps keep it hidden.
    """
    kind = ctx.text("kind")
    if kind not in fieldkinds.KINDS:
        raise EditError(["kind"], N_("not a field kind"))
    label = ctx.text("label") or gettext(fieldkinds.KINDS[kind])
    key = key_for(label, fields_of(doc))
    out = editing.put_field(doc, key, fieldkinds.build(kind, starter(doc, kind, label)), new=True)
    out = _place(out, key, _index(ctx, len(fields_of(doc))))
    out = set_mode_at(out, ctx.step, key, "editable")
    return out, Sel("field", key)


#: Kinds that need options to be a field at all start with three, as form builders' do (选项1, 选项2, 选项3).
OPTION_KINDS = ("select", "radio", "multiselect", "checkboxes")


def starter(doc: dict, kind: str, label: str) -> dict:
    """The settings a new field of ``kind`` starts with: its label, and options or a dictionary if it needs them.

    A cascade takes the dictionary of the nearest field before it that has one, and hangs on it.
    """
    settings = {"title": label}
    if kind in OPTION_KINDS:
        settings["options"] = "\n".join(gettext("Option %(n)d", n=n) for n in (1, 2, 3))
    if kind == "cascade":
        parent = next((k for k, s in reversed(list(fields_of(doc).items())) if s.get("x-dictionary")), "")
        settings.update(dictionary=fields_of(doc)[parent]["x-dictionary"] if parent else "", cascade=parent)
    return settings


def set_mode_at(doc: dict, step_key: str, key: str, mode: str) -> dict:
    """``key``'s mode at ``step_key`` (hidden is written by leaving the field out)."""
    cells = {step["key"]: dict(step.get("fields", {})) for step in doc.get("steps", [])}
    if step_key not in cells:
        return doc
    cells[step_key][key] = mode
    return editing.set_cells(doc, cells)


@op("move_field")
def move_field(doc: dict, ctx: Ctx) -> tuple[dict, Sel]:
    key = ctx.text("key")
    the_field(doc, key)
    return _place(doc, key, _index(ctx, len(fields_of(doc)) - 1)), Sel("field", key)


@op("remove_field")
def remove_field(doc: dict, ctx: Ctx) -> tuple[dict, Sel]:
    return editing.remove_field(doc, ctx.text("key")), Sel()


@op("cycle_mode")
def cycle_mode(doc: dict, ctx: Ctx) -> tuple[dict, Sel]:
    """hidden -> read-only -> editable -> required -> hidden at the shown step (a computed field skips the
    two that check 8 refuses; a conditional mode becomes the next plain one)."""
    key = ctx.text("key")
    schema = the_field(doc, key)
    step = next((s for s in doc["steps"] if s["key"] == ctx.step), None) or _missing(["step"])
    now = step.get("fields", {}).get(key, "hidden")
    order = ("hidden", "readonly") if "x-formula" in schema else MODES
    after = order[(order.index(now) + 1) % len(order)] if now in order else order[0]
    return set_mode_at(doc, ctx.step, key, after), Sel("field", key)


@op("set_mode")
def set_mode(doc: dict, ctx: Ctx) -> tuple[dict, Sel]:
    key, mode = ctx.text("key"), ctx.text("mode")
    the_field(doc, key)
    if mode not in MODES:
        raise EditError(["mode"], N_("not a mode"))
    return set_mode_at(doc, ctx.step, key, mode), Sel("field", key)
