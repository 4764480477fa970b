"""Knowledge-base articles (issue 23, docs/kb.md): list and search, read, create, edit, submit, publish, archive.

Who may read or write, the checks of each field, the version guard and the audit entries are
``workflows.kb``; this module turns JSON into those calls and their answers into JSON. An
article the caller may not read answers 404, like an unknown one, so numbers cannot be probed.
A token speaks for its user, so a customer never has one: the API's readers are staff, and
``internal`` articles are theirs; the public reads through the help pages.
"""

from __future__ import annotations

from flask import g, jsonify, request

from formbuilder import Msg
from formbuilder.messages import N_
from workflows.kb import articles
from workflows.kb.search import search_articles
from workflows.storage.models import Article, ArticleVersion
from workflows.tickets.errors import Forbidden
from workflows.tickets.present import stamp, usernames

from . import Malformed, bp
from .bodies import body

LIMIT, MOST = 50, 200
QUERY_LENGTH = 200


def summary_json(article: Article) -> dict:
    return {"number": article.number, "title": article.title, "category": article.category,
            "tags": list(article.tags or []), "visibility": article.visibility, "status": article.status,
            "version": article.version, "updated_at": stamp(article.updated_at),
            "published_at": stamp(article.published_at)}


def article_json(article: Article) -> dict:
    names = usernames({i for i in (article.author_id, article.published_by_id) if i})
    return {**summary_json(article), "body": article.body, "author": names.get(article.author_id),
            "published_by": names.get(article.published_by_id), "created_at": stamp(article.created_at),
            "link": articles.link(article), "helpful_yes": article.helpful_yes, "helpful_no": article.helpful_no}


def version_json(version: ArticleVersion) -> dict:
    return {"version": version.version, "title": version.title, "body": version.body, "category": version.category,
            "tags": list(version.tags or []), "visibility": version.visibility, "status": version.status,
            "editor": version.editor.username, "created_at": stamp(version.created_at)}


def _bad(name: str, msgid: str, **values):
    return Malformed(Msg(N_("%(name)s: wrong or missing value."), {"name": name}), {name: [Msg(msgid, values)]})


def _limit() -> int:
    text = request.args.get("limit", "")
    if not text:
        return LIMIT
    if not text.isdigit() or not 1 <= int(text) <= MOST:
        raise _bad("limit", N_("A whole number from 1 to %(most)s."), most=MOST)
    return int(text)


def _arguments() -> tuple[str, str | None, str | None]:
    q, status = request.args.get("q", "").strip(), request.args.get("status") or None
    if len(q) > QUERY_LENGTH:
        raise _bad("q", N_("At most %(most)s characters."), most=QUERY_LENGTH)
    if status is not None and status not in articles.STATUSES:
        raise _bad("status", N_("status must be draft, review, published or archived."))
    return q, status, request.args.get("category") or None


@bp.get("/articles")
def list_articles():
    q, status, category = _arguments()
    limit = _limit()
    found = (search_articles(g.api_user, q, limit=limit, category=category) if q
             else articles.listing(g.api_user, status=status, category=category, limit=limit))
    return jsonify([summary_json(a) for a in found])


def _given(payload: dict) -> dict:
    """The members sent with a value: null is read as absent (an empty ``category`` clears it)."""
    return {key: value for key, value in payload.items() if value is not None}


def _may_edit() -> None:
    """Before the body is read: a caller who may not write learns 403 whatever they sent."""
    if not articles.is_editor(g.api_user):
        raise Forbidden(Msg(N_("Your role may not change knowledge-base articles.")))


@bp.post("/articles")
def create_article():
    _may_edit()
    article = articles.create(g.api_user, **_given(body()))
    return jsonify(article_json(article)), 201


@bp.get("/articles/<kb_number>")
def get_article(kb_number: str):
    return jsonify(article_json(articles.get(g.api_user, kb_number)))


@bp.patch("/articles/<kb_number>")
def edit_article(kb_number: str):
    article = articles.get(g.api_user, kb_number)  # an unreadable article is unknown: 404 before any 403
    _may_edit()
    values = _given(body())
    version = values.pop("version")
    return jsonify(article_json(articles.edit(g.api_user, article.number, expected_version=version, **values)))


@bp.get("/articles/<kb_number>/versions")
def article_versions(kb_number: str):
    return jsonify([version_json(v) for v in articles.versions(g.api_user, kb_number)])


def _move(action, kb_number: str):
    article = articles.get(g.api_user, kb_number)
    _may_edit()
    payload = body() if request.get_data() else {}
    return jsonify(article_json(action(g.api_user, article.number, expected_version=payload.get("version"))))


@bp.post("/articles/<kb_number>/submit")
def submit_article(kb_number: str):
    return _move(articles.submit, kb_number)


@bp.post("/articles/<kb_number>/publish")
def publish_article(kb_number: str):
    return _move(articles.publish, kb_number)


@bp.post("/articles/<kb_number>/archive")
def archive_article(kb_number: str):
    return _move(articles.archive, kb_number)
