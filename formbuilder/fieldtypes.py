"""The field-type registry: one entry per custom field type of the contract.

Adding a type is one :class:`FieldType` entry (how its schema looks, which
WTForms field renders it, how values convert), the way WTForms splits fields
by kind, instead of ``if type == ...`` chains spread over modules.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from rfc3339_validator import validate_rfc3339
from wtforms import fields
from wtforms.widgets import CheckboxInput, ListWidget, NumberInput

from .messages import N_

#: Date-times typed in the browser carry no zone; they are stored with this one.
LOCAL_TZ = timezone(timedelta(hours=8))
#: The years a ``date`` or ``date-time`` field may hold (an instant's year in UTC). Python's
#: datetime ends at year 9999: an accepted 9999-12-31T23:00-10:00 could not even be shown.
YEARS = (1900, 2999)
DATE_MESSAGES = {
    "date": N_("Not a valid date (years 1900 to 2999)."),
    "date-time": N_("Not a valid date and time (years 1900 to 2999)."),
}


def _text(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
    return value if value not in ("", None) else None


def _listed(value: Any) -> Any:
    values = [v for v in (value or []) if v not in ("", None)]
    return values or None


def _files(value: Any) -> Any:
    """Uploaded files stay FileStorage objects: the caller stores them."""
    return [f for f in (value or []) if getattr(f, "filename", None)] or None


_FULL_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _in_years(moment: date) -> bool:
    return YEARS[0] <= moment.year <= YEARS[1]


def is_date(value: Any) -> bool:
    """``format: date``: a full-date (RFC 3339) within :data:`YEARS`; other types are the schema's business."""
    if not isinstance(value, str):
        return True
    try:
        return bool(_FULL_DATE.fullmatch(value)) and _in_years(date.fromisoformat(value))
    except ValueError:
        return False


def is_datetime(value: Any) -> bool:
    """``format: date-time``: RFC 3339, readable by Python (no leap second), its UTC year within :data:`YEARS`."""
    if not isinstance(value, str):
        return True
    try:
        return validate_rfc3339(value.upper()) and _in_years(datetime.fromisoformat(value.upper()).astimezone(UTC))
    except (ValueError, OverflowError):
        return False


#: What the validator checks ``format: date`` and ``date-time`` with (FormatChecker.checkers entries).
DATE_FORMATS = {"date": (is_date, ()), "date-time": (is_datetime, ())}


class Unreadable(str):
    """A stored value a date field cannot hold (one stored before the bound): the form shows it as stored.

    WTForms formats a date field's data with ``strftime``; this text answers with itself.
    """

    def strftime(self, format: str) -> str:
        return str(self)


def _date_in(value: Any) -> Any:
    """The stored date for the form; text it cannot read stays text."""
    if not isinstance(value, str):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        return Unreadable(value)


def local_moment(value: str) -> datetime:
    """A stored instant as naive local time; ValueError for one Python cannot hold (e.g. past year 9999 here)."""
    try:
        moment = datetime.fromisoformat(value.upper())  # RFC 3339 allows a lower-case t and z
        return moment.astimezone(LOCAL_TZ).replace(tzinfo=None) if moment.tzinfo is not None else moment
    except OverflowError:
        raise ValueError(f"out of range: {value!r}") from None


def _datetime_in(value: Any) -> Any:
    """The stored instant for the form, in local time; text it cannot read stays text."""
    if not isinstance(value, str):
        return value
    try:
        return local_moment(value)
    except ValueError:
        return Unreadable(value)


def _datetime_out(value: Any) -> Any:
    return value.replace(tzinfo=LOCAL_TZ).isoformat() if value else None


def options_schema(schema: dict) -> dict:
    """The schema that carries a field's options: itself, or its items."""
    return schema.get("items", {}) if schema.get("type") == "array" else schema


def is_dropdown(schema: dict) -> bool:
    return schema.get("type") == "string" and ("oneOf" in schema or "x-dictionary" in schema)


def _widget(schema: dict, *names: str | None) -> bool:
    return schema.get("x-widget") in names


@dataclass(frozen=True)
class FieldType:
    """How one kind of custom field is recognised, rendered and converted."""

    name: str
    matches: Callable[[dict], bool]
    field: type
    options: dict | None = None
    to_json: Callable[[Any], Any] = _text
    to_form: Callable[[Any], Any] = lambda value: value
    has_choices: bool = False
    bad_input: str = N_("Not a valid value.")

    def unbound(self, schema: dict, **kwargs: Any) -> fields.Field:
        return self.field(**(self.options or {}), **kwargs)


_checkboxes = {"widget": ListWidget(prefix_label=False), "option_widget": CheckboxInput()}

REGISTRY: tuple[FieldType, ...] = (
    FieldType(
        "attachment",
        lambda s: s.get("type") == "array" and s.get("items", {}).get("format") == "attachment",
        fields.MultipleFileField,
        to_json=_files,
        to_form=lambda value: None,
    ),
    FieldType(
        "checkboxes",
        lambda s: s.get("type") == "array" and _widget(s, "checkboxes") and is_dropdown(s.get("items", {})),
        fields.SelectMultipleField,
        {**_checkboxes, "validate_choice": False},
        to_json=_listed,
        has_choices=True,
    ),
    FieldType(
        "multiselect",
        lambda s: s.get("type") == "array" and _widget(s, None, "select") and is_dropdown(s.get("items", {})),
        fields.SelectMultipleField,
        {"validate_choice": False},
        to_json=_listed,
        has_choices=True,
    ),
    FieldType(
        "checkbox",
        lambda s: s.get("type") == "boolean" and _widget(s, None, "checkbox"),
        fields.BooleanField,
        to_json=lambda value: True if value else None,
        to_form=bool,
    ),
    FieldType(
        "integer",
        lambda s: s.get("type") == "integer" and _widget(s, None),
        fields.IntegerField,
        {"widget": NumberInput()},
        to_json=lambda value: value,
        bad_input=N_("Not a valid whole number."),
    ),
    FieldType(
        "number",
        lambda s: s.get("type") == "number" and _widget(s, None),
        fields.FloatField,
        {"widget": NumberInput(step="any")},
        to_json=lambda value: value,
        bad_input=N_("Not a valid number."),
    ),
    FieldType(
        "date",
        lambda s: s.get("type") == "string" and s.get("format") == "date" and _widget(s, None),
        fields.DateField,
        to_json=lambda value: value.isoformat() if value else None,
        to_form=_date_in,
        bad_input=DATE_MESSAGES["date"],
    ),
    FieldType(
        "datetime",
        lambda s: s.get("type") == "string" and s.get("format") == "date-time" and _widget(s, None),
        fields.DateTimeLocalField,
        {"format": ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]},
        to_json=_datetime_out,
        to_form=_datetime_in,
        bad_input=DATE_MESSAGES["date-time"],
    ),
    FieldType(
        "cascade",
        lambda s: is_dropdown(s) and "x-cascade" in s and "x-dictionary" in s and _widget(s, None, "select"),
        fields.SelectField,
        {"validate_choice": False},
        has_choices=True,
    ),
    FieldType(
        "radio",
        lambda s: is_dropdown(s) and "x-cascade" not in s and _widget(s, "radio"),
        fields.RadioField,
        {"validate_choice": False},
        has_choices=True,
    ),
    FieldType(
        "select",
        lambda s: is_dropdown(s) and "x-cascade" not in s and _widget(s, None, "select"),
        fields.SelectField,
        {"validate_choice": False},
        has_choices=True,
    ),
    FieldType(
        "textarea",
        lambda s: s.get("type") == "string" and _widget(s, "textarea") and not is_dropdown(s)
        and s.get("format") is None,
        fields.TextAreaField,
    ),
    FieldType(
        "email",
        lambda s: s.get("type") == "string" and s.get("format") == "email" and _widget(s, None)
        and not is_dropdown(s),
        fields.EmailField,
    ),
    FieldType(
        "text",
        lambda s: s.get("type") == "string" and _widget(s, None, "text") and not is_dropdown(s)
        and s.get("format") is None,
        fields.StringField,
    ),
)


def classify(schema: dict) -> FieldType | None:
    """The registry entry for a field schema, or None when it is unsupported."""
    if not isinstance(schema, dict):
        return None
    return next((t for t in REGISTRY if t.matches(schema)), None)


def html_attributes(schema: dict) -> dict:
    """HTML5 hints from the schema; the server-side validator stays the authority."""
    hints = {
        "maxlength": schema.get("maxLength"),
        "minlength": schema.get("minLength"),
        "pattern": schema.get("pattern"),
        "min": schema.get("minimum"),
        "max": schema.get("maximum"),
        "step": schema.get("multipleOf"),
        "placeholder": schema.get("x-placeholder"),
        "accept": ",".join(schema["x-accept"]) if "x-accept" in schema else None,
        "data-lz-max-items": schema.get("maxItems") if schema.get("type") == "array" else None,
    }
    return {k: v for k, v in hints.items() if v is not None}
