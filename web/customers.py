"""A customer's history (历史工单): their tickets the user may read, newest first, in keyset pages."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required

from workflows.models import Customer
from workflows.queries import Filters, customer_visible, readable_list

from .home import page_or_abort, rows
from .labels import PRIORITIES

bp = Blueprint("customers", __name__)


@bp.route("/customers/<int:customer_id>")
@login_required
def detail(customer_id: int):
    customer = Customer.get_or_none(Customer.id == customer_id)
    if customer is None or not customer_visible(current_user.user, customer_id):
        abort(404)
    filters = Filters(customer=customer_id)
    page = page_or_abort(lambda cursor, size: readable_list(current_user.user, filters, cursor, size))
    here = url_for("customers.detail", customer_id=customer_id)
    return render_template("customers/detail.html", customer=customer, rows=rows(page, gettext("Closed")),
                           priorities=PRIORITIES, first_url=here if request.args.get("cursor") else None,
                           next_url=url_for("customers.detail", customer_id=customer_id, cursor=page.next_cursor)
                           if page.next_cursor else None)
