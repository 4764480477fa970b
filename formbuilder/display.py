"""Values as people read them: option and dictionary labels, not stored codes.

Used for read-only fields, timelines, exports and conditions, so one rule
decides how each field type reads everywhere. Total: whatever is stored (an
instant from before the date bound, a number where a code belongs) reads as
text; a page or an export never fails on a value.
"""

from __future__ import annotations

from collections.abc import Mapping

from .dictionaries import DictionaryIndex
from .fieldtypes import local_moment, options_schema


def option_label(schema: dict, value: str, dictionaries: Mapping[str, DictionaryIndex]) -> str:
    source = options_schema(schema)
    for option in source.get("oneOf", []):
        if isinstance(option, dict) and option.get("const") == value:
            return str(option.get("title", value))
    index = dictionaries.get(source.get("x-dictionary", ""))
    return index.label(value) if index else value


def _moment(value: str) -> str:
    """An instant in local time; one Python cannot hold as it is stored."""
    try:
        return local_moment(value).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return value


def display(schema: dict, value: object, dictionaries: Mapping[str, DictionaryIndex]) -> str:
    """One field's value as text (attachments are listed by the caller, as links)."""
    if value is None or value == [] or value == "":
        return ""
    if value is True or value is False:
        return "✓" if value else "✗"
    if "oneOf" in options_schema(schema) or "x-dictionary" in options_schema(schema):
        values = value if isinstance(value, list) else [value]
        return "、".join(option_label(schema, str(v), dictionaries) for v in values)
    if schema.get("format") == "date-time" and isinstance(value, str):
        return _moment(value)
    if isinstance(value, list):
        return "、".join(map(str, value))
    return str(value)
