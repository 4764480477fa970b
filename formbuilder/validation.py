"""Validate what a step's handler submits, with every error mapped to its field.

Two layers: the step's modes (computed on the merged data) decide which keys
may change at all; the step's compiled JSON Schema checks the resulting view.
Dictionary membership is checked here rather than in the schema because
dictionaries change without a new process version.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from jsonschema import ValidationError

from . import tables
from .dictionaries import DictionaryIndex
from .fieldtypes import DATE_MESSAGES
from .messages import N_, Msg
from .people import Source, check_people
from .steps import StepSpec

REQUIRED = Msg(N_("This field is required."))
UNKNOWN = Msg(N_("Unknown field."))
HIDDEN = Msg(N_("This field is hidden at this step and cannot be set."))
READONLY = Msg(N_("This field is read-only at this step."))
NOT_OPTION = Msg(N_("Not one of the available options."))

_KEYWORD_MESSAGES = {
    "type": N_("Wrong type of value."),
    "minLength": N_("At least %(limit)s characters."),
    "maxLength": N_("At most %(limit)s characters."),
    "pattern": N_("Does not match the required format."),
    "minimum": N_("Must be at least %(limit)s."),
    "maximum": N_("Must be at most %(limit)s."),
    "exclusiveMinimum": N_("Must be greater than %(limit)s."),
    "exclusiveMaximum": N_("Must be less than %(limit)s."),
    "multipleOf": N_("Must be a multiple of %(limit)s."),
    "oneOf": NOT_OPTION.msgid,
    "enum": NOT_OPTION.msgid,
    "const": NOT_OPTION.msgid,
    "minItems": N_("Choose at least %(limit)s."),
    "maxItems": N_("At most %(limit)s items."),
    "uniqueItems": N_("Items must not repeat."),
}


_FORMAT_MESSAGES = {
    **DATE_MESSAGES,  # formbuilder.fieldtypes: the years a date or an instant may hold
    "email": N_("Not a valid e-mail address."),
    "attachment": N_("Not a valid attachment."),
}


def is_empty(value: object) -> bool:
    """Empty input means "no value": absent, blank, no items, an unticked box."""
    return value is None or value == "" or value == [] or value is False


def normalize(data: Mapping) -> dict:
    return {k: v for k, v in data.items() if not is_empty(v)}


@dataclass
class Outcome:
    """The merged ticket data and the errors, keyed by field ('' for the form)."""

    data: dict
    errors: dict[str, list[Msg]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


_TABLE_MESSAGES = {
    "minItems": N_("Rows: at least %(limit)s."),
    "maxItems": N_("Rows: at most %(limit)s."),
    "type": N_("Each row must be an object of cells."),
}


def _message(error: ValidationError, table: bool = False) -> Msg:
    if error.validator == "format":
        text = _FORMAT_MESSAGES.get(error.validator_value, N_("Not a valid value."))
    elif table and error.validator in _TABLE_MESSAGES and len(error.path) <= 1:
        text = _TABLE_MESSAGES[error.validator]
    else:
        text = _KEYWORD_MESSAGES.get(error.validator, N_("Not a valid value."))
    return Msg(text, {"limit": error.validator_value} if "%(limit)" in text else {})


def table_errors(error: ValidationError, field: str) -> list[tuple[str, Msg]]:
    """One error of a detail table's value, at its cell (``parts/2/qty``), row or the table."""
    keys = tables.error_key(field, error.path, error.validator, error.instance, error.validator_value,
                            error.schema.get("properties", {}))
    whole_row = len(error.path) == 1
    msg = {"required": REQUIRED, "additionalProperties": UNKNOWN}.get(error.validator) if whole_row else None
    msg = msg or _message(error, table=True)
    return [(key, msg) for key in keys]


def schema_errors(error: ValidationError, field: str | None = None) -> list[tuple[str, Msg]]:
    """Map one jsonschema error to (field, message) pairs; ``field`` when validated on its own."""
    if field is not None or error.absolute_path:
        return [(field if field is not None else str(error.absolute_path[0]), _message(error))]
    if error.validator == "required":
        return [(name, REQUIRED) for name in error.validator_value if name not in error.instance]
    return [("", Msg(N_("Not a valid value.")))]


def _merge(stored: dict, submitted: Mapping, known, errors) -> tuple[dict, set, set]:
    """The stored data with the submission applied; the keys it changes and the keys it sends a value for."""
    merged, changed, sent = dict(stored), set(), set()
    for key, value in submitted.items():
        if key not in known:
            errors[key].append(UNKNOWN)
            continue
        value = None if is_empty(value) else value
        sent.update([key] if value is not None else [])
        if value != stored.get(key):
            changed.add(key)
            merged[key] = value
    return {k: v for k, v in merged.items() if v is not None}, changed, sent


def _check_modes(spec: StepSpec, stored: dict, merged: dict, changed: set, sent: set, errors,
                 unreadable: frozenset[str] = frozenset()) -> dict[str, str]:
    """Refuse any value sent for a hidden or read-only field; returns the modes of the final data.

    The answer must not depend on the value: a hidden field sent with exactly its stored
    value is refused like a wrong guess, or the error would be an oracle for hidden data.
    An empty value clears nothing and is no error. Locked keys fall back to their stored
    values, and modes are worked out again until no further key is locked by that.
    """
    editable = spec.always_editable - unreadable if unreadable else spec.always_editable
    modes, locked = spec.modes(merged, unreadable), set()
    while True:
        newly = {k for k in (changed | sent) - editable - locked
                 if modes.get(k, "hidden") in ("hidden", "readonly")}
        if not newly:
            return modes
        for key in newly:
            if key in sent:
                errors[key].append(HIDDEN if modes.get(key, "hidden") == "hidden" else READONLY)
            merged.pop(key, None)
            merged.update({key: stored[key]} if key in stored else {})
        locked |= newly
        changed -= locked
        modes = spec.modes(merged, unreadable)


def _as_list(value: object) -> list:
    return value if isinstance(value, list) else [] if value is None else [value]


def _check_dictionaries(spec, stored, merged, changed, modes, dictionaries, errors) -> None:
    """Options are checked for the fields the submitter sees; a hidden field gets no message at all."""
    for name, code, parent_field in spec.dictionary_fields:
        if name not in merged or name in errors or modes.get(name, "hidden") == "hidden":
            continue
        if name not in changed and parent_field not in changed:
            continue
        index, old = dictionaries.get(code), _as_list(stored.get(name)) if name in stored else ()
        if parent_field and modes.get(parent_field, "hidden") == "hidden":  # versions published before check 9
            valid = index is not None and all(_anywhere(index, v, new=v not in old) for v in _as_list(merged[name]))
            errors[name].extend([] if valid else [NOT_OPTION])  # neither narrowed by nor naming the hidden parent
            continue
        parent = merged.get(parent_field) if parent_field else None
        for value in _as_list(merged[name]):
            if index is None or not index.is_option(value, parent, new=value not in old):
                errors[name].append(_cascade_msg(spec, parent_field) if parent_field else NOT_OPTION)
                break


def _check_table_options(spec, stored, merged, changed, modes, dictionaries, errors) -> None:
    """Dictionary cells of the tables the submitter changed (and sees)."""
    for name in spec.tables:
        if name in changed and modes.get(name, "hidden") != "hidden" and name in merged:
            for key, msg in tables.option_errors(name, spec.fields[name].schema, stored.get(name), merged[name],
                                                 dictionaries):
                errors[key].extend([] if errors[key] else [msg])


def _anywhere(index: DictionaryIndex, value: object, *, new: bool) -> bool:
    item = index.items.get(value) if isinstance(value, str) else None
    return item is not None and (item.enabled or not new)


def _cascade_msg(spec: StepSpec, parent_field: str) -> Msg:
    label = spec.template["properties"][parent_field].get("title", parent_field)
    return Msg(N_("Not an option of the chosen %(parent)s."), {"parent": label})


def _schema_errors(spec: StepSpec, view: dict) -> list[tuple[str, Msg]]:
    """The step schema's errors in ``view``; jsonschema is asked for them only where a predicate says invalid."""
    found = []
    if not spec.whole_check(view):
        found += [pair for error in spec.whole_validator.iter_errors(view) for pair in schema_errors(error)]
    for key, value in view.items():
        valid = spec.field_checks.get(key)
        if valid is not None and not valid(value):
            mapped = table_errors if key in spec.tables else schema_errors
            found += [pair for error in spec.field_validators[key].iter_errors(value) for pair in mapped(error, key)]
    return found


def validate_step(
    spec: StepSpec,
    stored: Mapping | None,
    submitted: Mapping,
    dictionaries: Mapping[str, DictionaryIndex],
    *,
    unreadable: frozenset[str] = frozenset(),
    people: Source = None,
) -> Outcome:
    """Validate ``submitted`` on top of ``stored`` at the step ``spec``.

    ``unreadable``: the fields the submitter may not read (``x-readers``), hidden to them at every step.
    ``people``: the organisation (``formbuilder.people``) that member and department values must name.
    """
    errors: dict[str, list[Msg]] = defaultdict(list)
    stored = normalize(stored or {})
    merged, changed, sent = _merge(stored, submitted, spec.template["properties"], errors)
    if spec.formulas.computed:
        spec.formulas.compute(merged, dictionaries)  # conditions may read computed values
    accepted = len(changed)
    modes = _check_modes(spec, stored, merged, changed, sent, errors, unreadable)
    if spec.formulas.computed and len(changed) < accepted:  # a change was locked: again, over what is let through
        spec.formulas.compute(merged, dictionaries)
        modes = spec.modes(merged, unreadable)
    view = {k: v for k, v in merged.items() if k not in spec.fields or modes[k] != "hidden"}
    for name, msg in _schema_errors(spec, view):
        if msg not in errors[name]:
            errors[name].append(msg)
    _check_dictionaries(spec, stored, merged, changed, modes, dictionaries, errors)
    if spec.tables:
        _check_table_options(spec, stored, merged, changed, modes, dictionaries, errors)
    if spec.people_fields:
        check_people(spec, stored, merged, changed, modes, people, errors)
    for name, msg in spec.formulas.broken(merged, modes, dictionaries) if spec.formulas.rules else ():
        errors[name].extend([] if errors[name] else [msg])  # a field's own error first
    return Outcome(merged, {k: v for k, v in errors.items() if v})
