"""The designer's edits of a draft, kept verbatim for undo and redo (issue 20).

Each designer edit records the draft before and after it in the edit's own transaction. The
audit entry holds them too, but as JSON values (PostgreSQL's JSONB reorders keys, and the order
of ``properties`` is the form's order); an undo must put back exactly what was there.
"""

from __future__ import annotations

from datetime import timedelta

from workflows.storage.models import DraftEdit, Process, User, utcnow

KEEP_DAYS = 7  # older rows are of no page still open


def record(code: str, actor: User, before: dict, after: dict) -> int:
    """Keep one edit's drafts and drop this process's week-old ones; the new row's id."""
    process = Process.get(Process.code == code)
    DraftEdit.delete().where(DraftEdit.process == process,
                             DraftEdit.created_at < utcnow() - timedelta(days=KEEP_DAYS)).execute()
    return DraftEdit.create(process=process, actor=actor, before=before, after=after).id


def mine(edit_id: int, code: str, actor: User) -> DraftEdit | None:
    """Edit ``edit_id`` if it is ``actor``'s on process ``code``, else None."""
    edit = DraftEdit.get_or_none(DraftEdit.id == edit_id)
    if edit is None or edit.process.code != code or edit.actor_id != actor.id:
        return None
    return edit
