"""Field kinds of the visual editor: a flat set of settings <-> the field's JSON Schema.

The editor shows one form per kind. The kinds are the field types of
:mod:`fieldtypes`: each says its label, the schema it starts from and the
settings it shows; :func:`build` writes the schema the contract describes and
:func:`settings` reads one back, so an edit shows what the document holds.
"""

from __future__ import annotations

from typing import Any

from .conditions import coerce, display
from .editing import EditError
from .fieldtypes import BY_NAME, REGISTRY, classify, options_schema
from .messages import N_

#: kind -> label, in the order of the "add field" picker (seed wording).
KINDS: dict[str, str] = {t.name: t.label for t in REGISTRY}
#: Settings written as one schema key each, as given.
_SIMPLE = {"placeholder": "x-placeholder", "min_length": "minLength", "max_length": "maxLength",
           "pattern": "pattern", "minimum": "minimum", "maximum": "maximum", "multipleOf": "multipleOf"}
MB = 1024 * 1024


def kind_of(schema: dict) -> str | None:
    found = classify(schema)
    return found.name if found else None


def build(kind: str, s: dict) -> dict:
    """The schema of a field of ``kind`` from the editor's settings ``s``."""
    field_type = BY_NAME[kind]
    schema = {**field_type.base, "title": s["title"]}
    _put(schema, "description", s.get("description"))
    for name in field_type.settings:
        if name in _SIMPLE:
            _put(schema, _SIMPLE[name], s.get(name))
    if "options" in field_type.settings:
        _options(schema, s)
    if "cascade" in field_type.settings:
        schema.update({"x-dictionary": s.get("dictionary") or "", "x-cascade": s.get("cascade") or ""})
    if "accept" in field_type.settings:
        _attachment(schema, s)
    if field_type.has_default:
        _default(schema, s.get("default"))
    _put(schema, "x-public", True if s.get("public") else None)
    return schema


def _put(schema: dict, key: str, value: Any) -> None:
    if value not in (None, ""):
        schema[key] = value


def _options(schema: dict, s: dict) -> None:
    if s.get("source") == "dictionary":
        target = {"type": "string", "x-dictionary": s.get("dictionary") or ""}
    else:
        target = {"type": "string", "oneOf": parse_options(s.get("options") or "")}
    if schema["type"] == "array":
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


def _default(schema: dict, text: str | None) -> None:
    if not text:
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
    field_type = BY_NAME[kind]
    return ["title", "description", *field_type.settings, *(["default"] if field_type.has_default else []), "public"]
