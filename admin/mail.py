"""E-mail in the admin: the three customer templates (with a preview) and the outbox log with "retry now".

Template text is admin-authored and rendered by :func:`workflows.subscribers.mail.render`, which
only substitutes the fixed placeholders; a brace group that is not one is refused
here so the admin sees it rather than the customer. Every change is one transaction
with its audit entry, made by :mod:`workflows.subscribers.mail`. Access is decided by
the admin package's AdminOnly mixin.
"""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_babel import format_datetime, gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from peewee import JOIN, fn
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from workflows.storage.models import EmailMessage, Ticket
from workflows.subscribers import mail

from .common import retry_row

LOG_ROWS = 200
SAMPLE = {"number": "GD202611220001", "status": "处理中", "step": "仓库收货", "process": "退货申请",
          "link": "http://127.0.0.1:5000/p/…", "customer": "张三"}
EVENT_NAMES = {"created": _l("Ticket created"), "step": _l("Ticket entered a selected step"),
               "closed": _l("Ticket closed")}


def placeholders_only(form, field) -> None:
    """Refuse brace groups that are not placeholders: they would reach the customer as typed."""
    wrong = mail.unknown_placeholders(field.data or "")
    if wrong:
        raise ValidationError(_l("Not a placeholder: %(text)s. Use %(names)s.", text=", ".join(wrong),
                                 names=", ".join(f"{{{name}}}" for name in mail.PLACEHOLDERS)))


class TemplateForm(FlaskForm):
    subject = StringField(_l("Subject"), validators=[DataRequired(), Length(max=200), placeholders_only])
    body = TextAreaField(_l("Body"), validators=[DataRequired(), Length(max=20000), placeholders_only],
                         render_kw={"rows": 10})
    sample = StringField(_l("Preview with ticket number"), validators=[Optional(), Length(max=40)])


def sample_ticket(number_text: str | None) -> Ticket | None:
    """The ticket named for the preview, else the newest one; None on an empty database."""
    query = Ticket.select().order_by(Ticket.id.desc())
    if number_text:
        query = query.where(Ticket.number == number_text.strip())
    return query.first()


def preview(form: TemplateForm) -> dict:
    """The rendered subject and body, for a real ticket when there is one, else with sample values."""
    ticket = sample_ticket(form.sample.data)
    if ticket is not None:
        subject, body = mail.compose(ticket, form.subject.data, form.body.data)
    else:
        subject = " ".join(mail.render(form.subject.data, SAMPLE).split())
        body = mail.render(form.body.data, SAMPLE)
    return {"subject": subject, "body": body, "ticket": ticket.number if ticket else None}


class MailView(BaseView):
    @expose("/")
    def index(self):
        templates = {event: mail.template(event) for event in mail.TEMPLATE_EVENTS}
        counts = dict(EmailMessage.select(EmailMessage.status, fn.COUNT(EmailMessage.id))
                      .group_by(EmailMessage.status).tuples())
        return self.render("admin/mail.html", templates=templates, names=EVENT_NAMES, counts=counts,
                           statuses=mail.STATUSES)

    @expose("/templates/<event>", methods=("GET", "POST"))
    def template(self, event: str):
        if event not in mail.TEMPLATE_EVENTS:
            abort(404)
        if request.method == "GET":
            subject, body = mail.template(event)
            return self._page(event, TemplateForm(formdata=None, data={"subject": subject, "body": body}))
        form = TemplateForm()
        if not form.validate_on_submit():
            return self._page(event, form), 422
        if "preview" in request.form:
            return self._page(event, form, preview(form))
        mail.save_template(current_user.user, event, form.subject.data.strip(), form.body.data)
        flash(gettext("E-mail template saved."), "success")
        return redirect(url_for(".index"))

    def _page(self, event: str, form: TemplateForm, shown: dict | None = None):
        return self.render("admin/mail_template.html", event=event, name=EVENT_NAMES[event], form=form,
                           preview=shown, placeholders=mail.PLACEHOLDERS)

    @expose("/outbox")
    def outbox(self):
        status = request.args.get("status") if request.args.get("status") in mail.STATUSES else None
        query = (EmailMessage.select(EmailMessage, Ticket).join(Ticket, on=EmailMessage.ticket == Ticket.id,
                                                                join_type=JOIN.LEFT_OUTER)
                 .order_by(EmailMessage.id.desc()).limit(LOG_ROWS))
        if status:
            query = query.where(EmailMessage.status == status)
        return self.render("admin/mail_outbox.html", rows=list(query), status=status, statuses=mail.STATUSES,
                           limit=LOG_ROWS, format_datetime=format_datetime)

    @expose("/outbox/<message_id>/retry", methods=("POST",))
    def retry(self, message_id: str):
        said = (gettext("E-mail queued: the worker sends it on its next round."),
                gettext("This e-mail is being sent or was sent already."))
        return retry_row(EmailMessage, message_id, mail.retry_audited, said, ".outbox",
                         status=request.args.get("status"))
