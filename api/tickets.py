"""Tickets: create, read, list (keyset pages) and act."""

from __future__ import annotations

from flask import g, jsonify, request
from flask_babel import gettext

from formbuilder import Msg
from formbuilder.messages import N_
from workflows.reporting.queries import Filters, ticket_list
from workflows.storage.models import Ticket
from workflows.tickets import children, engine, present, signing
from workflows.tickets.access import can_read, known_history
from workflows.tickets.errors import EngineError, Forbidden
from workflows.tickets.present import summary, ticket_view

from . import bp
from .bodies import body

PAGE = 50
MAX_PAGE = 100
CREATE_OPTIONS = ("priority", "customer", "channel", "transition", "assignee")
ACT_OPTIONS = ("data", "transition", "assignee", "comment")
ACT_OPTIONS += ("spawn", "other")  # issue 19: a child ticket's spawn entry, a link's or merge's other ticket
ACT_OPTIONS += ("until",)  # issue 19: a wait's end (workflows/tickets/pending.py)


def _limit(args) -> int:
    """``limit``: rows per page, 1 to ``MAX_PAGE`` (as Redmine's and Zammad's lists take it); ``PAGE`` if absent."""
    text = args.get("limit")
    if text is None:
        return PAGE
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_PAGE:
        problem = Msg(N_("limit must be a whole number from 1 to %(most)s."), {"most": MAX_PAGE})
        raise EngineError(problem, {"limit": [problem]})
    return int(text)


def with_relations(ticket: Ticket, view: dict) -> dict:
    """The ticket's parent, children, links and merges (``children.relations``): no field data of them."""
    return {**view, **children.relations(g.api_user, ticket, gettext("Closed")),
            **signing.present(g.api_user, ticket)}  # a countersign step's signatures and progress


def _view(ticket: Ticket, events: list | None = None):
    """The answer to a create or an action, from the ticket the engine holds after it (issue 24: no reload;
    the engine and the automation rules keep that object as they write the row)."""
    return with_relations(ticket, ticket_view(g.api_user, ticket, gettext("Closed"), events))


@bp.post("/tickets")
def create_ticket():
    """``TicketCreate``; a member sent as null is absent (``data`` then ``{}``)."""
    payload = body()
    ticket = engine.create(g.api_user, payload["process"], payload.get("data") or {},
                           **{name: payload.get(name) for name in CREATE_OPTIONS})
    return jsonify(_view(ticket)), 201


def readable(number: str) -> Ticket:
    """The ticket, if the caller may read it: 403 otherwise (its notes follow the same rule, ``api.collab``)."""
    ticket = engine.load(number)
    if not can_read(g.api_user, ticket):
        raise Forbidden(Msg(N_("You may not read this ticket.")))
    return ticket


@bp.get("/tickets/<number>")
def get_ticket(number: str):
    ticket = readable(number)  # loaded once, not again
    return jsonify(with_relations(ticket, ticket_view(g.api_user, ticket, gettext("Closed"))))


@bp.post("/tickets/<number>/actions")
def act(number: str):
    """``TicketAction``; ``version`` is an integer by the schema, so ``1.0`` reads as ``1`` (equal in JSON)."""
    payload = body()
    try:
        ticket = engine.act(g.api_user, number, payload["action"], version=int(payload["version"]),
                            **{name: payload.get(name) for name in ACT_OPTIONS})
    except EngineError as error:
        raise named_action(error) from None
    events = present.events_of(ticket)  # read once: the answer's history, and whether the actor handled a step
    known_history(g.api_user, ticket, events)
    if not can_read(g.api_user, ticket):
        return jsonify(number=ticket.number, status=ticket.status, version=ticket.version)
    return jsonify(_view(ticket, events))


def named_action(error: EngineError) -> EngineError:
    """The engine's plain 400 (an unknown action) names no field; every error of the API names one."""
    if type(error) is EngineError and not error.fields:
        return EngineError(error.msg, {"action": [error.msg]})
    return error


@bp.get("/tickets")
def list_tickets():
    args = request.args
    filters = Filters(status=args.get("status"), process=args.get("process"), q=args.get("q"),
                      tag=args.get("tag") or None, step=args.get("step") or None)
    page = ticket_list(g.api_user, args.get("scope", "mine"), filters, args.get("cursor"), page_size=_limit(args))
    names, closed = page.usernames(), gettext("Closed")
    return jsonify(items=[summary(t, names, closed) for t in page.tickets], next_cursor=page.next_cursor)
