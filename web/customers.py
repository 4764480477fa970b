"""The customer page (/customers/<id>): details, phones, history (历史工单), edit and merge.

The history lists the tickets the user may read, newest first, in keyset pages.
Agents, supervisors and admins edit (fields, add or remove a phone);
supervisors and admins merge another customer into this one. Every write is
one transaction in ``workflows.people.customers`` (audited there), CSRF-checked by the
app's CSRFProtect; a refused write re-renders the page with each message at its
field. A merged-away customer's page redirects to the kept one.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, NumberRange

from workflows.people import customer_emails, customers, phones
from workflows.reporting.queries import Filters, customer_visible, readable_list
from workflows.storage.models import Customer
from workflows.tickets.errors import Invalid

from .common.labels import PRIORITIES
from .common.lists import page_or_abort, rows

bp = Blueprint("customers", __name__)
FIELDS = ("name", "email", "company", "level", "region", "notes")


@bp.app_template_filter("phone")
def phone_filter(stored: str | None) -> str:
    """A stored phone as people read it (138 0013 8000, 010 8888 6666; docs/phones.md)."""
    return phones.display(stored)


class CustomerForm(FlaskForm):
    """The edit form; values are checked once, by ``customers.save_customer``, which names each field."""

    name = StringField(_l("Customer name"))
    email = StringField(_l("E-mail"))
    company = StringField(_l("Company"))
    level = SelectField(_l("Level"), choices=[SelectChoice(code, _l(label)) for code, label in
                                              customers.LEVELS.items()])
    region = StringField(_l("Region"))
    notes = TextAreaField(_l("Notes"))
    phone = StringField(_l("Add a phone"), description=_l(
        "Any spelling: spaces, dashes, +86, 00 and an extension after 转 or ext. are understood."))


class MergeForm(FlaskForm):
    other = IntegerField(_l("Customer number to merge into this one"),
                         validators=[DataRequired(), NumberRange(min=1, max=2**62)])


def visible_or_404(customer_id: int) -> Customer:
    """The customer, if the user may see it; unknown and hidden look the same (ids cannot be probed)."""
    customer = Customer.get_or_none(Customer.id == customer_id) if customer_id < 2**63 else None
    if customer is None or not customer_visible(current_user.user, customer_id):
        abort(404)
    return customer


def page(customer: Customer, edit: CustomerForm | None = None, merge: MergeForm | None = None, status: int = 200):
    """The page with its history; forms only for the roles that may use them."""
    role = current_user.user.role
    if edit is None and role in customers.EDITORS:
        edit = CustomerForm(formdata=None, data={name: getattr(customer, name) for name in FIELDS})
    if merge is None and role in customers.MERGERS:
        merge = MergeForm(formdata=None)
    history = page_or_abort(lambda cursor, size: readable_list(current_user.user, Filters(customer=customer.id),
                                                                cursor, size))
    here = url_for("customers.detail", customer_id=customer.id)
    next_url = url_for("customers.detail", customer_id=customer.id, cursor=history.next_cursor)
    return render_template(
        "customers/detail.html", customer=customer, phones=customers.phones_of(customer), levels=customers.LEVELS,
        emails=customer_emails.emails_of(customer),
        edit=edit if role in customers.EDITORS else None, merge=merge if role in customers.MERGERS else None,
        rows=rows(history, gettext("Closed")), priorities=PRIORITIES,
        first_url=here if request.args.get("cursor") else None,
        next_url=next_url if history.next_cursor else None), status


def show_errors(form: FlaskForm, error: Invalid) -> None:
    """Each message at its field; one with no field of this form goes to the top of the page."""
    for name, messages in error.fields.items():
        target = form[name] if name in form else None
        rendered = [m.render(gettext) for m in messages]
        if target is not None:
            target.errors = [*target.errors, *rendered]
        else:
            flash(" ".join(rendered))


def _done(customer_id: int, message: str):
    """After a write: the message flashed, back to the customer's page."""
    flash(message)
    return redirect(url_for("customers.detail", customer_id=customer_id))


@bp.route("/customers/<int:customer_id>")
@login_required
def detail(customer_id: int):
    customer = visible_or_404(customer_id)
    if customer.merged_into_id:
        return redirect(url_for("customers.detail", customer_id=customers.resolve(customer).id))
    return page(customer)


def kept_or_404(customer_id: int, roles: tuple) -> Customer:
    """The customer a write targets: visible, not merged away, and the user's role allowed (else 403)."""
    customer = visible_or_404(customer_id)
    if current_user.user.role not in roles:
        abort(403)
    if customer.merged_into_id:
        abort(404)
    return customer


@bp.post("/customers/<int:customer_id>")
@login_required
def edit(customer_id: int):
    customer = kept_or_404(customer_id, customers.EDITORS)
    form = CustomerForm()
    if not form.validate():
        return page(customer, edit=form, status=422)
    try:
        customers.update(current_user.user, customer, add=form.phone.data,
                         **{name: form[name].data for name in FIELDS})
    except Invalid as error:
        show_errors(form, error)
        return page(Customer.get_by_id(customer_id), edit=form, status=422)
    return _done(customer_id, gettext("Customer saved."))


@bp.post("/customers/<int:customer_id>/phones/remove")
@login_required
def remove_phone(customer_id: int):
    customer = kept_or_404(customer_id, customers.EDITORS)
    try:
        customers.update(current_user.user, customer, remove=request.form.get("phone", ""))
    except Invalid as error:
        flash(error.msg.render(gettext))
        return page(Customer.get_by_id(customer_id), status=422)
    return _done(customer_id, gettext("Phone removed."))


@bp.post("/customers/<int:customer_id>/merge")
@login_required
def merge(customer_id: int):
    keep = kept_or_404(customer_id, customers.MERGERS)
    form = MergeForm()
    drop = Customer.get_or_none(Customer.id == form.other.data) if form.validate() else None
    if drop is None and not form.errors:
        form.other.errors = [gettext("No customer %(id)s.", id=form.other.data)]
    if drop is None:
        return page(keep, merge=form, status=422)
    try:
        customers.merge(keep, drop, current_user.user)
    except Invalid as error:
        show_errors(form, error)
        return page(Customer.get_by_id(customer_id), merge=form, status=422)
    return _done(customer_id, gettext("Customer #%(id)s merged into this one.", id=drop.id))
