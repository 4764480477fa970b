"""Webhooks in the admin: endpoints (name, URL, events, active, secret) and the deliveries log.

The secret signs every delivery, so it is shown once, when generated (on creation
and on rotation), and never written to the audit log. Every change is one
transaction with its audit entry, made by :mod:`workflows.subscribers.webhooks`.
Access is decided by the admin package's AdminOnly mixin.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, flash, make_response, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_babel import format_datetime, gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from peewee import fn
from wtforms import BooleanField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from workflows.storage.models import WebhookDelivery, WebhookEndpoint
from workflows.subscribers import webhooks
from workflows.subscribers.webhooks import EVENTS, STATUSES

from .common import number, retry_row

LOG_ROWS = 200


def http_url(form, field) -> None:
    """Only absolute http(s) URLs: no file:, ftp: or relative targets for the worker to open."""
    try:
        parts = urlsplit((field.data or "").strip())
        valid = parts.scheme in ("http", "https") and bool(parts.hostname) and (parts.port or 1) > 0
    except ValueError:
        valid = False
    if not valid:
        raise ValidationError(_l("Enter an http:// or https:// URL."))


def at_least_one(form, field) -> None:
    """Not DataRequired: its ``required`` flag would make the browser demand every checkbox."""
    if not field.data:
        raise ValidationError(_l("Choose at least one event."))


class EndpointForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    url = StringField(_l("URL"), validators=[DataRequired(), Length(max=2000), http_url])
    events = SelectMultipleField(_l("Events"), choices=[SelectChoice(e, e) for e in EVENTS],
                                 validators=[at_least_one],
                                 widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    active = BooleanField(_l("Active (deliveries are sent)"))


def stored(endpoint_id: str) -> WebhookEndpoint:
    return WebhookEndpoint.get_or_none(WebhookEndpoint.id == number(endpoint_id)) or abort(404)


def save(endpoint: WebhookEndpoint | None, form: EndpointForm) -> WebhookEndpoint:
    return webhooks.save_endpoint(current_user.user, endpoint, name=form.name.data.strip(),
                                  url=form.url.data.strip(), events=form.events.data, active=form.active.data)


def _no_store(body) -> object:
    """A page showing a secret must not stay in any cache."""
    response = make_response(body)
    response.headers["Cache-Control"] = "no-store"
    return response


class WebhooksView(BaseView):
    @expose("/")
    def index(self):
        endpoints = list(WebhookEndpoint.select().order_by(WebhookEndpoint.name, WebhookEndpoint.id))
        rows = (WebhookDelivery.select(WebhookDelivery.endpoint, WebhookDelivery.status, fn.COUNT(WebhookDelivery.id))
                .group_by(WebhookDelivery.endpoint, WebhookDelivery.status).tuples())
        counts: dict[int, dict[str, int]] = {}
        for endpoint_id, status, count in rows:
            counts.setdefault(endpoint_id, {})[status] = count
        return self.render("admin/webhooks.html", endpoints=endpoints, counts=counts, statuses=STATUSES)

    @expose("/new", methods=("GET", "POST"))
    def new(self):
        form = EndpointForm(formdata=None, data={"active": True}) if request.method == "GET" else EndpointForm()
        if request.method == "GET" or not form.validate_on_submit():
            return self._page(None, form), 200 if request.method == "GET" else 422
        endpoint = save(None, form)
        flash(gettext("Webhook %(name)s created.", name=endpoint.name), "success")
        return _no_store(self._page(endpoint, EndpointForm(formdata=None, obj=endpoint), endpoint.secret))

    @expose("/<endpoint_id>/", methods=("GET", "POST"))
    def edit(self, endpoint_id: str):
        endpoint = stored(endpoint_id)
        if request.method == "GET":
            return self._page(endpoint, EndpointForm(formdata=None, obj=endpoint))
        form = EndpointForm()
        if not form.validate_on_submit():
            return self._page(endpoint, form), 422
        save(endpoint, form)
        flash(gettext("Webhook %(name)s saved.", name=endpoint.name), "success")
        return redirect(url_for(".index"))

    @expose("/<endpoint_id>/rotate", methods=("POST",))
    def rotate(self, endpoint_id: str):
        """A new secret, effective for every delivery sent from now on (also those already queued)."""
        endpoint = stored(endpoint_id)
        secret = webhooks.rotate_secret(current_user.user, endpoint)
        flash(gettext("A new secret was generated for %(name)s.", name=endpoint.name), "success")
        return _no_store(self._page(endpoint, EndpointForm(formdata=None, obj=endpoint), secret))

    def _page(self, endpoint: WebhookEndpoint | None, form: EndpointForm, secret: str | None = None):
        return self.render("admin/webhook.html", endpoint=endpoint, form=form, secret=secret)

    @expose("/deliveries")
    def deliveries(self):
        status = request.args.get("status") if request.args.get("status") in STATUSES else None
        endpoint_id = request.args.get("hook", type=int)  # not "endpoint": url_for's own argument
        query = (WebhookDelivery.select(WebhookDelivery, WebhookEndpoint).join(WebhookEndpoint)
                 .order_by(WebhookDelivery.id.desc()).limit(LOG_ROWS))
        if status:
            query = query.where(WebhookDelivery.status == status)
        if endpoint_id:
            query = query.where(WebhookDelivery.endpoint == endpoint_id)
        endpoints = list(WebhookEndpoint.select().order_by(WebhookEndpoint.name))
        return self.render("admin/webhook_deliveries.html", rows=list(query), status=status, endpoint_id=endpoint_id,
                           endpoints=endpoints, statuses=STATUSES, limit=LOG_ROWS, format_datetime=format_datetime)

    @expose("/deliveries/<delivery_id>/retry", methods=("POST",))
    def retry(self, delivery_id: str):
        said = (gettext("Delivery queued: the worker sends it on its next round."),
                gettext("This delivery is being sent or was delivered already."))
        return retry_row(WebhookDelivery, delivery_id, webhooks.retry_audited, said, ".deliveries",
                     hook=request.args.get("hook", type=int), status=request.args.get("status"))
