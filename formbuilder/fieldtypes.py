"""The field-type registry: one entry per custom field type of the contract.

Adding a type is one :class:`FieldType` entry (how its schema looks, what the
visual editor builds, which WTForms field renders it, how values convert, read
and export), plus its page partial ``templates/forms/fields/<name>.html`` and,
when it needs script, ``static/js/fields/<name>.js``; the way WTForms splits
fields by kind, instead of ``if type == ...`` chains spread over modules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from wtforms import fields
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget, NumberInput

from .messages import N_
from .moments import (  # noqa: F401 - DATE_FORMATS, LOCAL_TZ, YEARS, is_date, is_datetime: read from here too
    DATE_FORMATS,
    DATE_MESSAGES,
    LOCAL_TZ,
    YEARS,
    DateField,
    DateTimeLocalField,
    FloatField,
    IntegerField,
    date_in,
    datetime_in,
    datetime_out,
    is_date,
    is_datetime,
    local_moment,
)
from .people import department_text, user_text
from .tablefield import table_field
from .tables import is_table
from .tabletext import table_text

#: How values of a list read in one line of text (a Chinese enumeration comma).
LIST_JOIN = "、"
#: The stars of a rating field.
STARS = 5


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


def options_schema(schema: dict) -> dict:
    """The schema that carries a field's options: itself, or its items."""
    return schema.get("items", {}) if schema.get("type") == "array" else schema


def is_dropdown(schema: dict) -> bool:
    return schema.get("type") == "string" and ("oneOf" in schema or "x-dictionary" in schema)


def _items(schema: dict) -> dict:
    return schema.get("items", {}) if schema.get("type") == "array" else {}


def _listed_options(schema: dict) -> bool:
    """An array of options (not of files)."""
    items = _items(schema)
    return schema.get("type") == "array" and is_dropdown(items) and items.get("format") != "attachment"


def option_label(schema: dict, value: str, dictionaries: Mapping[str, Any]) -> str:
    """The label people read for an option code: the option's title, else the dictionary's label."""
    source = options_schema(schema)
    for option in source.get("oneOf", []):
        if isinstance(option, dict) and option.get("const") == value:
            return str(option.get("title", value))
    index = dictionaries.get(source.get("x-dictionary", ""))
    return index.label(value) if index else value


# How a stored, non-empty, non-boolean value reads (``display.display`` handles those first).
# Each is total: a value of another shape than the type's reads as plain text.

def plain_text(schema: dict, value: Any, dictionaries: Mapping) -> str:
    return LIST_JOIN.join(map(str, value)) if isinstance(value, list) else str(value)


def _label_text(schema: dict, value: Any, dictionaries: Mapping) -> str:
    values = value if isinstance(value, list) else [value]
    return LIST_JOIN.join(option_label(schema, str(v), dictionaries) for v in values)


def _moment_text(schema: dict, value: Any, dictionaries: Mapping) -> str:
    """An instant in local time; one Python cannot hold reads as it is stored."""
    if not isinstance(value, str):
        return plain_text(schema, value, dictionaries)
    try:
        return local_moment(value).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return value


def _star_text(schema: dict, value: Any, dictionaries: Mapping) -> str:
    """"★★★☆☆ (3)": the stars for a whole number within the scale, plain text for anything else."""
    top = schema.get("maximum", STARS)
    if type(value) is not int or not 0 <= value <= top:
        return plain_text(schema, value, dictionaries)
    return f"{'★' * value}{'☆' * (top - value)} ({value})"


def _file_names(value: Any, files: Mapping[str, str]) -> str | None:
    """Attachment keys as their file names; None (read as text) for a value that is not a list."""
    if not isinstance(value, list):
        return None
    return LIST_JOIN.join(str(files.get(key, key)) if isinstance(key, str) else str(key) for key in value)


def _whole_number(value: Any, files: Mapping[str, str]) -> str | None:
    return str(value) if type(value) is int else None


#: ``FieldType.widgets`` of a type whose shape alone decides, whatever its ``x-widget``.
ANY_WIDGET: tuple[str | None, ...] = ()


@dataclass(frozen=True)
class FieldType:
    """One kind of custom field, whole: how its schema looks, how the editor builds one, which WTForms
    field renders it, how values convert and read, and its page behaviour, found by ``name``.

    The page includes ``templates/forms/fields/<name>.html`` for the field; with ``script`` set,
    ``static/js/liveform.js`` also loads ``static/js/fields/<name>.js``, which registers under the name.
    """

    name: str
    #: The picker's label in the visual editor (seed wording).
    label: str
    #: Whether a schema has the type's shape, its ``x-widget`` aside (see ``widgets`` and :meth:`matches`).
    shape: Callable[[dict], bool]
    #: The schema the editor starts a field of this type from; ``settings`` are the editor's settings it
    #: shows between the help text and the default (see ``fieldkinds``).
    base: dict
    field: type
    settings: tuple[str, ...] = ()
    has_default: bool = True
    options: dict | None = None
    to_json: Callable[[Any], Any] = _text
    to_form: Callable[[Any], Any] = lambda value: value
    has_choices: bool = False
    #: Dropdowns start with a blank "—" entry; lists of radios or boxes do not.
    blank: bool = False
    bad_input: str = N_("Not a valid value.")
    #: A stored value as text (read-only fields, timelines, conditions' defaults).
    text: Callable[[dict, Any, Mapping], str] = plain_text
    #: A stored value as an export cell, given the attachment names; None: its text.
    export: Callable[[Any, Mapping[str, str]], str | None] | None = None
    #: What names the field on the page: "label" (one input), "legend" (a group of inputs), "" (its partial).
    named_by: str = "label"
    script: bool = False
    #: The page script needs the dictionary's tree (cascades reload their options in the browser).
    tree: bool = False
    #: The ``x-widget`` values that show the type, None for a schema without one; ``ANY_WIDGET``: the shape
    #: alone decides. Together they are the meta-schema's list of widgets (:data:`WIDGETS`).
    widgets: tuple[str | None, ...] = (None,)
    #: The WTForms field is built from the field's schema (``field(schema, **kwargs)``): a table's columns.
    with_schema: bool = False
    partial: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "partial", f"forms/fields/{self.name}.html")  # resolved once per type

    def matches(self, schema: dict) -> bool:
        return (not self.widgets or schema.get("x-widget") in self.widgets) and self.shape(schema)

    def unbound(self, schema: dict, **kwargs: Any) -> fields.Field:
        if self.with_schema:
            return self.field(schema, **(self.options or {}), **kwargs)
        return self.field(**(self.options or {}), **kwargs)


_checkboxes = {"widget": ListWidget(prefix_label=False), "option_widget": CheckboxInput()}
_TEXT_LIMITS = ("min_length", "max_length")
_OPTIONS = ("source", "options", "dictionary")
_dropdown = {"validate_choice": False}
_PEOPLE = ("roles", "departments")


def _plain_string(schema: dict) -> bool:
    return schema.get("type") == "string" and not is_dropdown(schema) and schema.get("format") is None


def _member_list(schema: dict) -> bool:
    items = _items(schema)
    return schema.get("type") == "array" and items.get("x-widget") == "user" and _plain_string(items)

#: Every field type, in the order of the editor's "add field" picker. :func:`classify` takes the first that
#: matches: a date or an instant with options stays a date or an instant, as it always has.
REGISTRY: tuple[FieldType, ...] = (
    FieldType(
        "text", N_("Single-line text"),
        lambda s: s.get("type") == "string" and not is_dropdown(s) and s.get("format") is None,
        {"type": "string"}, fields.StringField, ("placeholder", *_TEXT_LIMITS, "pattern"), widgets=(None, "text"),
    ),
    FieldType(
        "textarea", N_("Multi-line text"),
        lambda s: s.get("type") == "string" and not is_dropdown(s) and s.get("format") is None,
        {"type": "string", "x-widget": "textarea"}, fields.TextAreaField, ("placeholder", *_TEXT_LIMITS),
        widgets=("textarea",),
    ),
    FieldType(
        "email", N_("E-mail"),
        lambda s: s.get("type") == "string" and s.get("format") == "email" and not is_dropdown(s),
        {"type": "string", "format": "email"}, fields.EmailField, ("placeholder", "max_length"),
    ),
    FieldType(
        "number", N_("Number"),
        lambda s: s.get("type") == "number",
        {"type": "number"}, FloatField, ("placeholder", "minimum", "maximum", "multipleOf"),
        options={"widget": NumberInput(step="any")}, to_json=lambda value: value,
        bad_input=N_("Not a valid number."), script=True,
    ),
    FieldType(
        "integer", N_("Whole number"),
        lambda s: s.get("type") == "integer",
        {"type": "integer"}, IntegerField, ("placeholder", "minimum", "maximum"),
        options={"widget": NumberInput()}, to_json=lambda value: value,
        bad_input=N_("Not a valid whole number."), script=True,
    ),
    FieldType(
        "date", N_("Date"),
        lambda s: s.get("type") == "string" and s.get("format") == "date",
        {"type": "string", "format": "date"}, DateField,
        to_json=lambda value: value.isoformat() if value else None, to_form=date_in,
        bad_input=DATE_MESSAGES["date"],
    ),
    FieldType(
        "datetime", N_("Date and time"),
        lambda s: s.get("type") == "string" and s.get("format") == "date-time",
        {"type": "string", "format": "date-time"}, DateTimeLocalField,
        options={"format": ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]}, to_json=datetime_out,
        to_form=datetime_in, bad_input=DATE_MESSAGES["date-time"], text=_moment_text,
    ),
    FieldType(
        "select", N_("Dropdown"),
        lambda s: is_dropdown(s) and "x-cascade" not in s,
        {"type": "string"}, fields.SelectField, _OPTIONS,
        options=_dropdown, has_choices=True, blank=True, text=_label_text, widgets=(None, "select"),
    ),
    FieldType(
        "multiselect", N_("Multi-select dropdown"),
        _listed_options, {"type": "array", "uniqueItems": True}, fields.SelectMultipleField, _OPTIONS,
        options=_dropdown, to_json=_listed, has_choices=True, text=_label_text, script=True, widgets=(None, "select"),
    ),
    FieldType(
        "radio", N_("Radio buttons"),
        lambda s: is_dropdown(s) and "x-cascade" not in s,
        {"type": "string", "x-widget": "radio"}, fields.RadioField, _OPTIONS,
        options=_dropdown, has_choices=True, text=_label_text, named_by="legend", script=True, widgets=("radio",),
    ),
    FieldType(
        "checkbox", N_("Checkbox (yes/no)"),
        lambda s: s.get("type") == "boolean",
        {"type": "boolean"}, fields.BooleanField,
        to_json=lambda value: True if value else None, to_form=bool, named_by="", script=True,
        widgets=(None, "checkbox"),
    ),
    FieldType(
        "checkboxes", N_("Checkboxes (several)"),
        _listed_options, {"type": "array", "uniqueItems": True, "x-widget": "checkboxes"}, fields.SelectMultipleField,
        _OPTIONS, options={**_checkboxes, **_dropdown}, to_json=_listed, has_choices=True, text=_label_text,
        named_by="legend", script=True, widgets=("checkboxes",),
    ),
    FieldType(
        "cascade", N_("Cascading dropdown"),
        lambda s: is_dropdown(s) and "x-cascade" in s and "x-dictionary" in s,
        {"type": "string"}, fields.SelectField, ("dictionary", "cascade"),
        options=_dropdown, has_choices=True, blank=True, text=_label_text, script=True, tree=True,
        widgets=(None, "select"),
    ),
    FieldType(
        "attachment", N_("Attachment"),
        lambda s: s.get("type") == "array" and _items(s).get("format") == "attachment",
        {"type": "array"}, fields.MultipleFileField, ("max_items", "accept", "max_mb"), has_default=False,
        to_json=_files, to_form=lambda value: None, export=_file_names, script=True, widgets=ANY_WIDGET,
    ),
    FieldType(
        "rating", N_("Star rating (1-5)"),
        lambda s: s.get("type") == "integer" and s.get("minimum") == 1 and s.get("maximum") == STARS,
        {"type": "integer", "minimum": 1, "maximum": STARS, "x-widget": "rating"}, fields.RadioField,
        options={"choices": [SelectChoice(n, str(n)) for n in range(1, STARS + 1)], "coerce": int, **_dropdown},
        to_json=lambda value: value, bad_input=N_("Not a valid whole number."), text=_star_text,
        export=_whole_number, named_by="legend", script=True, widgets=("rating",),
    ),
    FieldType(  # member 成员 (formbuilder.people: the choices, the check, the names)
        "user", N_("Member"), _plain_string, {"type": "string", "x-widget": "user"}, fields.SelectField,
        _PEOPLE, options=_dropdown, has_choices=True, blank=True, text=user_text, script=True, widgets=("user",),
    ),
    FieldType(  # several members: an array of member schemas, as a multi-select is one of dropdowns
        "users", N_("Members (several)"), _member_list,
        {"type": "array", "uniqueItems": True, "items": {"type": "string", "x-widget": "user"}},
        fields.SelectMultipleField, _PEOPLE, options=_dropdown, to_json=_listed, has_choices=True,
        text=user_text, script=True,
    ),
    FieldType(  # department 部门
        "department", N_("Department"), _plain_string, {"type": "string", "x-widget": "department"},
        fields.SelectField, options=_dropdown, has_choices=True, blank=True, text=department_text, script=True,
        widgets=("department",),
    ),
)
#: The detail table 明细表 (formbuilder.tables: shape, column checks, cells; tablefield: the page's field).
TABLE = FieldType(
    "table", N_("Detail table"), is_table,
    {"type": "array", "x-widget": "table", "items": {"type": "object", "properties": {
        "item": {"type": "string", "title": "名称"}}}},
    table_field, has_default=False, to_json=lambda value: value or None, text=table_text,
    named_by="legend", script=True, widgets=("table",), with_schema=True,
)
REGISTRY = (*REGISTRY, TABLE)
BY_NAME: dict[str, FieldType] = {t.name: t for t in REGISTRY}
#: Every ``x-widget`` value a type is shown by, in the registry's order: the meta-schema lists these.
WIDGETS: tuple[str, ...] = tuple(dict.fromkeys(w for t in REGISTRY for w in t.widgets if w is not None))


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
