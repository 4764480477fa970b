"""Bulk actions (assign, transfer, tag, wait, resume, close): the engine's one-ticket actions, ticket by ticket.

Nothing here decides who may do what: each ticket is one engine call (``engine.act``, or
``tags.add`` for a tag), so each is its own transaction with its own history event, and a
ticket the engine refuses (not its handler, a step that does not allow it, a required field
still empty, changed since the list was read) keeps its state and gets the engine's reason,
while the others stay done. The pages (``web/bulk.py``) and any other caller share this.
"""

from __future__ import annotations

from dataclasses import dataclass

from formbuilder import Msg
from formbuilder.messages import N_
from workflows.storage.db import database
from workflows.storage.models import User
from workflows.tickets import engine, tags
from workflows.tickets.errors import EngineError, Forbidden

ACTIONS = ("assign", "transfer", "tag", "wait", "resume", "close")
MOST = 100  # tickets in one request: two list pages' worth


@dataclass
class Outcome:
    """One selected ticket and what became of it: ``error`` None means done (``changed`` False: nothing to do)."""

    number: str
    error: EngineError | None = None
    changed: bool = True

    @property
    def messages(self) -> list[Msg]:
        """The engine's message, then each field's, as the ticket page shows them."""
        if self.error is None:
            return []
        return [self.error.msg, *(m for found in self.error.fields.values() for m in found)]


def _tag(actor: User, number: str, options: dict) -> bool:
    """Tag one ticket through ``tags.add`` (its right, its ``tag`` event); False when it held the tag already.

    A tag does not change the ticket (no version bump), so a ticket changed since the list was read
    is tagged all the same; the right is asked first, so nobody learns of a ticket they may not touch.
    """
    with database.atomic():
        ticket = engine.load(number)
        if not tags.may_tag(actor, ticket):
            raise Forbidden(Msg(N_("You may not change the tags of this ticket.")))
        return tags.add(ticket, options.get("tag") or "", actor)


def one(actor: User, action: str, number: str, version: int | None, options: dict) -> Outcome:
    """One ticket in its own transaction; the engine's refusal becomes the outcome's error."""
    try:
        if action == "tag":
            return Outcome(number, changed=_tag(actor, number, options))
        engine.act(actor, number, action, version=version, **options)
    except EngineError as error:
        return Outcome(number, error)
    return Outcome(number)


def run(actor: User, action: str, pairs: list[tuple[str, int | None]], options: dict) -> list[Outcome]:
    """``action`` on each (number, version) in turn: one outcome per ticket, in the order given.

    ``options``: ``comment`` (all), ``assignee`` (assign, transfer), ``until`` (wait), ``tag`` (tag).
    """
    if action not in ACTIONS:
        raise ValueError(action)
    allowed = {"comment", "assignee"} if action in ("assign", "transfer") else {"comment"}
    allowed |= {"until"} if action == "wait" else {"tag"} if action == "tag" else set()
    given = {k: v for k, v in options.items() if k in allowed}
    return [one(actor, action, number, version, given) for number, version in pairs]
