"""Customer pages, no login: rate a closed ticket (``/rate/<token>``) and follow one (``/p/<token>``, with a reply).

The token is the only credential, so every answer is ``no-store`` and
``noindex``, sends no referrer, and a bad token is a plain 404 (nothing tells
a guesser whether a ticket exists). The rules live in ``workflows.tickets.feedback``.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import get_locale, gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from workflows.intake import channels
from workflows.storage.models import Ticket
from workflows.tickets import feedback, replies
from workflows.tickets.errors import Conflict, Invalid, NotFound

bp = Blueprint("public", __name__)
YES_NO = {"zh": ("是", "否"), "en": ("Yes", "No")}


class RatingForm(FlaskForm):
    """1 to 5 stars and a comment; CSRF-protected like every form (the session cookie needs no login)."""

    score = RadioField(_l("Score"), validators=[InputRequired()],
                       choices=[SelectChoice(str(n), f"{'★' * n} ({n})") for n in feedback.SCORES])
    comment = TextAreaField(_l("Comment"), validators=[Length(max=feedback.COMMENT_MAX)])


def private(body: str, status: int = 200):
    """A page only the link's holder should see: not cached, not indexed, no Referer carrying the token."""
    return body, status, {"Cache-Control": "no-store", "X-Robots-Tag": "noindex, nofollow",
                          "Referrer-Policy": "no-referrer"}


def ticket_or_404(token: str, salt: str) -> Ticket:
    try:
        return feedback.ticket_for(token, salt)
    except NotFound:
        abort(404)


def message(ticket: Ticket, title: str, text: str, status: int):
    return private(render_template("public/message.html", ticket=ticket, title=title, text=text), status)


def refused(ticket: Ticket, error: Conflict):
    """Already rated, or not closed yet: 409 with a page saying which."""
    return message(ticket, gettext("Rating"), error.msg.render(gettext), 409)


def form_page(ticket: Ticket, form: RatingForm, status: int = 200):
    return private(render_template("public/rate.html", ticket=ticket, form=form), status)


@bp.route("/rate/<token>", methods=["GET", "POST"])
def rate(token: str):
    ticket = ticket_or_404(token, feedback.RATING)
    try:
        feedback.check_rateable(ticket)
    except Conflict as error:
        return refused(ticket, error)
    form = RatingForm()
    if request.method == "GET":
        return form_page(ticket, form)
    if not form.validate():
        return form_page(ticket, form, 422)
    return save(token, ticket, form)


def save(token: str, ticket: Ticket, form: RatingForm):
    try:
        feedback.rate(token, form.score.data, form.comment.data)
    except Invalid as error:
        for name, messages in error.fields.items():
            getattr(form, name).errors = [m.render(gettext) for m in messages]
        return form_page(ticket, form, 422)
    except Conflict as error:
        return refused(ticket, error)
    return message(ticket, gettext("Thank you!"), gettext("Your rating has been recorded."), 200)


class ReplyForm(FlaskForm):
    """The customer's reply on the progress page; CSRF-protected like the rating (``workflows.tickets.replies``)."""

    reply = TextAreaField(_l("Your reply"), validators=[InputRequired(), Length(max=replies.TEXT_MAX)])


@bp.route("/p/<token>", methods=["GET", "POST"])
def progress(token: str):
    """The progress page; its POST is the customer's reply (a note for the staff; it resumes a pending ticket)."""
    ticket = ticket_or_404(token, feedback.PROGRESS)
    form, status, sent = ReplyForm(), 200, None
    if request.method == "POST":
        form, status, sent = send_reply(token, ticket, form)
        ticket = Ticket.get_by_id(ticket.id)  # as the reply left it
    view = feedback.progress(ticket, YES_NO.get(get_locale().language, YES_NO["en"]))
    return private(render_template("public/progress.html", view=view, form=form, sent=sent), status)


def send_reply(token: str, ticket: Ticket, form: ReplyForm) -> tuple[ReplyForm, int, str | None]:
    """(form, status, message): 422 with the field's error, 409 once closed, 429 past the rate limit."""
    if not form.validate():
        return form, 422, None
    if not channels.allow("reply", ticket.number, request.remote_addr or "unknown"):
        form.reply.errors = [gettext("Too many replies from your address; please try again later.")]
        return form, 429, None
    try:
        replies.reply(token, form.reply.data)
    except Invalid as error:
        form.reply.errors = [m.render(gettext) for m in error.fields.get("reply", [error.msg])]
        return form, 422, None
    except Conflict as error:
        form.reply.errors = [error.msg.render(gettext)]
        return form, 409, None
    return ReplyForm(formdata=None), 200, gettext("Thank you: your reply has reached the people handling your ticket.")


def links(ticket: Ticket) -> dict:
    """For the ticket page: the customer's progress link, the rating link once closed, and the rating given."""
    rating = feedback.rating_of(ticket)
    rate_url = url_for("public.rate", token=feedback.rating_link_token(ticket), _external=True) \
        if feedback.may_rate(ticket, rating) else None
    return {"rating": rating, "rating_url": rate_url,
            "progress_url": url_for("public.progress", token=feedback.progress_token(ticket), _external=True)}
