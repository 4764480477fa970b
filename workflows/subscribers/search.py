"""Keep the search index in step with every engine action, inside the action's transaction.

An action changes a ticket's fields and history (comments); a relation action (spawn,
link, unlink, merge) also writes a history row on the other ticket, and a merge moves the
notes. Their index rows are rewritten here, so a search sees what was committed and a
rolled-back action leaves the index as it was (docs/search.md).
"""

from __future__ import annotations

from workflows.search import index
from workflows.storage.models import TicketEvent

RELATIONS = ("spawn", "link", "unlink", "merge")  # actions that also write on another ticket
WHOLE = ("create", *RELATIONS)  # actions after which every part is read again (customer, notes, files)


def on_action(acted) -> None:
    """Reindex the acted ticket (only its changed parts are rewritten), and the others a relation touched.

    An action that changed fields rewrites their parts from the ticket in hand (``index.reindex_fields``),
    and with a comment the notes part in the same upsert (``index.notes_terms``: one read); a new ticket
    is indexed from the ticket in hand (``index.index_created``), reading nothing.
    """
    if acted.action not in WHOLE:
        notes = {index.NOTES: index.notes_terms(acted.ticket.id)} if acted.record.comment else None
        if index.reindex_fields(acted.ticket, (acted.record.diff or {}).keys(), notes):
            return
    if acted.action == "create" and index.index_created(acted.ticket, acted.record.comment):
        return
    ids = {acted.ticket.id}
    if acted.action in RELATIONS:
        others = TicketEvent.select(TicketEvent.ticket).where(TicketEvent.action == acted.action,
                                                              TicketEvent.created_at == acted.at,
                                                              TicketEvent.actor == acted.actor.id)
        ids |= {t for (t,) in others.tuples()}
        ids |= {i for i in (acted.ticket.merged_into_id, acted.ticket.parent_id) if i}
    index.reindex(ids)
