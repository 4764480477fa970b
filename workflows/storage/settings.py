"""Admin settings: small JSON values by key, read where they apply and changed with an audit entry.

Keys in use:

- ``tags.free`` (bool, default False): whether users may make up tags of their own.
- ``calls.processes`` (list of process codes, default unset): the call page's ticket types in order
  (``workflows.processes.calltypes``; unset: every published process by name).
"""

from __future__ import annotations

import copy

from workflows.storage import audit, generation
from workflows.storage.db import database
from workflows.storage.models import Setting, User, utcnow

FREE_TAGS = "tags.free"


def get(key: str, default: object = None) -> object:
    """The stored value, or ``default`` when the admin never set one."""
    value = _all().get(key)
    return default if value is None else copy.deepcopy(value)  # the kept one is shared: a caller may change theirs


def _all() -> dict[str, object]:
    """Every setting: kept per configuration stamp (``storage.generation``; ``setting`` renews it)."""
    return generation.cached("settings", lambda: dict(Setting.select(Setting.key, Setting.value).tuples()))


def put(key: str, value: object, actor: User | None) -> None:
    """Store ``value`` and audit the change; joins the caller's transaction. No entry when nothing changes."""
    with database.atomic():
        row = Setting.get_or_none(Setting.key == key)
        before = None if row is None else row.value
        if row is not None and before == value:
            return
        if row is None:
            Setting.create(key=key, value=value)
        else:
            Setting.update(value=value, updated_at=utcnow()).where(Setting.id == row.id).execute()
        audit.record(actor, "setting.update", f"setting:{key}", {key: before}, {key: value})
