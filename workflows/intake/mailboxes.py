"""The admin's side of IMAP mailboxes (docs/imap.md): saved with their audit entry, one transaction each.

The password is what the worker logs in with, so it is stored as typed; it never reaches the audit log
(entries say only whether it changed) nor any page: the form leaves it empty, and an empty password on
an existing mailbox keeps the stored one.
"""

from __future__ import annotations

from dataclasses import dataclass

from workflows.intake import imap
from workflows.storage import audit
from workflows.storage.db import database
from workflows.storage.models import Mailbox, Process, User, utcnow

FIELDS = ("name", "host", "port", "security", "username", "folder", "after", "move_to", "process", "active",
          "poll_every")


@dataclass
class Settings:
    """What the admin form gives; ``password`` None or empty keeps the stored one."""

    name: str
    host: str
    port: int
    security: str
    username: str
    folder: str
    after: str
    move_to: str | None
    process: str | None
    active: bool
    poll_every: int
    password: str | None = None


def snapshot(mailbox: Mailbox) -> dict:
    """What the audit log keeps of a mailbox: everything but the password."""
    return {key: getattr(mailbox, key) for key in FIELDS}


def published_processes() -> list[tuple[str, str]]:
    """(code, name) of every process with a published version: the choices for new tickets."""
    rows = Process.select(Process.code, Process.name).where(Process.latest_version > 0).order_by(Process.code)
    return [(row.code, row.name) for row in rows]


def name_taken(name: str, mailbox: Mailbox | None) -> bool:
    query = Mailbox.select().where(Mailbox.name == name)
    if mailbox is not None:
        query = query.where(Mailbox.id != mailbox.id)
    return query.exists()


def save(actor: User, mailbox: Mailbox | None, settings: Settings) -> Mailbox:
    """Create (``mailbox`` None) or update a mailbox, audited; a new or re-enabled one is due at once."""
    with database.atomic():
        before = snapshot(mailbox) if mailbox else None
        target = mailbox or Mailbox()
        for key in FIELDS:
            setattr(target, key, getattr(settings, key))
        if settings.password:
            target.password = settings.password
        if mailbox is None or (settings.active and not before["active"]):
            target.next_poll_at = utcnow()
        target.save()
        after = {**snapshot(target), "password_changed": bool(settings.password and mailbox)}
        audit.record(actor, "mailbox.update" if mailbox else "mailbox.create", f"mailbox:{target.id}", before, after)
    return target


def try_connection(mailbox: Mailbox) -> str | None:
    """Log in and select the folder (and the move target), read nothing; None when it works, else the error."""
    try:
        with imap.connect(mailbox) as client:
            if mailbox.after == "move" and mailbox.move_to and not client.folder.exists(mailbox.move_to):
                return f"the folder {mailbox.move_to} does not exist"
    except imap.CONNECTION_ERRORS as error:
        return imap.problem(error, mailbox)
    return None
