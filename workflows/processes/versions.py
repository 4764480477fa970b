"""Compare published versions of a process and throw a draft away."""

from __future__ import annotations

from workflows.storage import audit
from workflows.storage.db import database
from workflows.storage.models import Process, ProcessVersion, User, utcnow

BASICS = ("name", "description", "hint", "number_prefix", "priority")
STEP_KEYS = ("name", "fields", "assignee", "transitions", "allow_return", "allow_transfer", "sla")


def diff(old: dict, new: dict) -> dict:
    """What changed from ``old`` to ``new``: basics, fields (schema properties) and steps (by key)."""
    old_fields = old.get("schema", {}).get("properties", {})
    new_fields = new.get("schema", {}).get("properties", {})
    return {
        "basics": [key for key in BASICS if old.get(key) != new.get(key)],
        "fields": _compare(old_fields, new_fields, None),
        "steps": _compare(_steps(old), _steps(new), STEP_KEYS),
    }


def _steps(document: dict) -> dict[str, dict]:
    return {step["key"]: step for step in document.get("steps", []) if isinstance(step, dict) and "key" in step}


def _compare(old: dict, new: dict, keys: tuple[str, ...] | None) -> dict:
    """Added and removed entries (key -> entry), and changed ones (key -> the keys that differ)."""
    changed = {}
    for key in old.keys() & new.keys():
        names = keys or tuple(dict.fromkeys([*old[key], *new[key]]))
        differing = [name for name in names if old[key].get(name) != new[key].get(name)]
        if differing:
            changed[key] = {"old": old[key], "new": new[key], "keys": differing}
    return {
        "added": {key: new[key] for key in new if key not in old},
        "removed": {key: old[key] for key in old if key not in new},
        "changed": {key: changed[key] for key in new if key in changed},
    }


def discard_draft(code: str) -> Process | None:
    """Set the draft back to the latest published document; delete a never-published process.

    Returns the process, or None when it was deleted.
    """
    with database.atomic():
        process = Process.get(Process.code == code)
        latest = (ProcessVersion.select().where(ProcessVersion.process == process)
                  .order_by(ProcessVersion.number.desc()).first())
        if latest is None:
            process.delete_instance()
            return None
        process.draft, process.name = latest.document, latest.document["name"]
        process.draft_updated_at = utcnow()
        process.save()
        return process


def discard_audited(code: str, actor: User) -> Process | None:
    """:func:`discard_draft` with its audit entry (the draft before, the one kept after), in one transaction."""
    with database.atomic():
        before = Process.get(Process.code == code).draft
        kept = discard_draft(code)
        audit.record(actor, "process.discard", f"process:{code}", before, None if kept is None else kept.draft)
    return kept
