"""The note box's helpers: files pasted or dropped into a note, and the @mention suggestions.

A pasted file is stored by the one upload rule (``uploads.store``: its type sniffed from
its content, the default allow-list, the size limit) *unlinked*, like the API's
``POST /attachments``: until a note that links to it is saved only its uploader may open
it (``collab.attachment_for``), and ``collab.add_note`` links it to the ticket in the
note's transaction. An upload no note follows is never shown to anyone else and is swept
after a day (``flask --app app uploads sweep``). Only a reader of the ticket may upload
for it: the same people who may write a note there.

The suggestions offer only the people a mention would reach (``collab.add_note``): anyone
active if the author may CC (a mention CCs them), else only those who already read the
ticket; each as username and name, as the ticket page's CC list already shows them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from formbuilder import Msg
from formbuilder.messages import N_
from workflows.intake.channels import SYSTEM_USERNAME
from workflows.people.roster import initials
from workflows.storage import uploads
from workflows.storage.models import Attachment, TicketCC, User
from workflows.tickets import collab
from workflows.tickets.access import can_read
from workflows.tickets.engine import REQUIRED
from workflows.tickets.errors import Invalid
from workflows.tickets.markdown import attachment_markdown

LIMIT = 8  # suggestions shown at once
CHECKED = 60  # at most this many matching people are asked can_read (an author who may not CC)
spelled_as = lru_cache(maxsize=8192)(initials)  # pypinyin per name once per process, not per keystroke


def upload(actor: User, number: str, file) -> Attachment:
    """A file for a note on ticket ``number``: checked and stored unlinked, the author's until a note links it."""
    collab._readable(actor, number)  # first: a stranger learns nothing, not even that a file is missing
    if file is None or not file.filename:
        raise Invalid(Msg(N_("Nothing was saved: see the fields.")), {"file": [REQUIRED]})
    with uploads.action():  # a failed write takes its file with it
        return uploads.store(actor, file, None, "file")


def inserted(attachment: Attachment, url: str) -> str:
    """The Markdown the note box inserts for an upload served at ``url``."""
    return attachment_markdown(attachment.filename, url, attachment.mimetype)


@dataclass(frozen=True)
class Suggestion:
    username: str
    name: str


def suggestions(actor: User, number: str, query: str) -> list[Suggestion]:
    """Who ``actor`` may @mention on ticket ``number`` whose username, name or pinyin initials match ``query``.

    The ticket's own people (handler, creator, CC'd) come first, then by how well they match.
    """
    ticket = collab._readable(actor, number)
    query = (query or "").strip().lower()[:40]
    involved = {ticket.assignee_id, ticket.creator_id, *(u for (u,) in TicketCC.select(TicketCC.user)
                                                          .where(TicketCC.ticket == ticket).tuples())}
    people = (User.select(User.id, User.username, User.name)
              .where(User.active == True, User.id != actor.id, User.username != SYSTEM_USERNAME))  # noqa: E712
    ranked = sorted((rank, user) for user in people for rank in [_rank(user, query, involved)] if rank is not None)
    may_cc = collab._may_cc(actor, ticket)
    found = []
    for _, user in ranked[:CHECKED]:
        if may_cc or can_read(user, ticket):
            found.append(Suggestion(user.username, user.name or user.username))
            if len(found) == LIMIT:
                break
    return found


def _rank(user: User, query: str, involved: set) -> tuple | None:
    """How well ``user`` matches (lower is better), or None: username or initials prefix, else a part of either."""
    name, username = (user.name or "").lower(), user.username.lower()
    spelled = spelled_as(user.name or "") if query.isascii() else ""
    if not query or username.startswith(query) or name.startswith(query) or spelled.startswith(query):
        quality = 0
    elif query in name or query in username or (spelled and query in spelled):
        quality = 1
    else:
        return None
    return (user.id not in involved, quality, username)
