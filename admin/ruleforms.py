"""The automation rule form: pickers for the condition and the actions, and their JSON.

The stored rule is plain data (a JSON Schema condition, a list of action objects);
the pickers only help write it. Picker rows are merged into the raw JSON Schema box
on save, and each action row is ``type`` plus a short text (``department:senior``,
``alice,bob: message``) read back and forth by :func:`action_text` / :func:`parse_action`.
"""

from __future__ import annotations

import json
import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, FieldList, Form, FormField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from formbuilder import strictjson
from formbuilder.conditions import NO_VALUE, OPERATORS, Condition, to_schema
from workflows.storage.models import Process, ProcessVersion
from workflows.subscribers.automation import PICKS


def options(pairs) -> list[SelectChoice]:
    """WTForms 3.3 wants SelectChoice objects, not tuples."""
    return [SelectChoice(value, label) for value, label in pairs]


TRIGGERS = options([("ticket.created", _l("Ticket created")), ("ticket.advanced", _l("Ticket advanced")),
                    ("ticket.entered_step", _l("Ticket entered a step")), ("ticket.overdue", _l("Ticket overdue"))])
ACTIONS = options([("", "—"), ("add_tag", _l("Add tag")), ("set_priority", _l("Set priority")),
                   ("assign", _l("Assign (user:name, role:name or department:code, then :least_loaded)")),
                   ("add_cc", _l("Add CC (username)")), ("notify", _l("Notify users (alice,bob: message)")),
                   ("email_customer", _l("E-mail the customer (template)"))])
OPS = options((key, _l(label)) for key, label in OPERATORS.items())
VIEW_FIELDS = [("channel", _l("Channel")), ("priority", _l("Priority")), ("customer_level", _l("Customer level")),
               ("tags", _l("Tags")), ("text", _l("Keyword in the text fields")), ("step", _l("Step"))]
NUMERIC = ("gt", "ge", "lt", "le")


class ConditionRow(Form):
    field = SelectField(_l("Field"), choices=[], validate_choice=False)
    op = SelectField(_l("Operator"), choices=OPS, validate_choice=False)  # checked by row_schema
    value = StringField(_l("Value"))


class ActionRow(Form):
    kind = SelectField(_l("Action"), choices=ACTIONS, validate_choice=False)  # "type" is a Field attribute
    value = StringField(_l("Value"))


class RuleForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    trigger = SelectField(_l("When"), choices=TRIGGERS)
    step = SelectField(_l("Step (for “entered a step”)"), choices=[], validate_choice=False)
    process_code = SelectField(_l("Process"), choices=[], validate_choice=False)  # "process" is a Form method
    conditions = FieldList(FormField(ConditionRow), min_entries=2)
    condition_json = TextAreaField(_l("Condition as JSON Schema (the rows above are added to it)"),
                                   render_kw={"rows": 6, "class": "text-monospace"})
    actions = FieldList(FormField(ActionRow), min_entries=2)
    stop = BooleanField(_l("Stop evaluating further rules when this one matches"))
    enabled = BooleanField(_l("Enabled"))


def published() -> list[ProcessVersion]:
    return list(ProcessVersion.select(ProcessVersion, Process).join(Process)
                .where(ProcessVersion.number == Process.latest_version).order_by(Process.code))


def fill_choices(form: RuleForm) -> dict[str, dict]:
    """Processes, steps and data fields of the published processes; returns data field schemas by key."""
    versions, schemas = published(), {}
    form.process_code.choices = [SelectChoice("", _l("Any process"))] + [
        SelectChoice(v.process.code, f"{v.process.name} ({v.process.code})") for v in versions]
    form.step.choices = [SelectChoice("", "—")] + [
        SelectChoice(s["key"], f"{s['name']} ({s['key']})", optgroup=v.process.name)
        for v in versions for s in v.document["steps"]]
    fields = [SelectChoice("", "—")] + [SelectChoice(k, label) for k, label in VIEW_FIELDS]
    for v in versions:
        for key, schema in v.document["schema"]["properties"].items():
            schemas.setdefault(key, schema)
            fields.append(SelectChoice(f"data.{key}", f"{schema.get('title', key)} ({key})", optgroup=v.process.name))
    for row in form.conditions:
        row.field.choices = fields
    return schemas


def _value(op: str, text: str, schema: dict | None):
    """The typed value of a picker row: numbers for bounds and numeric fields, a list for "is one of"."""
    text = text.strip()
    if op == "in":
        return [_value("eq", part, schema) for part in re.split(r"[,，]\s*", text) if part.strip()]
    if op in NUMERIC or (schema or {}).get("type") in ("number", "integer", "boolean"):
        return strictjson.loads(text)  # ValueError (JSONDecodeError) names the bad value
    return text


def row_schema(field: str, op: str, text: str, schemas: dict) -> dict:
    """One picker row as JSON Schema over the ticket view (``data.x`` rows nest under ``data``)."""
    if op not in OPERATORS:
        raise ValueError(f"unknown operator {op!r}")
    key = field.split(".", 1)[1] if field.startswith("data.") else field
    value = None if op in NO_VALUE else _value(op, text, schemas.get(key) if key != field else None)
    if op == "contains" and field != "tags":
        rule = {"properties": {key: {"x-contains": value}}, "required": [key]}  # substring, for Chinese
    else:
        rule = to_schema(Condition(key, op, value))
    return {"properties": {"data": rule}, "required": ["data"]} if key != field else rule


def merge(base: dict, extra: dict) -> dict:
    """Both schemas must hold: properties merge by name, ``required`` unites, other clashes go to allOf."""
    out = dict(base)
    for key, value in extra.items():
        if key == "required":
            out[key] = list(dict.fromkeys([*out.get(key, []), *value]))
        elif key == "properties" and isinstance(out.get(key), dict):
            props = dict(out[key])
            for name, sub in value.items():
                props[name] = merge(props[name], sub) if isinstance(props.get(name), dict) else sub
            out[key] = props
        elif key == "allOf":
            out[key] = [*out.get(key, []), *value]
        elif key in out and out[key] != value:
            out["allOf"] = [*out.get("allOf", []), {key: value}]
        else:
            out[key] = value
    return out


def action_text(spec: dict) -> str:
    """An action as the short text of its row (the inverse of :func:`parse_action`)."""
    kind = spec.get("type")
    if kind == "assign":
        target = next((k for k in ("user", "role", "department") if spec.get(k)), "user")
        pick = f":{spec['pick']}" if spec.get("pick") and target != "user" else ""
        return f"{target}:{spec.get(target, '')}{pick}"
    if kind == "notify":
        message = f": {spec['message']}" if spec.get("message") else ""
        return ",".join(spec.get("users") or []) + message
    key = {"add_tag": "tag", "set_priority": "priority", "add_cc": "user", "email_customer": "template"}.get(kind)
    return str(spec.get(key, "")) if key else json.dumps(spec, ensure_ascii=False)


def parse_action(kind: str, text: str) -> dict:
    """A row's type and text as an action object; raises ValueError when the text does not fit."""
    text = text.strip()
    if kind == "assign":
        target, _, rest = text.partition(":")
        value, _, pick = rest.partition(":")
        if target not in ("user", "role", "department") or not value.strip() or (pick and pick not in PICKS):
            raise ValueError(f"assign: {text!r} (user:NAME, role:NAME or department:CODE[:{'|'.join(PICKS)}])")
        spec = {"type": "assign", target: value.strip()}
        return {**spec, "pick": pick} if pick else spec
    if kind == "notify":
        names, _, message = text.partition(":")
        users = [n for n in re.split(r"[,，\s]+", names) if n]
        return {"type": "notify", "users": users, "message": message.strip()}
    key = {"add_tag": "tag", "set_priority": "priority", "add_cc": "user", "email_customer": "template"}.get(kind)
    if key is None:
        raise ValueError(f"unknown action {kind!r}")
    return {"type": kind, key: text}
