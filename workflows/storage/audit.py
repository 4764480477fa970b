"""The audit log: one :class:`AuditEntry` per admin change.

Call :func:`record` inside the transaction of the change it records, so a
change that fails (and rolls back) leaves no entry behind.
"""

from __future__ import annotations

from workflows.storage import generation
from workflows.storage.db import database
from workflows.storage.models import AuditEntry, User


def record(actor: User | None, action: str, target: str, before: object = None,
           after: object = None) -> AuditEntry:
    """Write one entry; joins the caller's transaction (a savepoint when one is open)."""
    generation.forget()  # a configuration change: this request's next cache use reads the new stamp
    with database.atomic():
        return AuditEntry.create(actor=actor, action=action[:32], target=target[:140], before=before, after=after)
