"""Tickets: create, read, list (keyset pages) and act."""

from __future__ import annotations

from flask import g, jsonify, request
from flask_babel import gettext
from peewee import JOIN

from formbuilder import Msg
from formbuilder.messages import N_
from workflows import engine
from workflows.access import can_read
from workflows.errors import Forbidden
from workflows.models import Customer, Process, ProcessVersion, Ticket, TicketCC
from workflows.org import team_ids
from workflows.present import summary, ticket_view, usernames

from . import Malformed, body, bp, field

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
    return jsonify(_view(_readable(number)))


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


def _scoped(query, scope: str):
    user = g.api_user
    if scope == "mine":
        cc = TicketCC.select(TicketCC.ticket).where(TicketCC.user == user)
        return query.where((Ticket.assignee == user) | (Ticket.creator == user) | Ticket.id.in_(cc))
    if scope == "team" and user.role in ("supervisor", "admin"):
        team = team_ids(user) or {user.id}
        return query.where(Ticket.assignee.in_(team) | Ticket.creator.in_(team))
    if scope == "all" and user.role == "admin":
        return query
    if scope not in ("mine", "team", "all"):
        raise Malformed(Msg(N_("scope must be mine, team or all.")))
    raise Forbidden(Msg(N_("Your role may not list %(scope)s tickets."), {"scope": scope}))


def _filtered(query):
    args = request.args
    if args.get("status"):
        query = query.where(Ticket.status == args["status"])
    if args.get("process"):
        query = query.where(Process.code == args["process"])
    if args.get("q"):
        text = args["q"].strip()
        query = query.where((Ticket.number == text) | Customer.phone.startswith(text) | Customer.name.contains(text))
    if args.get("cursor"):
        if not args["cursor"].isdigit():
            raise Malformed(Msg(N_("cursor is not valid.")))
        query = query.where(Ticket.id < int(args["cursor"]))
    return query


@bp.get("/tickets")
def list_tickets():
    query = (Ticket.select(Ticket, ProcessVersion).join(ProcessVersion).join(Process)
             .switch(Ticket).join(Customer, JOIN.LEFT_OUTER))
    rows = list(_filtered(_scoped(query, request.args.get("scope", "mine"))).order_by(Ticket.id.desc())
                .limit(PAGE + 1))
    page = rows[:PAGE]
    names = usernames({i for t in page for i in (t.assignee_id, t.creator_id)})
    closed = gettext("Closed")
    return jsonify(items=[summary(t, names, closed) for t in page],
                   next_cursor=str(page[-1].id) if len(rows) > PAGE else None)
