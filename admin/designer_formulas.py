"""Formula shortcuts, cross-field rules and conditional modes in the designer's field panel.

Formula shortcuts: the common computed fields, chosen from a list instead of typed.

Most computed fields in service forms are one of a few shapes: the sum of a table's
column, the sum of two columns multiplied row by row (quantity × price), a dictionary
item's attribute (warranty from the model, 数据联动) or the sum of two number fields.
The panel offers each shape for the process's own tables, columns and fields, by label;
choosing one writes the JSON Logic that the formula box would hold (and shows it there,
where it can still be edited by hand).
"""

from __future__ import annotations

from flask_babel import gettext
from werkzeug.datastructures import MultiDict

from formbuilder import editing2
from formbuilder.editing import MODES, EditError
from formbuilder.messages import N_
from formbuilder.tables import columns, is_table
from workflows.processes import documents as docs

from . import matrix
from .designer_ops import Ctx, Sel, fields_of, op, set_mode_at, the_field
from .designer_props import update_formula
from .editforms import RuleForm
from .formulas import rule_of

NUMBERS = ("number", "integer")


def _numeric(schema: dict) -> bool:
    return schema.get("type") in NUMBERS and "x-formula" not in schema


def _title(schema: dict, key: str) -> str:
    return schema.get("title") or key


def presets(doc: dict, key: str) -> list[tuple[str, str]]:
    """``[(token, label)]`` of the shortcuts that fit this process (``key`` is the computed field itself)."""
    props = {k: v for k, v in fields_of(doc).items() if k != key}
    out = []
    for name, schema in props.items():
        if is_table(schema):
            out += _table_presets(name, schema)
    out += _attribute_presets(props)
    numbers = [(k, s) for k, s in props.items() if _numeric(s) or (s.get("type") in NUMBERS and k != key)]
    out += [(f"add:{a}:{b}", gettext("%(a)s + %(b)s", a=_title(sa, a), b=_title(sb, b)))
            for i, (a, sa) in enumerate(numbers) for b, sb in numbers[i + 1:]]
    return out


def _table_presets(name: str, table: dict) -> list[tuple[str, str]]:
    cols = [(c, s) for c, s in columns(table).items() if s.get("type") in NUMBERS]
    label = _title(table, name)
    out = [(f"sum:{name}:{c}", gettext("Sum of %(table)s: %(col)s", table=label, col=_title(s, c))) for c, s in cols]
    out += [(f"sumprod:{name}:{a}:{b}", gettext("Sum of %(table)s: %(a)s × %(b)s", table=label, a=_title(sa, a),
                                                 b=_title(sb, b)))
            for i, (a, sa) in enumerate(cols) for b, sb in cols[i + 1:]]
    return out


def _attribute_presets(props: dict) -> list[tuple[str, str]]:
    indexes = docs.dictionary_indexes()
    out = []
    for name, schema in props.items():
        index = indexes.get(schema.get("x-dictionary") or "")
        if index is None or is_table(schema):
            continue
        attributes = sorted({attr for item in index.items.values() for attr in item.data})
        out += [(f"item:{index.code}:{name}:{attr}", gettext("%(attr)s of the %(field)s chosen",
                                                             attr=attr, field=_title(schema, name)))
                for attr in attributes]
    return out


def expression(token: str) -> object:
    """The JSON Logic of a preset token (the names in it are checked against the process by check 7)."""
    kind, *parts = token.split(":")
    if kind == "sum" and len(parts) == 2:
        return {"reduce": [{"var": parts[0]}, {"+": [{"var": "accumulator"}, {"var": f"current.{parts[1]}"}]}, 0]}
    if kind == "sumprod" and len(parts) == 3:
        product = {"*": [{"var": f"current.{parts[1]}"}, {"var": f"current.{parts[2]}"}]}
        return {"reduce": [{"var": parts[0]}, {"+": [{"var": "accumulator"}, product]}, 0]}
    if kind == "item" and len(parts) == 3:
        return {"item": [parts[0], {"var": parts[1]}, parts[2]]}
    if kind == "add" and len(parts) == 2:
        return {"+": [{"var": parts[0]}, {"var": parts[1]}]}
    raise EditError(["preset"], N_("not a formula shortcut"))


@op("formula_preset")
def formula_preset(doc: dict, ctx: Ctx) -> tuple[dict, Sel]:
    """Make the field computed by the chosen shortcut (only shortcuts this process offers are taken)."""
    key, token = ctx.text("key"), ctx.text("preset")
    the_field(doc, key)
    if token not in dict(presets(doc, key)):
        raise EditError(["preset"], N_("not a formula shortcut"))
    return update_formula(doc, ctx, key, expression(token)), Sel("field", key)


@op("add_rule")
def add_rule(doc: dict, ctx: Ctx) -> tuple[dict, Sel]:
    """A cross-field rule (``x-rules``) on the selected field: its check and its message in both languages."""
    key = ctx.text("key")
    the_field(doc, key)
    form = RuleForm(MultiDict({**ctx.form.to_dict(), "field": key}))
    form.field.choices = [(name, name) for name in fields_of(doc)]
    rules = doc.get("x-rules") if isinstance(doc.get("x-rules"), list) else []
    return editing2.put_rule(doc, None, rule_of(form, doc, len(rules))), Sel("field", key)


@op("remove_rule")
def remove_rule(doc: dict, ctx: Ctx) -> tuple[dict, Sel]:
    raw = ctx.text("index")
    index = int(raw) if raw.isdigit() else -1
    return editing2.remove_rule(doc, index), Sel("field", ctx.text("key"))


@op("set_cell")
def set_cell(doc: dict, ctx: Ctx) -> tuple[dict, Sel]:
    """The field's mode at the shown step, with a condition when one is picked (the matrix's cell, one at a time)."""
    key = ctx.text("key")
    the_field(doc, key)
    step = next(i for i, s in enumerate(doc["steps"]) if s["key"] == ctx.step)
    cell = {"mode": ctx.text("mode"), "field": ctx.text("field"), "op": ctx.text("op") or "eq",
            "value": ctx.text("value"), "else": ctx.text("else") or "hidden", "raw": ctx.text("raw")}
    if cell["mode"] not in MODES or cell["else"] not in MODES:
        raise EditError(["steps", step, "fields", key], N_("not a mode"))
    try:
        built = matrix.built_cell(doc, cell)
    except ValueError as error:  # a value the field cannot hold, or JSON that is not (its message is a msgid)
        raise EditError(["steps", step, "fields", key, "when"], str(error)) from None
    return set_mode_at(doc, ctx.step, key, built), Sel("field", key)
