"""Customers: look a caller up by phone and read their ticket history.

The rule is the web's (``workflows.queries.customer_visible``): whoever
registers calls looks any customer up; anyone else only the customers of
tickets they may read. A customer one may not see answers 404, like an
unknown one, so ids cannot be probed.
"""

from __future__ import annotations

from flask import g, jsonify, request
from flask_babel import gettext

from formbuilder import Msg
from formbuilder.messages import N_
from workflows.errors import EngineError, NotFound
from workflows.models import Customer
from workflows.present import stamp, summary
from workflows.queries import Filters, customer_visible, readable_list

from . import Malformed, bp

PAGE = 50
LOOKUP_LIMIT = 50  # one phone is normally one customer; the limit only bounds a shared number


def customer_json(customer: Customer) -> dict:
    return {"id": customer.id, "name": customer.name, "phone": customer.phone,
            "created_at": stamp(customer.created_at)}


@bp.get("/customers")
def lookup():
    phone = (request.args.get("phone") or "").strip()
    if not phone:
        raise Malformed(Msg(N_("%(name)s: wrong or missing value."), {"name": "phone"}),
                        {"phone": [Msg(N_("This field is required."))]})
    rows = Customer.select().where(Customer.phone == phone).order_by(Customer.id).limit(LOOKUP_LIMIT)
    return jsonify([customer_json(c) for c in rows if customer_visible(g.api_user, c.id)])


@bp.get("/customers/<int:customer_id>")
def customer(customer_id: int):
    """The customer and one page (newest first) of their tickets that the caller may read."""
    # An id past SQLite's 64-bit INTEGER cannot exist, and the driver would raise OverflowError (a 500).
    found = Customer.get_or_none(Customer.id == customer_id) if customer_id < 2**63 else None
    if found is None or not customer_visible(g.api_user, customer_id):
        raise NotFound(Msg(N_("No customer %(id)s."), {"id": customer_id}))
    try:
        page = readable_list(g.api_user, Filters(customer=customer_id), request.args.get("cursor"), PAGE)
    except EngineError as error:  # only the cursor can be wrong here
        raise EngineError(error.msg, {"cursor": [error.msg]}) from None
    names, closed = page.usernames(), gettext("Closed")
    return jsonify({**customer_json(found), "tickets": [summary(t, names, closed) for t in page.tickets],
                    "next_cursor": page.next_cursor})
