"""A step of a process version compiled for use: modes, effective schema, validator.

This is the specification side (SpiffWorkflow's split): it depends only on the
immutable document, so it is compiled once per (version, step) and shared.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import tables
from .computed import Formulas
from .fieldtypes import FieldType, classify, options_schema
from .people import KINDS as PEOPLE_KINDS
from .predicates import Predicate, predicate
from .validator import compile_schema

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
EDITABLE = frozenset({"editable", "required"})


@dataclass(frozen=True)
class FieldMode:
    """A field's mode at a step, possibly conditional on the ticket data."""

    mode: str
    when: dict | None = None
    otherwise: str = "hidden"

    @classmethod
    def parse(cls, raw: str | dict | None) -> FieldMode:
        if isinstance(raw, dict):
            return cls(raw["mode"], raw["when"], raw.get("else", "hidden"))
        return cls(raw or "hidden")

    @property
    def possible(self) -> frozenset[str]:
        return frozenset({self.mode} if self.when is None else {self.mode, self.otherwise})

    def client(self) -> dict | None:
        """What the page script needs to re-evaluate the mode live."""
        if self.when is None:
            return None
        return {"mode": self.mode, "when": self.when, "else": self.otherwise}


@dataclass(frozen=True)
class FieldSpec:
    name: str
    schema: dict
    type: FieldType
    mode: FieldMode

    @property
    def label(self) -> str:
        return self.schema.get("title") or self.name

    @property
    def kind(self) -> str | None:
        """The field type's registry name (None for a schema no type matches)."""
        return self.type.name if self.type is not None else None

    @property
    def can_edit(self) -> bool:
        return bool(self.mode.possible & EDITABLE)


#: Empty input is no input (see validation.is_empty), so "required" means non-empty.
_NON_EMPTY = {"string": {"minLength": 1}, "array": {"minItems": 1}, "boolean": {"const": True}}


def _non_empty(schema: dict) -> dict:
    return {k: v for k, v in _NON_EMPTY.get(schema.get("type"), {}).items() if k not in schema}


def _mode_constraint(spec: FieldSpec, mode: str) -> dict:
    name = spec.name
    if mode == "required":
        return {"required": [name], "properties": {name: _non_empty(spec.schema)}}
    if mode == "readonly":
        return {"properties": {name: {"readOnly": True}}}
    if mode == "hidden":
        return {"not": {"required": [name]}}
    return {}


def _property(spec: FieldSpec) -> dict:
    schema = dict(spec.schema)
    if spec.kind == "table":  # a row holds its columns only, as the ticket holds its fields only
        schema["items"] = {**schema["items"], "additionalProperties": False}
    if spec.mode.possible == {"readonly"}:
        schema["readOnly"] = True
    if spec.mode.when is None and spec.mode.mode == "required":
        schema.update(_non_empty(spec.schema))
    return schema


def _rule_applies(rule: dict, fields: dict[str, FieldSpec]) -> bool:
    """A template rule binds at steps where every field its then requires is editable."""
    needed = rule.get("then", {}).get("required", [])
    return all(name in fields and fields[name].can_edit for name in needed)


def effective_schema(template: dict, fields: dict[str, FieldSpec]) -> dict:
    """The step's rules as standard JSON Schema, over the step's view of the data.

    The view is the ticket data without fields hidden at the step by a
    condition; statically hidden fields are simply absent from ``properties``.
    """
    conditions = [
        {"if": f.mode.when, "then": _mode_constraint(f, f.mode.mode),
         "else": _mode_constraint(f, f.mode.otherwise)}
        for f in fields.values() if f.mode.when is not None
    ]
    rules = [r for r in template.get("allOf", []) if _rule_applies(r, fields)]
    schema = {
        "$schema": SCHEMA_DIALECT,
        "type": "object",
        "properties": {name: _property(f) for name, f in fields.items()},
        "required": [name for name, f in fields.items() if f.mode.when is None and f.mode.mode == "required"],
    }
    if conditions or rules:
        schema["allOf"] = conditions + rules
    return schema


@dataclass
class StepSpec:
    """Everything derived from one step of one process version."""

    process: dict
    step: dict
    template: dict
    fields: dict[str, FieldSpec]
    schema: dict
    conditions: dict[str, Any]
    guards: tuple = ()
    field_validators: dict[str, Any] = field(default_factory=dict)
    whole_validator: Any = None
    #: Answer "valid?" for the validators above; validate_step asks those only for the errors.
    field_checks: dict[str, Predicate] = field(default_factory=dict)
    whole_check: Predicate | None = None
    #: Format 2: the process's computed fields (in evaluation order) and its cross-field rules.
    formulas: Formulas = field(default_factory=Formulas)
    #: Derived once from the above, because each submission asks for them (see __post_init__).
    fixed_modes: dict[str, str] = field(init=False, repr=False)
    conditional: tuple = field(init=False, repr=False)
    dictionary_fields: tuple = field(init=False, repr=False)
    attachments: tuple[str, ...] = field(init=False, repr=False)
    #: The detail tables (their errors are reported at cells: ``parts/2/qty``).
    tables: frozenset[str] = field(init=False, repr=False)
    #: The member and department fields (their values are checked against the organisation).
    people_fields: tuple[str, ...] = field(init=False, repr=False)
    #: Tables with attachment columns: table -> those columns.
    file_tables: dict[str, tuple[str, ...]] = field(init=False, repr=False)
    always_editable: frozenset[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.fixed_modes = {name: f.mode.mode for name, f in self.fields.items()}
        self.conditional = tuple((name, predicate(f.mode.when) or self.conditions[name].is_valid, f.mode)
                                 for name, f in self.fields.items() if f.mode.when is not None)
        self.dictionary_fields = tuple(
            (name, options_schema(f.schema)["x-dictionary"], f.schema.get("x-cascade"))
            for name, f in self.fields.items() if options_schema(f.schema).get("x-dictionary"))
        self.always_editable = frozenset(name for name, f in self.fields.items() if f.mode.possible <= EDITABLE)
        self.attachments = tuple(name for name, f in self.fields.items() if f.kind == "attachment")
        self.tables = frozenset(name for name, f in self.fields.items() if f.kind == "table")
        self.people_fields = tuple(name for name, f in self.fields.items() if f.kind in PEOPLE_KINDS)
        self.file_tables = {name: cols for name in self.tables
                            if (cols := tables.file_columns(self.fields[name].schema))}

    @property
    def key(self) -> str:
        return self.step["key"]

    def modes(self, data: dict, unreadable: frozenset[str] = frozenset()) -> dict[str, str]:
        """Each field's mode for this data; fields not listed are hidden.

        ``unreadable``: fields whose ``x-readers`` leave out the person asking; hidden to them
        whatever the step says (format 2 field readers).
        """
        modes = dict(self.fixed_modes)
        for name, holds, mode in self.conditional:
            if not holds(data):
                modes[name] = mode.otherwise
        for name in unreadable & modes.keys() if unreadable else ():
            modes[name] = "hidden"
        return modes

    def take_files(self, values: dict) -> dict[str, list]:
        """The uploaded files of this step's attachment fields and table cells, taken out of ``values``.

        The engine stores them. Keys are field names, or cells (``parts/2/photo``) of a table's
        attachment column. What stays in ``values`` is JSON; a field with no upload keeps whatever
        the form gave it, a cell the keys it held.
        """
        found = {name: values.pop(name) for name in self.attachments if values.get(name)}
        for name, cols in self.file_tables.items():
            found.update(tables.take_files(name, cols, values.get(name)))
        return found

    def file_schema(self, slot: str) -> dict | None:
        """The schema of the attachment field or cell ``slot`` takes files for; None if it takes none."""
        if slot in self.attachments:
            return self.fields[slot].schema
        where = tables.split(slot)
        if where is None or where[2] not in self.file_tables.get(where[0], ()):
            return None
        return tables.columns(self.fields[where[0]].schema)[where[2]]

    def with_files(self, values: dict, slot: str, keys: list[str], stored: dict) -> dict:
        """``values`` with the stored files' ``keys`` added to ``slot`` (after what the field already held)."""
        if tables.split(slot) is not None:
            return tables.add_keys(values, slot, keys)
        return {**values, slot: list((values[slot] if slot in values else stored.get(slot)) or []) + keys}

    def stand_ins(self, values: dict, files: dict[str, list], prefix: str) -> dict:
        """``values`` with a placeholder key per file (``prefix-0``...), for checks before any file is stored."""
        for slot, batch in files.items():
            values = self.with_files(values, slot, [f"{prefix}-{i}" for i in range(len(batch))], {})
        return values

    def offered(self, data: dict) -> list[dict]:
        """The transitions whose ``when`` holds for this data (选择下一步)."""
        return [t for t, guard in zip(self.step.get("transitions", []), self.guards, strict=True)
                if guard is None or guard.is_valid(data)]

    def visible(self, data: dict, unreadable: frozenset[str] = frozenset()) -> dict:
        """The part of ``data`` this step may show: hidden fields never leave."""
        modes = self.modes(data, unreadable)
        return {k: v for k, v in data.items() if modes.get(k, "hidden") != "hidden"}


def find_step(process: dict, step_key: str) -> dict:
    for step in process["steps"]:
        if step["key"] == step_key:
            return step
    raise KeyError(step_key)


def compile_step(process: dict, step_key: str) -> StepSpec:
    """Compile one step of a (valid) process document; call through the cache."""
    step = find_step(process, step_key)
    template = process["schema"]
    fields = {}
    for name, schema in template["properties"].items():
        mode = FieldMode.parse(step.get("fields", {}).get(name))
        if mode.possible != {"hidden"}:
            fields[name] = FieldSpec(name, schema, classify(schema), mode)
    schema = effective_schema(template, fields)
    conditions = {n: compile_schema(f.mode.when) for n, f in fields.items() if f.mode.when is not None}
    guards = tuple(compile_schema(t["when"]) if "when" in t else None for t in step.get("transitions", []))
    # ``properties`` only applies each field's subschema to that field: one validator per field
    # spares jsonschema a validator object per descent; the rest (required, conditions) stays whole.
    per_field = {name: compile_schema(sub) for name, sub in schema["properties"].items()}
    rest = {k: v for k, v in schema.items() if k != "properties"}
    whole = compile_schema(rest)
    checks = {name: _check(sub, per_field[name]) for name, sub in schema["properties"].items()}
    return StepSpec(process, step, template, fields, schema, conditions, guards, per_field, whole,
                    checks, _check(rest, whole), Formulas.of(process))


def _check(schema: dict, validator: Any) -> Predicate:
    """The fast predicate of ``schema``, or its validator's own when the schema uses other keywords."""
    return predicate(schema) or validator.is_valid
