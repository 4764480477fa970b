"""The ticket page's relations panel (``templates/tickets/_relations.html``): parent, children, links, merges.

Its forms post to the ticket's one act route (``OPTIONS`` in ``web/tickets.py``); this module only
gives the panel what ``workflows.tickets.children`` says the reader may see and do.
"""

from __future__ import annotations

from flask_babel import gettext
from flask_login import current_user

from workflows.storage.models import Ticket
from workflows.tickets import children
from workflows.tickets.access import may_act

from .tickets import bp


def panel(ticket: Ticket, acting: bool | None = None) -> dict:
    """What the panel shows: the relations, and the spawn entries when the reader may act now.

    ``acting``: the ticket page's own ``may_act`` answer, so that the panel asks no second time.
    """
    reader = current_user.user
    acting = may_act(reader, ticket) if acting is None else acting
    return {**children.relations(reader, ticket, gettext("Closed")), "acting": acting,
            "spawns": list(enumerate(children.spawn_entries(ticket))) if acting else []}


@bp.app_context_processor
def helpers():
    return {"ticket_relations": panel}
