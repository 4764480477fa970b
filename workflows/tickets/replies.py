"""A customer's reply (客户回复) from the progress page: a note for the staff, and the end of a wait.

The progress link (``feedback.PROGRESS`` token) is the customer's only credential, as for
the rating. The reply is written as a note by the channels' system user (staff read it in the
ticket's timeline; the customer never sees notes) and, when the ticket is pending, resumes
it through ``pending.resume_for_customer`` in the same transaction: a reply is never stored
without its resume, nor a resume without its reply. Mail replies take the same path
(``workflows.intake.mailin.append``).
"""

from __future__ import annotations

from datetime import datetime

from formbuilder import Msg
from formbuilder.messages import N_
from workflows.intake import channels
from workflows.storage.db import database
from workflows.storage.models import Notification, Ticket, utcnow
from workflows.tickets import feedback, pending
from workflows.tickets.errors import Conflict, Invalid

TEXT_MAX = 4000
TRIES = 2  # a handler's save between our read and our write: read again once


def checked(text: str | None) -> str:
    """The reply's text, trimmed; Invalid naming ``reply`` when empty or too long."""
    text = (text or "").strip()
    if not text:
        raise Invalid(Msg(N_("Nothing was sent: see the fields.")), {"reply": [Msg(N_("This field is required."))]})
    if len(text) > TEXT_MAX:
        raise Invalid(Msg(N_("Nothing was sent: see the fields.")),
                      {"reply": [Msg(N_("At most %(max)s characters."), {"max": TEXT_MAX})]})
    return text


def check_open(ticket: Ticket) -> None:
    """A closed ticket takes no more replies: the customer is told to open a new request."""
    if ticket.status == "closed":
        raise Conflict(Msg(N_("This ticket is closed; please contact us again for a new request.")))


def customer_note(ticket: Ticket, text: str, now: datetime) -> bool:
    """The reply as a note, its handler told, and a pending ticket resumed; True if it was resumed.

    Runs inside the caller's transaction (the progress page's here, mail intake's in ``mailin``).
    """
    channels.note(ticket, text)
    resumed = pending.resume_for_customer(ticket, now)
    target = ticket.assignee_id or ticket.creator_id
    if target is not None and target != channels.system_user().id:
        Notification.create(user=target, ticket=ticket, kind="reply", message=f"{ticket.number}: customer reply")
    return resumed


def reply(token: str, text: str | None, secret: str | None = None) -> bool:
    """Store the customer's reply to the ticket the progress ``token`` names; True if it resumed the ticket."""
    ticket = feedback.ticket_for(token, feedback.PROGRESS, secret)
    body = checked(text)
    for attempt in range(TRIES):
        try:
            with database.atomic():
                fresh = Ticket.get_by_id(ticket.id)
                check_open(fresh)
                return customer_note(fresh, f"Customer reply (progress page):\n\n{body}", utcnow())
        except Conflict:
            if attempt + 1 == TRIES or Ticket.get_by_id(ticket.id).status == "closed":
                raise
    return False
