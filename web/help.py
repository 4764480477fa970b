"""The customer's help pages, no login (issue 23, docs/kb.md "Self-service"): the public knowledge base.

``/help`` (categories with counts, the latest articles, a search box), ``/help/c/<category>``,
``/help/search?q=``, ``/help/<number>`` with its "was this helpful" answer (a POST with the CSRF token),
and ``/help/suggest?text=``: the web form's partial of articles like the description being typed
(``static/js/help_suggest.js``). What may be shown is decided in ``workflows.kb.public``: published public
articles only, anything else a plain 404. Search and suggestion answers are not indexed by robots.
"""

from __future__ import annotations

import re

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import StringField
from wtforms.validators import AnyOf, InputRequired

from workflows.kb import articles, public
from workflows.tickets import markdown
from workflows.tickets.errors import NotFound

bp = Blueprint("help", __name__)
NOINDEX = {"X-Robots-Tag": "noindex"}
#: An image in a public page: an article's own file (``/kb/<number>/attachments/<key>``, served without a login
#: for a public article, ``workflows.kb.files``) is kept; a ticket's file needs a login, so its alt text is shown.
IMAGE = re.compile(r'<img src="([^"]*)" alt="([^"]*)"[^>]*>')
ARTICLE_FILE = re.compile(r"(?:/[A-Za-z0-9._~-]+)*/kb/KB\d{6,18}/attachments/[A-Za-z0-9_-]{16,64}")
#: ``articles.link`` points at the workspace's /kb/<number>; on a public page it points at /help/<number>.
KB_LINK = re.compile(r'href="(?:/[A-Za-z0-9._~-]+)*/kb/(KB\d{6,18})"')
EXCERPT = 140  # characters of an article's text under its title in a list


@bp.app_template_filter("help_html")
def help_html(body: str) -> Markup:
    """An article's Markdown for the public: sanitised as a note is, a ticket's images as text, KB links public."""
    html = IMAGE.sub(lambda m: m.group(0) if ARTICLE_FILE.fullmatch(m.group(1)) else f"[{m.group(2)}]",
                     markdown.render(body))
    return Markup(KB_LINK.sub(lambda m: f'href="/help/{m.group(1)}"', html))  # noqa: S704  (sanitised by nh3)


@bp.app_template_filter("help_excerpt")
def help_excerpt(body: str) -> str:
    """The start of an article's text, without its markup, for a list."""
    text = " ".join(Markup(markdown.render(body)).striptags().split())
    return text if len(text) <= EXCERPT else text[:EXCERPT].rstrip() + "…"


class VoteForm(FlaskForm):
    """The answer to "was this helpful": ``yes`` or ``no``, from one of two buttons; CSRF-protected."""

    helpful = StringField("helpful", validators=[InputRequired(), AnyOf(("yes", "no"))])


def _client() -> str:
    return public.client_key(request.remote_addr or "unknown", request.headers.get("User-Agent", ""))


def _text(name: str, most: int) -> str:
    """A query argument, trimmed; 400 naming it when longer than ``most``."""
    text = request.args.get(name, "").strip()
    if len(text) > most:
        abort(400, description=gettext("%(field)s: at most %(most)s characters.", field=name, most=most))
    return text


@bp.get("/help")
def index():
    return render_template("help/index.html", categories=public.categories(), latest=public.latest(), q="",
                           forms=public.contact_forms())


@bp.get("/help/c/<kb_category>")
def category(kb_category: str):
    try:
        found, items = public.category(kb_category)
    except NotFound:
        abort(404)
    return render_template("help/category.html", category=found, articles=items, q="")


@bp.get("/help/search")
def search():
    q = _text("q", public.QUERY_LENGTH)
    found = public.search(q) if q else []
    return render_template("help/search.html", q=q, articles=found, forms=public.contact_forms()), 200, NOINDEX


@bp.get("/help/suggest")
def suggest():
    """The web form's partial: up to five public articles like ``text`` (empty body when none)."""
    found = public.suggest(_text("text", public.SUGGEST_TEXT_LENGTH))
    return render_template("help/_suggestions.html", articles=found), 200, {**NOINDEX, "Cache-Control": "no-store"}


def _article_page(article, form: VoteForm, status: int = 200, counted: bool | None = None):
    """The article with its "was this helpful" box: the two buttons, or the client's answer once given."""
    answer = public.answer_of(article, _client())
    labels = articles.category_labels()
    forms = public.contact_forms() if answer is False else []  # not helpful: offer the web forms
    return render_template("help/article.html", article=article, form=form, answer=answer, counted=counted,
                           category_label=labels.get(article.category or "", article.category), q="",
                           forms=forms), status


def _article_or_404(number: str):
    try:
        return public.article(number)
    except NotFound:
        abort(404)


@bp.get("/help/<article_number>")
def article(article_number: str):
    return _article_page(_article_or_404(article_number), VoteForm(formdata=None))


@bp.post("/help/<article_number>/feedback")
def vote(article_number: str):
    """One answer per client: 422 naming ``helpful`` when it is neither yes nor no, 429 past the rate limit."""
    found, form = _article_or_404(article_number), VoteForm()
    if not form.validate():
        return _article_page(found, form, 422)
    if not public.allow_vote(request.remote_addr or "unknown"):
        form.helpful.errors = [gettext("Too many answers from your address; please try again later.")]
        return _article_page(found, form, 429)
    try:
        found, counted = public.vote(article_number, form.helpful.data == "yes", _client())
    except NotFound:
        abort(404)
    return _article_page(found, VoteForm(formdata=None), 200, counted=counted)
