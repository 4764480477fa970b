"""The live preview of computed fields: what the engine would store, asked while the form is filled.

The page does not evaluate formulas itself: it sends the form to the server, which merges it
into the stored data exactly as a submission would (``validate_step``: read-only and hidden
values stay as stored, fields the reader may not read are hidden) and answers with the computed
fields the reader sees at this step. One evaluator (exact decimals, ``item`` over the current
dictionaries) is the authority for the page as for the stored value (docs/formulas.md).
"""

from __future__ import annotations

from formbuilder import Msg, validate_step
from formbuilder.messages import N_
from workflows.people import roster
from workflows.processes import documents as docs
from workflows.storage.models import ProcessVersion, Ticket, User
from workflows.tickets.access import may_act, may_create, unreadable
from workflows.tickets.errors import Forbidden

REFUSED = Msg(N_("You may not fill this form."))


def computed(spec, stored: dict, submitted: dict, hidden: frozenset[str]) -> dict[str, object]:
    """The computed fields of ``spec``'s step, as the submission would store them, that the reader sees."""
    if not spec.formulas.computed:
        return {}
    outcome = validate_step(spec, stored, submitted, docs.dictionary_indexes(), unreadable=hidden,
                            people=roster.lazy())
    modes = spec.modes(outcome.data, hidden)
    return {name: outcome.data.get(name) for name in spec.formulas.names if modes.get(name, "hidden") != "hidden"}


def for_call(actor: User, version: ProcessVersion, submitted: dict) -> dict[str, object]:
    """The call page's (a new ticket's first step) computed fields; only for those who may create."""
    if not may_create(actor):
        raise Forbidden(REFUSED)
    spec = docs.compiled(version, version.document["steps"][0]["key"]).spec
    return computed(spec, {}, submitted, unreadable(actor, version))


def for_ticket(actor: User, ticket: Ticket, submitted: dict) -> dict[str, object]:
    """The ticket's step form's computed fields; only for those who may act on it now."""
    if not may_act(actor, ticket):
        raise Forbidden(REFUSED)
    spec = docs.compiled(ticket.process_version, ticket.step).spec
    return computed(spec, ticket.data, submitted, unreadable(actor, ticket.process_version))
