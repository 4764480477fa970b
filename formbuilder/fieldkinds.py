"""Field kinds of the visual editor: a flat set of settings <-> the field's JSON Schema.

The editor shows one form per kind. The kinds are the field types of
:mod:`fieldtypes`: each says its label, the schema it starts from and the
settings it shows; :func:`build` writes the schema the contract describes and
:func:`settings` reads one back, so an edit shows what the document holds.
"""

from __future__ import annotations

import json
from typing import Any

from . import strictjson
from .conditions import coerce, display
from .editing import EditError
from .fieldtypes import BY_NAME, REGISTRY, classify, options_schema
from .messages import N_
from .people import narrowing

#: kind -> label, in the order of the "add field" picker (seed wording).
KINDS: dict[str, str] = {t.name: t.label for t in REGISTRY}
#: Settings written as one schema key each, as given.
_SIMPLE = {"placeholder": "x-placeholder", "min_length": "minLength", "max_length": "maxLength",
           "pattern": "pattern", "minimum": "minimum", "maximum": "maximum", "multipleOf": "multipleOf"}
MB = 1024 * 1024
#: Kinds that may be computed (``x-formula``): check 7 takes number, integer and string fields.
FORMULA_KINDS = ("text", "textarea", "number", "integer", "date", "datetime")
#: Who may see a field (``x-readers``): settings of every field, never of a column.
READER_SETTINGS = ("reader_roles", "reader_departments")
#: Settings of format 2 beyond a type's own, by kind (a table's row limits).
_EXTRA = {"table": ("min_rows", "max_rows")}


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
    if "roles" in field_type.settings:
        _narrowing(schema, s)
    if field_type.has_default:
        _default(schema, s.get("default"))
    _put(schema, "x-public", True if s.get("public") else None)
    _format_2(kind, schema, s)
    return schema


def _format_2(kind: str, schema: dict, s: dict) -> None:
    """A table's row limits, a formula and the readers, when the settings give them."""
    if kind in _EXTRA:
        _put(schema, "minItems", s.get("min_rows"))
        _put(schema, "maxItems", s.get("max_rows"))
    if kind in FORMULA_KINDS and (s.get("formula") or "").strip():
        schema["x-formula"] = parse_formula(s["formula"])
    readers = {"roles": list(s.get("reader_roles") or []), "departments": list(s.get("reader_departments") or [])}
    _put(schema, "x-readers", {k: v for k, v in readers.items() if v} or None)


def parse_formula(text: str) -> Any:
    """A formula as typed: standard JSON (a JSON Logic expression), else an EditError at ``formula``."""
    try:
        return strictjson.loads(text)
    except json.JSONDecodeError as error:
        raise EditError(["formula"], N_("not valid JSON: %(detail)s"), detail=error.msg) from None
    except strictjson.NotStandardJSON as error:
        raise EditError(["formula"], N_("not valid JSON: %(detail)s"), detail=str(error)) from None


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


def _narrowing(schema: dict, s: dict) -> None:
    """``x-role`` / ``x-department`` of a member field (on the items of a multiple one), when any is picked."""
    if schema["type"] == "array":
        schema["items"] = dict(schema["items"])  # the base's items are shared: never write into them
    target = schema["items"] if schema["type"] == "array" else schema
    _put(target, "x-role", list(s.get("roles") or []) or None)
    _put(target, "x-department", list(s.get("departments") or []) or None)


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
    s["roles"], s["departments"] = (list(codes) for codes in narrowing(schema))
    s["default"] = display(schema, schema["default"]) if "default" in schema else None
    return {**s, **_format_2_settings(schema)}


def _format_2_settings(schema: dict) -> dict:
    readers = schema.get("x-readers") if isinstance(schema.get("x-readers"), dict) else {}
    formula = schema.get("x-formula")
    return {"min_rows": schema.get("minItems"), "max_rows": schema.get("maxItems"),
            "formula": json.dumps(formula, ensure_ascii=False) if "x-formula" in schema else "",
            "reader_roles": list(readers.get("roles") or []),
            "reader_departments": list(readers.get("departments") or [])}


def _option_line(option: dict) -> str:
    value, label = option.get("const", ""), option.get("title")
    return value if label in (None, value) else f"{value}={label}"


#: Schema keys the editor writes; any other key of an edited field is kept as it was.
MANAGED = frozenset({"type", "title", "description", "x-placeholder", "minLength", "maxLength", "pattern",
                     "minimum", "maximum", "multipleOf", "oneOf", "items", "uniqueItems", "x-widget",
                     "x-dictionary", "x-cascade", "maxItems", "x-accept", "x-max-bytes", "default", "x-public",
                     "format", "x-role", "x-department", "x-readers"})


def managed(kind: str | None) -> frozenset[str]:
    """The keys the editor writes for ``kind``: a formula only where it offers one, a table's row limits."""
    return MANAGED | ({"x-formula"} if kind in FORMULA_KINDS else set()) | ({"minItems"} if kind in _EXTRA else set())


def merge(old: dict | None, new: dict) -> dict:
    """``new`` plus what the JSON view put in ``old`` that the editor does not manage.

    A table's columns are edited one at a time (:mod:`editing2`), so saving the table's own
    settings keeps the columns it has.
    """
    kind = kind_of(new)
    kept = {k: v for k, v in (old or {}).items() if k not in managed(kind)}
    if kind == "table" and old is not None and kind_of(old) == "table":
        kept["items"] = old["items"]
    return {k: kept.pop(k) if k in kept else v for k, v in new.items()} | kept


def shown(kind: str, *, column: bool = False) -> list[str]:
    """The settings the field form shows for ``kind``, in order (a column: none that is the whole field's)."""
    field_type = BY_NAME[kind]
    names = ["title", "description", *field_type.settings, *_EXTRA.get(kind, ())]
    if column:
        return names
    return [*names, *(["default"] if field_type.has_default else []), "public",
            *(["formula"] if kind in FORMULA_KINDS else [])]
