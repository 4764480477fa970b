"""Suggestions as the description is typed, and closing with a solution (issue 23, docs/kb.md).

``GET /suggest?text=&ticket=`` answers the panel's list (an HTML fragment): knowledge-base articles the
reader may read and similar closed tickets they may open, each with only the fields they may see
(``workflows.kb.suggest``). static/js/suggest.js asks it as the agent types on the call page and the
ticket page and inserts an article's link into the note box with one key. The ticket page's panel also
chooses the ticket's solution (``POST /tickets/NUMBER/solution``) or drafts a new article from the
ticket (``POST /tickets/NUMBER/solution/new``); ``/reports/solutions`` counts tickets per article.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required

from workflows.kb import solutions
from workflows.kb import suggest as suggesting
from workflows.storage.models import Ticket, User
from workflows.tickets import engine
from workflows.tickets.access import can_read, may_act
from workflows.tickets.errors import EngineError, Forbidden, NotFound

from .calls import excerpt, status_of

bp = Blueprint("suggest", __name__)
TYPED = 200  # characters of typed text read, as the ticket search reads a query


def me() -> User:
    return current_user.user


def readable(number: str | None) -> Ticket | None:
    """The ticket ``number`` if ``me()`` may read it (None when not asked); 404 / 403 otherwise."""
    if not number:
        return None
    try:
        ticket = engine.load(number)
    except NotFound:
        abort(404)
    if not can_read(me(), ticket):
        abort(403)
    return ticket


def article_link(article) -> str:
    from workflows.kb.articles import link

    return link(article)


@bp.app_context_processor
def panel_helpers():
    """``kb_panel(ticket)``: what the ticket page's panel offers (templates/kb/_suggest_panel.html)."""
    return {"kb_panel": panel}


def panel(ticket: Ticket | None) -> dict:
    """The solution part of the panel for ``ticket`` (None on the call page): the step's policy, the choice
    so far, whether the reader may choose (acts on the open ticket) and may draft an article (an editor)."""
    if ticket is None:
        return {"policy": None, "solution": None, "choose": False, "draft": False}
    from workflows.kb.articles import is_editor

    policy = solutions.policy(ticket) if ticket.status == "open" else None
    choose = policy is not None and may_act(me(), ticket)
    return {"policy": policy, "solution": solutions.current(ticket), "choose": choose,
            "draft": choose and is_editor(me())}


@bp.get("/suggest")
@login_required
def suggestions():
    """The panel's list as an HTML fragment: articles, then similar closed tickets, for what was typed."""
    ticket = readable(request.args.get("ticket"))
    found, closed = suggesting.suggest(me(), request.args.get("text", "")[:TYPED], ticket=ticket)
    return render_template("kb/_suggest_list.html", articles=found, closed=closed, link=article_link,
                           excerpt=excerpt, status_of=status_of, ticket=ticket, panel=panel(ticket))


@bp.post("/tickets/<number>/solution")
@login_required
def choose(number: str):
    """The article chosen as the ticket's solution (replacing an earlier one); the ticket page again."""
    return _solution(number, lambda: solutions.choose(me(), number, request.form.get("article", "")),
                     lambda chosen: gettext("Solution chosen: %(number)s.", number=chosen.article.number))


@bp.post("/tickets/<number>/solution/new")
@login_required
def draft(number: str):
    """"New article from this ticket": drafted from what the editor sees of it, sent to review, the solution."""
    headings = (gettext("Problem"), gettext("Notes"), gettext("From ticket"))
    return _solution(number, lambda: solutions.from_ticket(me(), number, headings),
                     lambda article: gettext("New article %(number)s from this ticket, sent to review: it is the "
                                             "ticket's solution.", number=article.number))


def _solution(number: str, change, done):
    readable(number)
    try:
        result = change()
    except Forbidden:
        abort(403)
    except EngineError as error:
        flash(" ".join([error.msg.render(gettext)] + [m.render(gettext) for ms in error.fields.values() for m in ms]))
        return redirect(url_for("tickets.detail", number=number))
    flash(done(result))
    return redirect(url_for("tickets.detail", number=number))


@bp.get("/reports/solutions")
@login_required
def report():
    """Tickets per solution article (supervisors: their team's tickets; admins: all)."""
    try:
        rows = solutions.per_article(me())
    except Forbidden:
        abort(403)
    return render_template("kb/_suggest_report.html", rows=rows)
