"""What the customer channels (public web form, e-mail intake) share, and the channels a ticket may name.

Neither has a logged-in person, yet the engine records an actor for every
ticket and event. Both act as one dedicated system user, ``intake``: role
``agent`` (a role that may create tickets) but inactive, so it can never log
in and is never offered or picked as a handler. Its notes are written here
rather than through ``collab.add_note``: that one checks a reader's rights and
turns ``@name`` into CCs, and text typed by a customer must not CC anyone.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from werkzeug.security import generate_password_hash

from formbuilder import Msg
from formbuilder.messages import N_
from workflows.processes import documents as docs
from workflows.storage.db import database
from workflows.storage.models import (
    ChannelSubmission,
    Notification,
    ProcessVersion,
    Ticket,
    TicketEvent,
    User,
    utcnow,
)

SYSTEM_USERNAME = "intake"
SYSTEM_NAME = "客户渠道 (web form / e-mail)"
RATE_LIMIT = (10, 600)  # posts per client address and process, per that many seconds
#: The channels a ticket may come by (web/common/labels.py names them): nothing else is stored.
CODES = ("phone", "online", "form", "email", "api")


def check(channel: object, errors: dict) -> None:
    """A ticket's ``channel``: None or one of CODES, else a message at ``channel`` (engine.create)."""
    if channel is not None and channel not in CODES:
        errors["channel"] = [Msg(N_("Not one of the channels %(codes)s."), {"codes": ", ".join(CODES)})]


def system_user() -> User:
    """The actor of channel tickets, created on first use (safe under concurrent first uses)."""
    user = User.get_or_none(User.username == SYSTEM_USERNAME)
    if user is None:
        # A random password nobody knows; inactive anyway, so login refuses it.
        User.insert(username=SYSTEM_USERNAME, name=SYSTEM_NAME, role="agent", active=False,
                    password_hash=generate_password_hash(secrets.token_hex(32))).on_conflict_ignore().execute()
        user = User.get(User.username == SYSTEM_USERNAME)
    return user


def web_form_version(code: str) -> ProcessVersion | None:
    """The latest published version, if it opted in to the public web form."""
    version = docs.get_version(code)
    if version is None or not (version.document.get("web_form") or {}).get("enabled"):
        return None
    return version


def first_transition(version: ProcessVersion, data: dict) -> str | None:
    """The first step's transition a customer takes: the first one offered for ``data``.

    Customers are not asked to choose; with none offered the engine names the problem.
    """
    spec = docs.compiled(version, version.document["steps"][0]["key"]).spec
    offered = spec.offered(data)
    return offered[0]["to"] if offered else None


def note(ticket: Ticket, text: str, notify: bool = False) -> TicketEvent:
    """A note by the system user; ``notify`` tells whoever holds the ticket (else its creator)."""
    actor = system_user()
    event = TicketEvent.create(ticket=ticket, action="note", actor=actor, from_step=ticket.step,
                               to_step=ticket.step, comment=text)
    target = ticket.assignee_id or (ticket.creator_id if ticket.creator_id != actor.id else None)
    if notify and target is not None:
        Notification.create(user=target, ticket=ticket, kind="email", message=f"{ticket.number}: e-mail")
    return event


def allow(channel: str, process: str, client: str, limit: tuple[int, int] = RATE_LIMIT) -> bool:
    """Record one post and say whether this client is still under the limit.

    The count lives in the database, so it holds across workers and hosts.
    The row is committed before counting: of two racing posts, the later
    count sees both. Rows past the window are pruned on the way.
    """
    count, seconds = limit
    now = utcnow()
    since = now - timedelta(seconds=seconds)
    with database.atomic():
        ChannelSubmission.delete().where(ChannelSubmission.created_at < since).execute()
        ChannelSubmission.create(channel=channel, process=process, client=client[:64], created_at=now)
    recent = ChannelSubmission.select().where(ChannelSubmission.client == client[:64],
                                              ChannelSubmission.process == process,
                                              ChannelSubmission.created_at >= since)
    return recent.count() <= count
