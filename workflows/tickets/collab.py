"""Working together on a ticket: internal notes with @mentions, CC, attachments.

Like every other write, these check the actor's rights here, not in a view.
"""

from __future__ import annotations

from formbuilder import Msg
from formbuilder.messages import N_
from workflows.search import index as search_index
from workflows.storage.db import database
from workflows.storage.models import Attachment, Notification, Ticket, TicketCC, TicketEvent, User
from workflows.subscribers import robots
from workflows.tickets.access import can_act, can_read, oversees
from workflows.tickets.engine import REQUIRED, load
from workflows.tickets.errors import Forbidden, Invalid, NotFound
from workflows.tickets.markdown import MENTION, attachment_keys


def notify(user_id: int, ticket: Ticket, kind: str, message: str) -> None:
    Notification.create(user=user_id, ticket=ticket, kind=kind, message=message)


def _readable(actor: User, number: str) -> Ticket:
    ticket = load(number)
    if not can_read(actor, ticket):
        raise Forbidden(Msg(N_("You may not read this ticket.")))
    return ticket


def add_note(actor: User, number: str, text: str) -> TicketEvent:
    """An internal note (Markdown); each @mentioned user is notified, and CC'd (so they may read it) if the author
    may CC. The author's own unlinked uploads the text links to (pasted into the note box) join the ticket here, in
    the note's transaction: until then only the author may open them (docs/notes.md)."""
    text = (text or "").strip()
    if not text:
        raise Invalid(Msg(N_("Nothing was saved: see the fields.")), {"note": [REQUIRED]})
    with database.atomic():
        ticket = _readable(actor, number)
        event = TicketEvent.create(ticket=ticket, action="note", actor=actor, from_step=ticket.step,
                                   to_step=ticket.step, comment=text)
        _claim_files(actor, ticket, text)
        names = set(MENTION.findall(text)) - {actor.username}
        for user in User.select().where(User.username.in_(names), User.active == True):  # noqa: E712
            if _may_cc(actor, ticket):
                TicketCC.insert(ticket=ticket, user=user).on_conflict_ignore().execute()
            elif not can_read(user, ticket):
                continue  # a mention gives no more than a CC would: only those who may CC open the ticket to others
            notify(user.id, ticket, "mentioned", f"{ticket.number}: @{user.username}")
            robots.queue("mention", ticket, user)
        search_index.reindex_ticket(ticket)  # the note is searchable once it commits, and only then
        return event


def _claim_files(actor: User, ticket: Ticket, text: str) -> None:
    """The author's unlinked uploads the note links to become the ticket's note files (no field)."""
    keys = attachment_keys(text)
    if keys:
        Attachment.update(ticket=ticket).where(Attachment.key.in_(keys), Attachment.uploaded_by == actor,
                                               Attachment.ticket.is_null()).execute()


def _may_cc(actor: User, ticket: Ticket) -> bool:
    """Its handler, its creator and the handler's supervisors decide who else reads a ticket."""
    return can_act(actor, ticket) or actor.id == ticket.creator_id or oversees(actor, ticket.assignee_id)


def add_cc(actor: User, number: str, username: str) -> None:
    """CC a user: they may then read the ticket and are notified."""
    with database.atomic():
        ticket = load(number)
        if not _may_cc(actor, ticket):
            raise Forbidden(Msg(N_("You may not change who is CC'd on this ticket.")))
        user = User.get_or_none(User.username == (username or "").strip(), User.active == True)  # noqa: E712
        if user is None:
            raise Invalid(Msg(N_("Nothing was saved: see the fields.")), {"cc": [Msg(N_("No such active user."))]})
        if TicketCC.insert(ticket=ticket, user=user).on_conflict_ignore().execute():
            TicketEvent.create(ticket=ticket, action="cc", actor=actor, from_step=ticket.step, to_step=ticket.step,
                               comment=user.username)
            notify(user.id, ticket, "cc", f"{ticket.number}: CC")


def attachment_for(reader: User, key: str) -> Attachment:
    """An attachment the reader may download: its ticket is readable and its field visible (a note's file, with no
    field, goes with the notes: every reader of the ticket)."""
    from workflows.tickets.access import visible_fields

    attachment = Attachment.get_or_none(Attachment.key == key)
    if attachment is None:
        raise NotFound(Msg(N_("No such attachment.")))
    if attachment.ticket_id is None:
        if attachment.uploaded_by_id != reader.id:
            raise Forbidden(Msg(N_("You may not download this file.")))
        return attachment
    ticket = load(attachment.ticket.number)
    readable = can_read(reader, ticket)
    if attachment.field is None and readable:
        return attachment
    fields = visible_fields(reader, ticket) if readable else set()
    if fields is not None and attachment.field not in fields:
        raise Forbidden(Msg(N_("You may not download this file.")))
    return attachment


def move_notes(source: Ticket, target: Ticket) -> int:
    """A merge's move: the notes of ``source`` and the files on them (no field) go to ``target``.

    Field attachments stay: they are values of the merged ticket's fields, which stay readable there.
    Returns how many notes moved (the merge's history row says so).
    """
    moved = (TicketEvent.update(ticket=target)
             .where(TicketEvent.ticket == source, TicketEvent.action == "note").execute())
    Attachment.update(ticket=target).where(Attachment.ticket == source, Attachment.field.is_null()).execute()
    return moved
