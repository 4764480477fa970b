"""Webhooks in the admin: endpoints (name, URL, events, active, secret) and the deliveries log.

The secret signs every delivery, so it is shown once, when generated (on creation
and on rotation), and never written to the audit log: audit entries hold the
name, the URL (any password in it masked), the events and the active flag.
Every change is one transaction with its audit entry. Access is decided by the
admin package's AdminOnly mixin.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit, urlunsplit

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

from workflows.storage import audit
from workflows.storage.db import database
from workflows.storage.models import WebhookDelivery, WebhookEndpoint
from workflows.subscribers.webhooks import EVENTS, STATUSES, retry_now

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


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def masked(url: str) -> str:
    """The URL without the password of any ``user:password@`` part, for the audit log."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def snapshot(endpoint: WebhookEndpoint) -> dict:
    """What the audit log keeps of an endpoint: everything but the secret."""
    return {"name": endpoint.name, "url": masked(endpoint.url), "events": list(endpoint.events or []),
            "active": endpoint.active}


def record(action: str, endpoint: WebhookEndpoint, before: object, after: object) -> None:
    audit.record(current_user.user, action, f"webhook:{endpoint.id}", before, after)


def number(text: str) -> int:
    """Ids arrive as plain path segments (not ``<int:>``), so a malformed one meets the access rule, then 404."""
    return int(text) if text.isascii() and text.isdigit() else abort(404)


def stored(endpoint_id: str) -> WebhookEndpoint:
    return WebhookEndpoint.get_or_none(WebhookEndpoint.id == number(endpoint_id)) or abort(404)


def _fill(endpoint: WebhookEndpoint, form: EndpointForm) -> None:
    endpoint.name, endpoint.url = form.name.data.strip(), form.url.data.strip()
    endpoint.events = [e for e in EVENTS if e in form.events.data]  # canonical order
    endpoint.active = bool(form.active.data)


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
        with database.atomic():
            endpoint = WebhookEndpoint(secret=new_secret())
            _fill(endpoint, form)
            endpoint.save()
            record("webhook.create", endpoint, None, snapshot(endpoint))
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
        with database.atomic():
            before = snapshot(endpoint)
            _fill(endpoint, form)
            endpoint.save()
            record("webhook.update", endpoint, before, snapshot(endpoint))
        flash(gettext("Webhook %(name)s saved.", name=endpoint.name), "success")
        return redirect(url_for(".index"))

    @expose("/<endpoint_id>/rotate", methods=("POST",))
    def rotate(self, endpoint_id: str):
        """A new secret, effective for every delivery sent from now on (also those already queued)."""
        endpoint = stored(endpoint_id)
        with database.atomic():
            endpoint.secret = new_secret()
            endpoint.save()
            record("webhook.rotate_secret", endpoint, None, None)
        flash(gettext("A new secret was generated for %(name)s.", name=endpoint.name), "success")
        return _no_store(self._page(endpoint, EndpointForm(formdata=None, obj=endpoint), endpoint.secret))

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
        delivery = WebhookDelivery.get_or_none(WebhookDelivery.id == number(delivery_id)) or abort(404)
        with database.atomic():
            if retry_now(delivery.id):
                record("webhook.retry", delivery.endpoint, None, {"delivery": delivery.uuid})
                flash(gettext("Delivery queued: the worker sends it on its next round."), "success")
            else:
                flash(gettext("This delivery is being sent or was delivered already."), "warning")
        return redirect(url_for(".deliveries", hook=request.args.get("hook", type=int),
                                status=request.args.get("status")))
