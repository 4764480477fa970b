"""The designer's properties panel edits: a field's settings, its key, a table's columns, formula shortcuts.

Registered in :data:`admin.designer_ops.OPS`. Settings go through the same
``FieldForm`` and ``fieldkinds.build`` as the form pages, so both write the same JSON.
"""

from __future__ import annotations

from flask_babel import gettext

from formbuilder import editing, editing2, fieldkinds
from formbuilder.editing import EditError
from formbuilder.keys import key_for
from formbuilder.messages import N_
from formbuilder.tables import COLUMN_KINDS, columns

from .columns import column_schema
from .designer_ops import Ctx, Sel, fields_of, op, the_field
from .designer_panels import field_form
from .editforms import BasicsForm


class Invalid(EditError):
    """The panel's form did not validate: the first error, at its setting."""

    def __init__(self, form):
        name, errors = next((n, e) for n, e in form.errors.items())
        super().__init__([name], N_("%(label)s: %(error)s"), label=str(form[name].label.text), error=str(errors[0]))


@op("update_field")
def update_field(doc: dict, ctx: Ctx) -> tuple[dict, Sel]:
    """Save the panel's settings; a label change renames an unpublished, unreferenced key after it."""
    key = ctx.text("key")
    old = the_field(doc, key)
    form = field_form(doc, key, ctx.form)
    if not form.validate():
        raise Invalid(form)
    kind = fieldkinds.kind_of(old)
    schema = fieldkinds.merge(old, fieldkinds.build(kind, implied(doc, key, kind, form.settings())))
    out = _saved(doc, ctx, key, schema)
    if key not in ctx.published and schema.get("title") != old.get("title"):
        out, key = _follow_label(out, key, old.get("title", ""), schema["title"])
    return out, Sel("field", key)


def implied(doc: dict, key: str, kind: str, settings: dict) -> dict:
    """What choosing a dictionary implies, so the admin need not say it twice.

    Options come from a dictionary once one is chosen (or no list is typed); a cascade hangs on
    the nearest field before it with the same dictionary unless the admin picked a parent.
    """
    out, old = dict(settings), fields_of(doc)[key]
    was = old.get("x-dictionary") or (old.get("items") or {}).get("x-dictionary")
    if out.get("dictionary") and (out["dictionary"] != was or not (out.get("options") or "").strip()):
        out["source"] = "dictionary"
    if kind == "cascade" and out.get("dictionary") and not out.get("cascade"):
        before = list(fields_of(doc))[:list(fields_of(doc)).index(key)]
        same = [k for k in before if fields_of(doc)[k].get("x-dictionary") == out["dictionary"]]
        out["cascade"] = same[-1] if same else ""
    return out


def _saved(doc: dict, ctx: Ctx, key: str, schema: dict) -> dict:
    """The field replaced; a computed one made read-only where a step had it editable (check 8), said."""
    out = editing.put_field(doc, key, schema, new=False)
    if "x-formula" in schema:
        out, steps = editing2.computed_read_only(out, key)
        if steps:
            ctx.said.append(gettext("A computed field is read-only: it is now read-only at %(steps)s.",
                                    steps="、".join(steps)))
    return out


def update_formula(doc: dict, ctx: Ctx, key: str, formula: object) -> dict:
    """The field computed by ``formula`` (a formula shortcut's JSON Logic)."""
    return _saved(doc, ctx, key, {**the_field(doc, key), "x-formula": formula})


def _follow_label(doc: dict, key: str, old_label: str, label: str) -> tuple[dict, str]:
    """Rename ``key`` after the new label while nothing but its step modes names it.

    A key generated from the old label is renamed; one the admin set, or one a formula, a
    condition or a cascade already reads, stays (renaming those is the advanced setting's job).
    """
    others = [k for k in fields_of(doc) if k != key]
    if key != key_for(old_label, others) or _mentions(doc, key) > 1:
        return doc, key
    return rename(doc, key, key_for(label, others)), key_for(label, others)


def _mentions(doc: dict, key: str) -> int:
    """How many places read ``key`` (a field or a column): formulas, conditions, cascades, handlers.

    The field's own definition and its step modes do not count: those a rename carries along.
    """
    rest = {**doc, "schema": {**doc.get("schema", {}), "properties": {}},
            "steps": [{k: v for k, v in s.items() if k != "fields"} for s in doc.get("steps", [])]}
    found = sum(_reads(schema, key) for schema in fields_of(doc).values())
    return 1 + found + _reads(rest, key)


def _reads(node: object, key: str) -> int:
    """References to ``key`` inside ``node``: ``var`` paths, condition properties and ``required``, and the
    values of ``x-cascade``, ``value``, ``field`` and ``decision``."""
    if isinstance(node, list):
        return sum(_reads(item, key) for item in node)
    if not isinstance(node, dict):
        return 0
    count = 0
    for name, value in node.items():
        if name == "var" and isinstance(value, str):
            count += value.split(".")[0] == key or value == f"current.{key}"
        elif name in ("x-cascade", "value", "field", "decision") and value == key:
            count += 1
        elif name == "required" and isinstance(value, list):
            count += key in value
        elif name == "properties" and isinstance(value, dict) and "type" not in node:
            count += key in value
        count += _reads(value, key)
    return count


def rename(doc: dict, key: str, new: str) -> dict:
    """``key`` becomes ``new`` in the schema (same place) and in every step's modes."""
    if new == key:
        return doc
    editing.check_key(["schema", "properties", new], new, fields_of(doc))
    props = {(new if k == key else k): v for k, v in fields_of(doc).items()}
    steps = [{**s, "fields": {(new if k == key else k): v for k, v in s.get("fields", {}).items()}}
             for s in doc.get("steps", [])]
    return {**doc, "schema": {**doc["schema"], "properties": props}, "steps": steps}


@op("rename_field")
def rename_field(doc: dict, ctx: Ctx) -> tuple[dict, Sel]:
    """The advanced setting: a key typed by the admin, refused once published or while something reads it."""
    key, new = ctx.text("key"), ctx.text("new_key")
    the_field(doc, key)
    if key in ctx.published:
        raise EditError(["new_key"], N_("a published field keeps its key"))
    if _mentions(doc, key) > 1:
        raise EditError(["new_key"], N_("a formula, condition or cascade reads this key; change it in the JSON view"))
    return rename(doc, key, new), Sel("field", new)


@op("update_basics")
def update_basics(doc: dict, ctx: Ctx) -> tuple[dict, Sel]:
    form = BasicsForm(ctx.form)
    if not form.validate():
        raise Invalid(form)
    return editing.set_basics(doc, form.data), Sel()


@op("add_column")
def add_column(doc: dict, ctx: Ctx) -> tuple[dict, Sel]:
    key, kind = ctx.text("key"), ctx.text("kind")
    if kind not in COLUMN_KINDS:
        raise EditError(["kind"], N_("not a column kind"))
    table = the_field(doc, key)
    label = ctx.text("label") or gettext(fieldkinds.KINDS[kind])
    name = key_for(label, columns(table), fallback="col")
    schema = column_schema(None, kind, {"title": label})
    ctx.focus = f"lz-d-col-{name}"
    return editing2.put_column(doc, key, name, schema, required=False, new=True), Sel("field", key)


@op("update_column")
def update_column(doc: dict, ctx: Ctx) -> tuple[dict, Sel]:
    """A column's label and whether every row needs it (other settings: the column page)."""
    key, column = ctx.text("key"), ctx.text("column")
    old = columns(the_field(doc, key)).get(column) or _no_column(key, column)
    label = ctx.text("label") or old.get("title") or column
    out = editing2.put_column(doc, key, column, {**old, "title": label}, required=ctx.form.get("required") == "1",
                              new=False)
    taken = [c for c in columns(the_field(doc, key)) if c != column]
    follows = f"{key}.{column}" not in ctx.published and column == key_for(old.get("title") or "", taken, "col")
    if follows and label != old.get("title") and _mentions(doc, column) <= 1:
        out = _renamed_column(out, key, column, key_for(label, taken, "col"))
    return out, Sel("field", key)


def _renamed_column(doc: dict, key: str, column: str, new: str) -> dict:
    """The column ``column`` of table ``key`` renamed ``new`` in place (and in ``required``)."""
    table = the_field(doc, key)
    items = table["items"]
    props = {(new if c == column else c): v for c, v in items["properties"].items()}
    required = [new if c == column else c for c in items.get("required", [])]
    items = {**items, "properties": props, **({"required": required} if required else {})}
    fields = {**fields_of(doc), key: {**table, "items": items}}
    return {**doc, "schema": {**doc["schema"], "properties": fields}}


def _no_column(key: str, column: str):
    raise EditError(["schema", "properties", key, "items", "properties", column], N_("no such column in the table"))


@op("remove_column")
def remove_column(doc: dict, ctx: Ctx) -> tuple[dict, Sel]:
    key = ctx.text("key")
    return editing2.remove_column(doc, key, ctx.text("column")), Sel("field", key)


@op("move_column")
def move_column(doc: dict, ctx: Ctx) -> tuple[dict, Sel]:
    key, delta = ctx.text("key"), -1 if ctx.text("delta") == "-1" else 1
    return editing2.move_column(doc, key, ctx.text("column"), delta), Sel("field", key)
