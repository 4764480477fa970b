"""Values as people read them: option and dictionary labels, not stored codes.

Used for read-only fields, timelines, exports and conditions, so one rule
decides how each field type reads everywhere: the empty and the yes/no rules
here, the rest by the type's own ``text`` (``fieldtypes.REGISTRY``). Total:
whatever is stored (an instant from before the date bound, a number where a
code belongs) reads as text; a page or an export never fails on a value.
"""

from __future__ import annotations

from collections.abc import Mapping

from .dictionaries import DictionaryIndex
from .fieldtypes import FieldType, classify, plain_text


def display(schema: dict, value: object, dictionaries: Mapping[str, DictionaryIndex]) -> str:
    """One field's value as text (attachments are listed by the caller, as links)."""
    return text_of(classify(schema), schema, value, dictionaries)


def text_of(kind: FieldType | None, schema: dict, value: object,
            dictionaries: Mapping[str, DictionaryIndex]) -> str:
    """:func:`display` for a caller that knows the field's type already (None: a schema no type matches)."""
    if value is None or value == [] or value == "":
        return ""
    if value is True or value is False:
        return "✓" if value else "✗"
    return (kind.text if kind is not None else plain_text)(schema, value, dictionaries)
