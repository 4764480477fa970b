"""Where a problem's JSON path lives in the visual editor, so every listed problem links to its place."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext

from workflows.storage.models import Process

BASICS = frozenset({"name", "description", "hint", "number_prefix", "priority", "code", "format"})


def place(path: str, code: str, draft: dict | None) -> str | None:
    """The editor URL for ``path`` (a JSON pointer), or None when the process is not stored."""
    if draft is None:
        return None
    parts = path.split("/")[1:]
    head = parts[0] if parts else ""
    if head == "schema" and len(parts) > 2 and parts[1] == "properties":
        if parts[2] in draft.get("schema", {}).get("properties", {}):
            return _field_place(parts, code, draft)
    if head == "steps" and len(parts) > 1 and parts[1].isascii() and parts[1].isdigit():
        return _step_place(parts, code, draft)
    if head == "schema":
        return url_for(".json_view", code=code)
    if head == "x-rules":
        return _rule_place(parts, code, draft)
    anchor = "basics" if head in BASICS else "fields"
    return url_for(".editor", code=code) + "#" + anchor


def _field_place(parts: list[str], code: str, draft: dict) -> str:
    """A field's page, or a table column's (``/schema/properties/T/items/properties/C/...``)."""
    schema = draft["schema"]["properties"][parts[2]]
    column = parts[5] if len(parts) > 5 and parts[3:5] == ["items", "properties"] else None
    if column and isinstance(schema, dict) and column in schema.get("items", {}).get("properties", {}):
        return url_for(".edit_field", code=code, key=parts[2], column=column)
    return url_for(".edit_field", code=code, key=parts[2])


def _rule_place(parts: list[str], code: str, draft: dict) -> str:
    """A cross-field rule's form on the rules page (the list when the rule is not there)."""
    rules = draft.get("x-rules") if isinstance(draft.get("x-rules"), list) else []
    index = parts[1] if len(parts) > 1 and parts[1].isascii() and parts[1].isdigit() else None
    if index is not None and int(index) < len(rules):
        return url_for(".rules_page", code=code, rule=int(index)) + "#rule-form"
    return url_for(".rules_page", code=code)


def _step_place(parts: list[str], code: str, draft: dict) -> str:
    steps = draft.get("steps", [])
    index = int(parts[1])
    key = steps[index].get("key") if index < len(steps) and isinstance(steps[index], dict) else None
    if len(parts) > 2 and parts[2] == "fields":
        return url_for(".matrix", code=code) + (f"#cell-{key}-{parts[3]}" if key and len(parts) > 3 else "")
    if key:
        return url_for(".edit_step", code=code, key=key)
    return url_for(".editor", code=code) + "#steps"


def linked(problems, code: str) -> list[dict]:
    """Problems as ``{path, text, url}`` for the problem lists of the editor and the JSON view."""
    process = Process.get_or_none(Process.code == code)
    draft = process.draft if process else None
    return [{"path": p.path, "text": p.render(gettext), "url": place(p.path, code, draft)} for p in problems]
