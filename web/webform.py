"""The public web form (网页表单) at /forms/<process code>: customers open tickets themselves, no login.

Only processes whose latest published version sets ``web_form.enabled`` have
one. It shows the first step's form (as the call page does) plus the
customer's contact details, and hands the submission to ``engine.create``
with channel ``form`` as the system user (``workflows.intake.channels``). Abuse
control without a CAPTCHA: a CSRF token, a honeypot input people never see
(a bot that fills it is told "thank you" and nothing is saved), and a rate
limit per client address and process counted in the database.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import InputRequired, Length, Optional, Regexp, ValidationError

from formbuilder import validate_step
from workflows.intake import channels
from workflows.people import phones, roster
from workflows.processes import documents as docs
from workflows.storage import uploads
from workflows.tickets import engine, feedback
from workflows.tickets.access import unreadable_outside
from workflows.tickets.errors import EngineError

from .common.submit import submit

bp = Blueprint("webform", __name__)
# Contact inputs carry a prefix with a hyphen, which no process field key can hold.
PREFIX = "lz_contact"


class ContactForm(FlaskForm):
    """Who is asking. ``website`` is the honeypot: hidden by CSS, labelled "leave empty"."""

    name = StringField(_l("Your name"), [InputRequired(), Length(max=100)])
    phone = StringField(_l("Phone"), [InputRequired(), Length(max=60)])

    def validate_phone(self, field):
        """Any spelling the call page takes (转 123, full-width digits, +86, 00...), letters refused."""
        try:
            phones.canonical(field.data)
        except phones.PhoneError as error:
            raise ValidationError(gettext(error.msgid, phone=error.text)) from None
    email = StringField(_l("E-mail"), [Optional(), Length(max=200), Regexp(
        r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("Enter an e-mail address."))])
    website = StringField(_l("Website (leave this empty)"))


def _version(code: str):
    version = channels.web_form_version(code)
    if version is None:
        abort(404)
    return version


def _step_form(version, formdata=None):
    first = version.document["steps"][0]["key"]
    return docs.compiled(version, first).form_class(formdata, data={}, dictionaries=docs.dictionary_indexes(),
                                                    unreadable=_unreadable(version))


def _unreadable(version) -> frozenset[str]:
    """The customer is no reader: every field with ``x-readers`` is left out (as the engine answers the system user)."""
    return unreadable_outside(version)


def _page(version, contact, form, status: int = 200, error: str | None = None):
    setting = version.document.get("web_form") or {}
    return render_template("webform/form.html", version=version, contact=contact, form=form, error=error,
                           title=setting.get("title") or version.document["name"], intro=setting.get("intro"),
                           dictionaries=docs.dictionary_indexes()), status


def _thanks(version, ticket=None):
    """The same page for a real ticket and a caught bot, which must not learn it was caught."""
    link = feedback.progress_token(ticket) if ticket is not None else None
    return render_template("webform/thanks.html", version=version, ticket=ticket, progress_token=link), 200


@bp.route("/forms/<code>", methods=["GET", "POST"])
def webform(code: str):
    version = _version(code)
    contact = ContactForm(prefix=PREFIX)
    if request.method == "GET":
        return _page(version, contact, _step_form(version))
    if not channels.allow("form", code, request.remote_addr or "unknown", _limit()):
        body = render_template("webform/message.html", version=version, title=gettext("Too many submissions"),
                               text=gettext("Too many submissions from your address: please try again later."))
        return body, 429, {"Retry-After": str(_limit()[1])}
    if contact.website.data:
        return _thanks(version)
    return _submit(version, contact)


def _limit() -> tuple[int, int]:
    return tuple(current_app.config.get("WEBFORM_RATE_LIMIT", channels.RATE_LIMIT))


def _submit(version, contact):
    """Check everything first so the customer sees every error at once, then create through the engine."""
    compiled, hidden = docs.compiled(version, version.document["steps"][0]["key"]), _unreadable(version)
    ticket, submission = submit(
        compiled, {}, lambda data, files: _create(version, contact, data, files),
        check=lambda sub: validate_step(compiled.spec, {}, sub.placeholders(), docs.dictionary_indexes(),
                                        unreadable=hidden, people=roster.lazy()).errors,
        ready=contact.validate(), refusals=(EngineError,), unreadable=hidden)
    if ticket is None:
        return _page(version, contact, submission.form, 422, submission.message or None)
    return _thanks(version, ticket)


def _create(version, contact, data: dict, files: dict):
    """Ticket, its files and the contact note in one transaction."""
    actor = channels.system_user()
    with uploads.action():  # the note joins the engine's transaction (and its files' cleanup)
        ticket = engine.create(actor, version.document["code"], data, files=files, channel="form",
                               customer={"name": contact.name.data.strip(), "phone": contact.phone.data.strip()},
                               transition=channels.first_transition(version, data))
        # Stored once for every reader, so not in the customer's language (like mail intake's notes).
        text = f"Web form: {contact.name.data.strip()}, {contact.phone.data.strip()}"
        if contact.email.data:
            text += f", e-mail {contact.email.data.strip()}"
        channels.note(ticket, text)
    return ticket
