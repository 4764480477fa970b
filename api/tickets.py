"""Tickets: create, read, list (keyset pages) and act."""

from __future__ import annotations

from flask import g, jsonify, request
from flask_babel import gettext

from formbuilder import Msg
from formbuilder.messages import N_
from workflows.reporting.queries import Filters, ticket_list
from workflows.storage.models import Ticket
from workflows.tickets import engine
from workflows.tickets.access import can_read
from workflows.tickets.errors import Forbidden
from workflows.tickets.present import summary, ticket_view

from . import body, bp, field

PAGE = 50


def _view(ticket: Ticket):
    return ticket_view(g.api_user, engine.load(ticket.number), gettext("Closed"))


@bp.post("/tickets")
def create_ticket():
    payload = body()
    ticket = engine.create(
        g.api_user, field(payload, "process", str, True), field(payload, "data", dict) or {},
        priority=field(payload, "priority", str), customer=field(payload, "customer", dict),
        channel=field(payload, "channel", str), transition=field(payload, "transition", str),
        assignee=field(payload, "assignee", str))
    return jsonify(_view(ticket)), 201


def _readable(number: str) -> Ticket:
    ticket = engine.load(number)
    if not can_read(g.api_user, ticket):
        raise Forbidden(Msg(N_("You may not read this ticket.")))
    return ticket


@bp.get("/tickets/<number>")
def get_ticket(number: str):
    return jsonify(ticket_view(g.api_user, _readable(number), gettext("Closed")))  # loaded once, not again


@bp.post("/tickets/<number>/actions")
def act(number: str):
    payload = body()
    ticket = engine.act(
        g.api_user, number, field(payload, "action", str, True), version=field(payload, "version", int, True),
        data=field(payload, "data", dict), transition=field(payload, "transition", str),
        assignee=field(payload, "assignee", str), comment=field(payload, "comment", str))
    if not can_read(g.api_user, ticket):
        return jsonify(number=ticket.number, status=ticket.status, version=ticket.version)
    return jsonify(_view(ticket))


@bp.get("/tickets")
def list_tickets():
    args = request.args
    filters = Filters(status=args.get("status"), process=args.get("process"), q=args.get("q"),
                      tag=args.get("tag") or None)
    page = ticket_list(g.api_user, args.get("scope", "mine"), filters, args.get("cursor"), page_size=PAGE)
    names, closed = page.usernames(), gettext("Closed")
    return jsonify(items=[summary(t, names, closed) for t in page.tickets], next_cursor=page.next_cursor)
