"""Field kinds of the visual editor: a flat set of settings <-> the field's JSON Schema.

The editor shows one form per kind (the kinds are the registry names of
:mod:`fieldtypes`); :func:`build` writes the schema the contract describes and
:func:`settings` reads one back, so an edit shows what the document holds.
"""

from __future__ import annotations

from typing import Any

from .conditions import coerce, display
from .editing import EditError
from .fieldtypes import classify, options_schema
from .messages import N_

#: kind -> label, in the order of the "add field" picker (seed wording).
KINDS: dict[str, str] = {
    "text": N_("Single-line text"), "textarea": N_("Multi-line text"), "email": N_("E-mail"),
    "number": N_("Number"), "integer": N_("Whole number"), "date": N_("Date"), "datetime": N_("Date and time"),
    "select": N_("Dropdown"), "multiselect": N_("Multi-select dropdown"), "radio": N_("Radio buttons"),
    "checkbox": N_("Checkbox (yes/no)"), "checkboxes": N_("Checkboxes (several)"),
    "cascade": N_("Cascading dropdown"), "attachment": N_("Attachment"),
}
CHOICES = frozenset({"select", "multiselect", "radio", "checkboxes"})
TEXTS = frozenset({"text", "textarea", "email"})
NUMBERS = frozenset({"number", "integer"})
_BASE: dict[str, dict] = {
    "text": {"type": "string"}, "textarea": {"type": "string", "x-widget": "textarea"},
    "email": {"type": "string", "format": "email"}, "number": {"type": "number"}, "integer": {"type": "integer"},
    "date": {"type": "string", "format": "date"}, "datetime": {"type": "string", "format": "date-time"},
    "select": {"type": "string"}, "radio": {"type": "string", "x-widget": "radio"},
    "multiselect": {"type": "array", "uniqueItems": True},
    "checkboxes": {"type": "array", "uniqueItems": True, "x-widget": "checkboxes"},
    "checkbox": {"type": "boolean"}, "cascade": {"type": "string"}, "attachment": {"type": "array"},
}
MB = 1024 * 1024


def kind_of(schema: dict) -> str | None:
    found = classify(schema)
    return found.name if found else None


def build(kind: str, s: dict) -> dict:
    """The schema of a field of ``kind`` from the editor's settings ``s``."""
    schema = {**_BASE[kind], "title": s["title"]}
    _put(schema, "description", s.get("description"))
    if kind in TEXTS | NUMBERS:
        _put(schema, "x-placeholder", s.get("placeholder"))
    if kind in TEXTS:
        _put(schema, "minLength", s.get("min_length"))
        _put(schema, "maxLength", s.get("max_length"))
        _put(schema, "pattern", s.get("pattern") if kind == "text" else None)
    if kind in NUMBERS:
        for key in ("minimum", "maximum", "multipleOf"):
            _put(schema, key, s.get(key))
    if kind in CHOICES:
        _options(schema, kind, s)
    if kind == "cascade":
        schema.update({"x-dictionary": s.get("dictionary") or "", "x-cascade": s.get("cascade") or ""})
    if kind == "attachment":
        _attachment(schema, s)
    _default(schema, kind, s.get("default"))
    _put(schema, "x-public", True if s.get("public") else None)
    return schema


def _put(schema: dict, key: str, value: Any) -> None:
    if value not in (None, ""):
        schema[key] = value


def _options(schema: dict, kind: str, s: dict) -> None:
    if s.get("source") == "dictionary":
        target = {"type": "string", "x-dictionary": s.get("dictionary") or ""}
    else:
        target = {"type": "string", "oneOf": parse_options(s.get("options") or "")}
    if kind in ("multiselect", "checkboxes"):
        schema["items"] = target
    else:
        schema.update({k: v for k, v in target.items() if k != "type"})


def parse_options(text: str) -> list[dict]:
    """One option a line: ``value=label`` or just ``label`` (then the label is the value)."""
    options = []
    for number, line in enumerate(text.splitlines(), 1):
        value, _, label = (part.strip() for part in line.strip().partition("="))
        if not value and not label:
            continue
        if not value:
            raise EditError(["options"], N_("line %(line)d: the value before '=' is empty"), line=number)
        options.append({"const": value, "title": label or value})
    if not options:
        raise EditError(["options"], N_("give at least one option, one a line"))
    return options


def _attachment(schema: dict, s: dict) -> None:
    schema["items"] = {"type": "string", "format": "attachment"}
    _put(schema, "maxItems", s.get("max_items"))
    accept = [part.strip() for part in (s.get("accept") or "").split(",") if part.strip()]
    _put(schema, "x-accept", accept or None)
    _put(schema, "x-max-bytes", int(s["max_mb"] * MB) if s.get("max_mb") else None)


def _default(schema: dict, kind: str, text: str | None) -> None:
    if not text or kind == "attachment":
        return
    try:
        schema["default"] = coerce(schema, "in" if schema["type"] == "array" else "eq", text)
    except ValueError as error:
        raise EditError(["default"], N_("not a valid default: %(detail)s"), detail=str(error)) from None


def settings(schema: dict) -> dict:
    """The editor's settings for an existing field (the inverse of :func:`build`)."""
    target = options_schema(schema)
    s = {"title": schema.get("title", ""), "description": schema.get("description"),
         "placeholder": schema.get("x-placeholder"), "min_length": schema.get("minLength"),
         "max_length": schema.get("maxLength"), "pattern": schema.get("pattern"),
         "minimum": schema.get("minimum"), "maximum": schema.get("maximum"),
         "multipleOf": schema.get("multipleOf"), "public": bool(schema.get("x-public")),
         "source": "dictionary" if "x-dictionary" in target else "options",
         "dictionary": target.get("x-dictionary"), "cascade": schema.get("x-cascade"),
         "options": "\n".join(_option_line(o) for o in target.get("oneOf", [])),
         "max_items": schema.get("maxItems"), "accept": ", ".join(schema.get("x-accept", [])),
         "max_mb": schema["x-max-bytes"] / MB if "x-max-bytes" in schema else None}
    s["default"] = display(schema, schema["default"]) if "default" in schema else None
    return s


def _option_line(option: dict) -> str:
    value, label = option.get("const", ""), option.get("title")
    return value if label in (None, value) else f"{value}={label}"


#: Schema keys the editor writes; any other key of an edited field is kept as it was.
MANAGED = frozenset({"type", "title", "description", "x-placeholder", "minLength", "maxLength", "pattern",
                     "minimum", "maximum", "multipleOf", "oneOf", "items", "uniqueItems", "x-widget",
                     "x-dictionary", "x-cascade", "maxItems", "x-accept", "x-max-bytes", "default", "x-public",
                     "format"})


def merge(old: dict | None, new: dict) -> dict:
    """``new`` plus what the JSON view put in ``old`` that the editor does not manage."""
    return {**new, **{k: v for k, v in (old or {}).items() if k not in MANAGED}}


def shown(kind: str) -> list[str]:
    """The settings the field form shows for ``kind``, in order."""
    names = ["title", "description"]
    if kind in TEXTS | NUMBERS:
        names.append("placeholder")
    names += {"text": ["min_length", "max_length", "pattern"], "textarea": ["min_length", "max_length"],
              "email": ["max_length"], "number": ["minimum", "maximum", "multipleOf"],
              "integer": ["minimum", "maximum"], "cascade": ["dictionary", "cascade"],
              "attachment": ["max_items", "accept", "max_mb"]}.get(kind, [])
    if kind in CHOICES:
        names += ["source", "options", "dictionary"]
    if kind != "attachment":
        names.append("default")
    return names + ["public"]
