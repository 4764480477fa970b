"""Customers: look a caller up by phone (any spelling), read their ticket history, edit them.

The rule is the web's (``workflows.reporting.queries.customer_visible``): whoever
registers calls looks any customer up; anyone else only the customers of
tickets they may read. A customer one may not see answers 404, like an
unknown one, so ids cannot be probed. A merged-away customer answers as the
one it was merged into. Edits (agents and above) go through
``workflows.people.customers.update``: one transaction, audited.
"""

from __future__ import annotations

from flask import g, jsonify, request
from flask_babel import gettext

from formbuilder import Msg
from formbuilder.messages import N_
from workflows.people import customers
from workflows.reporting.queries import Filters, customer_by_phone, customer_visible, readable_list
from workflows.storage.models import Customer
from workflows.tickets.errors import EngineError, NotFound
from workflows.tickets.present import stamp, summary

from . import Malformed, bp
from .bodies import body

PAGE = 50


def customer_json(customer: Customer) -> dict:
    return {"id": customer.id, "name": customer.name, "phone": customer.phone, "phones": customers.phones_of(customer),
            "email": customer.email, "company": customer.company, "level": customer.level,
            "region": customer.region, "notes": customer.notes, "created_at": stamp(customer.created_at)}


def visible_or_404(customer_id: int) -> Customer:
    """The (kept) customer, if the caller may see it; unknown and hidden answer alike."""
    # An id past SQLite's 64-bit INTEGER cannot exist, and the driver would raise OverflowError (a 500).
    found = Customer.get_or_none(Customer.id == customer_id) if customer_id < 2**63 else None
    found = customers.resolve(found)
    if found is None or not customer_visible(g.api_user, found.id):
        raise NotFound(Msg(N_("No customer %(id)s."), {"id": customer_id}))
    return found


@bp.get("/customers")
def lookup():
    phone = (request.args.get("phone") or "").strip()
    if not phone:
        raise Malformed(Msg(N_("%(name)s: wrong or missing value."), {"name": "phone"}),
                        {"phone": [Msg(N_("This field is required."))]})
    found = customer_by_phone(g.api_user, phone)  # a phone names at most one customer
    return jsonify([customer_json(found)] if found else [])


@bp.get("/customers/<int:customer_id>")
def customer(customer_id: int):
    """The customer and one page (newest first) of their tickets that the caller may read."""
    found = visible_or_404(customer_id)
    try:
        page = readable_list(g.api_user, Filters(customer=found.id), request.args.get("cursor"), PAGE)
    except EngineError as error:  # only the cursor can be wrong here
        raise EngineError(error.msg, {"cursor": [error.msg]}) from None
    names, closed = page.usernames(), gettext("Closed")
    return jsonify({**customer_json(found), "tickets": [summary(t, names, closed) for t in page.tickets],
                    "next_cursor": page.next_cursor})


def changes(payload: dict) -> dict:
    """The edit a ``CustomerEdit`` body asks for (its schema took known keys of text or null): null clears."""
    return {name: value or "" for name, value in payload.items()}


@bp.patch("/customers/<int:customer_id>")
def edit(customer_id: int):
    """Change some fields and/or add and remove one phone (agents and above); answers the customer."""
    found = visible_or_404(customer_id)
    edits = changes(body())
    if "level" in edits and not edits["level"]:
        edits["level"] = "normal"
    customers.update(g.api_user, found, add=edits.pop("add_phone", None), remove=edits.pop("remove_phone", None),
                     **edits)
    return jsonify(customer_json(Customer.get_by_id(found.id)))
