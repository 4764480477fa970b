"""IMAP mailboxes in the admin (``/admin/mailboxes/``): the list with each one's last poll, create, edit, test.

The password is never shown back: the form's password box is always empty, and leaving it empty
keeps the stored password (docs/imap.md). Every change is one transaction with its audit entry, made by
:mod:`workflows.intake.mailboxes`. Access is decided by the admin package's AdminOnly mixin.
"""

from __future__ import annotations

import re

from flask import abort, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_babel import format_datetime, gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from workflows.intake import mailboxes
from workflows.storage.models import Mailbox

from .common import number

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
HOST = re.compile(r"^[A-Za-z0-9.-]{1,253}$|^\[?[0-9A-Fa-f:.]+\]?$")


def host_name(form, field) -> None:
    """A host name or address only: no scheme, port, path or spaces (those belong in other fields)."""
    if not HOST.match((field.data or "").strip()):
        raise ValidationError(_l("Enter a host name such as imap.example.com, without imap:// or a port."))


def local_if_plain(form, field) -> None:
    """No TLS sends the password in clear: only to a server on this host."""
    if field.data == "none" and (form.host.data or "").strip().strip("[]").lower() not in LOOPBACK:
        raise ValidationError(_l("Without SSL/TLS or STARTTLS the password travels in clear: "
                                 "only a server on this host (127.0.0.1, localhost) may use it."))


def move_target(form, field) -> None:
    if form.after.data == "move" and not (field.data or "").strip():
        raise ValidationError(_l("Name the folder that handled messages are moved to."))


class MailboxForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    host = StringField(_l("IMAP server"), validators=[DataRequired(), Length(max=255), host_name])
    port = IntegerField(_l("Port"), default=993, validators=[InputRequired(), NumberRange(min=1, max=65535)])
    security = SelectField(_l("Security"), default="ssl", choices=[
        SelectChoice("ssl", _l("SSL/TLS (port 993)")), SelectChoice("starttls", _l("STARTTLS (port 143)")),
        SelectChoice("none", _l("None (a server on this host only)"))], validators=[local_if_plain])
    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=255)])
    password = PasswordField(_l("Password"), validators=[Optional(), Length(max=255)])
    folder = StringField(_l("Folder"), default="INBOX", validators=[DataRequired(), Length(max=255)])
    after = SelectField(_l("After a message is handled"), default="seen", choices=[
        SelectChoice("seen", _l("Mark it read (\\Seen)")), SelectChoice("move", _l("Move it to a folder"))])
    move_to = StringField(_l("Move to folder"), validators=[Length(max=255), move_target])
    process_code = SelectField(_l("Process for new tickets"), choices=[])  # not "process": a Form method
    poll_every = IntegerField(_l("Poll every (seconds)"), default=60,
                              validators=[InputRequired(), NumberRange(min=10, max=86400)])
    active = BooleanField(_l("Active (the worker polls it)"), default=True)


def form_for(mailbox: Mailbox | None, formdata: bool) -> MailboxForm:
    """The form with the process choices of today; on GET filled from the mailbox, password box empty."""
    form = MailboxForm() if formdata else MailboxForm(formdata=None, obj=mailbox)
    form.process_code.choices = [SelectChoice("", gettext("None: only replies to existing tickets"))] + [
        SelectChoice(code, f"{name} ({code})") for code, name in mailboxes.published_processes()]
    if mailbox is not None and not formdata:
        form.process_code.data = mailbox.process or ""
        form.password.description = gettext("A password is stored and never shown. Leave empty to keep it.")
    return form


def settings(form: MailboxForm) -> mailboxes.Settings:
    text = {key: (getattr(form, key).data or "").strip() for key in ("name", "host", "username", "folder")}
    return mailboxes.Settings(**text, port=form.port.data, security=form.security.data, after=form.after.data,
                              move_to=(form.move_to.data or "").strip() or None, process=form.process_code.data or None,
                              active=form.active.data, poll_every=form.poll_every.data,
                              password=form.password.data or None)


def checked(form: MailboxForm, mailbox: Mailbox | None) -> bool:
    """The form's own validation, then the rules that need the database; each error at its field."""
    if not form.validate_on_submit():
        return False
    problems = {}
    if mailboxes.name_taken(form.name.data.strip(), mailbox):
        problems["name"] = gettext("Another mailbox has this name.")
    if mailbox is None and not form.password.data:
        problems["password"] = gettext("Enter the mailbox's password.")
    for key, message in problems.items():
        getattr(form, key).errors = [*getattr(form, key).errors, message]
    return not problems


def stored(mailbox_id: str) -> Mailbox:
    return Mailbox.get_or_none(Mailbox.id == number(mailbox_id)) or abort(404)


class MailboxesView(BaseView):
    @expose("/")
    def index(self):
        rows = list(Mailbox.select().order_by(Mailbox.name))
        return self.render("admin/mailboxes.html", rows=rows, format_datetime=format_datetime)

    @expose("/new", methods=("GET", "POST"))
    def new(self):
        form = form_for(None, request.method == "POST")
        if request.method == "GET" or not checked(form, None):
            return self._page(None, form), 200 if request.method == "GET" else 422
        mailbox = mailboxes.save(current_user.user, None, settings(form))
        flash(gettext("Mailbox %(name)s created.", name=mailbox.name), "success")
        return redirect(url_for(".index"))

    @expose("/<mailbox_id>/", methods=("GET", "POST"))
    def edit(self, mailbox_id: str):
        mailbox = stored(mailbox_id)
        form = form_for(mailbox, request.method == "POST")
        if request.method == "GET" or not checked(form, mailbox):
            return self._page(mailbox, form), 200 if request.method == "GET" else 422
        mailboxes.save(current_user.user, mailbox, settings(form))
        flash(gettext("Mailbox %(name)s saved.", name=mailbox.name), "success")
        return redirect(url_for(".index"))

    @expose("/<mailbox_id>/test", methods=("POST",))
    def test(self, mailbox_id: str):
        """Log in with the stored settings now; says whether it worked (nothing is read or marked)."""
        mailbox = stored(mailbox_id)
        error = mailboxes.try_connection(mailbox)
        if error is None:
            flash(gettext("Connected to %(name)s: the login and the folder work.", name=mailbox.name), "success")
        else:
            flash(gettext("%(name)s: the connection failed: %(error)s", name=mailbox.name, error=error), "danger")
        return redirect(url_for(".edit", mailbox_id=mailbox.id))

    def _page(self, mailbox: Mailbox | None, form: MailboxForm):
        return self.render("admin/mailbox.html", mailbox=mailbox, form=form, format_datetime=format_datetime)
