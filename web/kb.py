"""The workspace's knowledge base (issue 23, docs/kb.md): ``/kb`` (list and search), ``/kb/new``,
``/kb/<kb_number>`` (read), ``/kb/<kb_number>/edit`` (edit, submit, publish, archive, files, versions).

Who may read or change what, and every write with its version and audit entry, is
``workflows.kb``; a refusal answers its status (422 naming the field on the form, 403, 404, 409
for a stale version or a move from the wrong status). Every POST carries the CSRF token. The body
is shown through the notes' Markdown sanitiser (``note_html``). An article's files are served at
``/kb/<kb_number>/attachments/<attachment_key>`` to whoever may read the article, without a login for a
published public one (the public help pages show its images).
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from workflows.kb import articles, files
from workflows.kb.search import search_articles
from workflows.storage import uploads
from workflows.storage.models import User
from workflows.tickets.errors import Conflict, EngineError, Forbidden, Invalid, NotFound

bp = Blueprint("kb", __name__, url_prefix="/kb")
QUERY_LENGTH = 200
MOVES = ("submit", "publish", "archive")
STATUS_LABELS = {"draft": _l("Draft"), "review": _l("In review"), "published": _l("Published"),
                 "archived": _l("Archived")}


class ArticleForm(FlaskForm):
    """What an editor types; the rules (lengths, known category, tags) are ``workflows.kb.articles``'."""

    title = StringField(_l("Title"))
    body = TextAreaField(_l("Body (Markdown)"))
    category = SelectField(_l("Category"), validate_choice=False)
    tags = StringField(_l("Tags"), description=_l("Separated by commas."))
    visibility = SelectField(_l("Visibility"), choices=[SelectChoice("internal", _l("Internal: staff only")),
                                                        SelectChoice("public", _l("Public: also on the help pages"))])
    version = HiddenField()


class MoveForm(FlaskForm):
    version = HiddenField()


def me() -> User | None:
    return current_user.user if current_user.is_authenticated else None


def _staff_only() -> User:
    if not articles.is_staff(me()):
        abort(403)
    return me()


def _article(number: str):
    try:
        return articles.get(me(), number)
    except NotFound:
        abort(404)


def _form(article=None, formdata=None) -> ArticleForm:
    form = ArticleForm(formdata=formdata, obj=None)
    form.category.choices = [SelectChoice("", gettext("(none)"))] + [
        SelectChoice(code, label) for code, label in articles.category_labels().items()]
    if article is not None and formdata is None:
        form.title.data, form.body.data, form.category.data = article.title, article.body, article.category or ""
        form.tags.data, form.visibility.data = ", ".join(article.tags or []), article.visibility
        form.version.data = str(article.version)
    return form


def _refused(form: ArticleForm, error: Invalid) -> None:
    """Each field's messages on the field (``form`` for those the form has no field of)."""
    for key, messages in error.fields.items():
        field = getattr(form, key, None) or form.title
        field.errors = list(field.errors or []) + [m.render(gettext) for m in messages]


def _values(form: ArticleForm) -> dict:
    return {"title": form.title.data or "", "body": form.body.data or "", "category": form.category.data or None,
            "tags": form.tags.data or "", "visibility": form.visibility.data}


def _version(text: str | None) -> int:
    try:
        return int(text or "")
    except ValueError:
        abort(400, description=gettext("%(field)s: a whole number.", field="version"))


@bp.get("")
@login_required
def index():
    """Published articles the reader may read (editors: every status), or the matches of ``q``."""
    user, q = _staff_only(), request.args.get("q", "").strip()
    if len(q) > QUERY_LENGTH:
        abort(400, description=gettext("%(field)s: at most %(most)s characters.", field="q", most=QUERY_LENGTH))
    status = request.args.get("status", "")
    if status and status not in articles.STATUSES:
        abort(400, description=gettext("%(field)s: unknown value.", field="status"))
    category = request.args.get("category") or None
    found = (search_articles(user, q, limit=50, category=category) if q
             else articles.listing(user, status=status or None, category=category))
    return render_template("kb/index.html", articles=found, status_labels=STATUS_LABELS, q=q, status=status,
                           category=category or "", labels=articles.category_labels(), editor=articles.is_editor(user))


@bp.route("/new", methods=("GET", "POST"))
@login_required
def new():
    user = _staff_only()
    if not articles.is_editor(user):
        abort(403)
    form = _form(formdata=request.form if request.method == "POST" else None)
    if request.method == "POST" and form.validate():
        try:
            article = articles.create(user, **_values(form))
        except Invalid as error:
            _refused(form, error)
        else:
            flash(gettext("Article %(number)s saved as a draft.", number=article.number))
            return redirect(url_for("kb.edit", kb_number=article.number))
    status = 422 if request.method == "POST" else 200
    return render_template("kb/edit.html", form=form, article=None, versions=[], files=[],
                           status_labels=STATUS_LABELS), status


@bp.get("/<kb_number>")
@login_required
def read(kb_number: str):
    user = _staff_only()
    article = _article(kb_number)
    return render_template("kb/article.html", article=article, link=articles.link(article), status_labels=STATUS_LABELS,
                           labels=articles.category_labels(), editor=articles.is_editor(user))


def _edit_page(article, form: ArticleForm, status: int = 200):
    user = me()
    moves = [m for m in MOVES if article.status in articles.MOVES[m][0] and user.role in articles.MOVES[m][2]]
    return render_template("kb/edit.html", form=form, article=article, moves=moves, status_labels=STATUS_LABELS,
                           move_form=MoveForm(formdata=None),
                           versions=articles.versions(user, article.number), files=files.files_of(article),
                           inserted=files.inserted), status


def _editor_of(kb_number: str):
    """The signed-in editor and the article: 404 for an article they may not read, 403 for a non-editor."""
    user = _staff_only()
    article = _article(kb_number)
    if not articles.is_editor(user):
        abort(403)
    return user, article


@bp.route("/<kb_number>/edit", methods=("GET", "POST"))
@login_required
def edit(kb_number: str):
    user, article = _editor_of(kb_number)
    if request.method == "GET":
        return _edit_page(article, _form(article))
    form = _form(article, request.form)
    if not form.validate():
        return _edit_page(article, form, 422)
    try:
        article = articles.edit(user, article.number, expected_version=_version(form.version.data), **_values(form))
    except Invalid as error:
        _refused(form, error)
        return _edit_page(article, form, 422)
    except Conflict as error:
        form.version.data = str(article.version)
        form.title.errors = [error.msg.render(gettext)]
        return _edit_page(articles.get(user, article.number), form, 409)
    flash(gettext("Article %(number)s saved (version %(version)s).", number=article.number, version=article.version))
    return redirect(url_for("kb.edit", kb_number=article.number))


def _move(action, kb_number: str):
    """Submit for review, publish or archive; the version the page showed must still be the current one."""
    user, article = _editor_of(kb_number)
    form = MoveForm()
    try:
        article = action(user, article.number, expected_version=_version(form.version.data))
    except (Forbidden, Conflict) as error:
        abort(error.status, description=error.msg.render(gettext))
    except EngineError:
        abort(404)
    flash(gettext("Article %(number)s is now %(status)s.", number=article.number,
                  status=str(STATUS_LABELS[article.status])))
    return redirect(url_for("kb.edit", kb_number=article.number))


@bp.post("/<kb_number>/submit")
@login_required
def submit(kb_number: str):
    return _move(articles.submit, kb_number)


@bp.post("/<kb_number>/publish")
@login_required
def publish(kb_number: str):
    return _move(articles.publish, kb_number)


@bp.post("/<kb_number>/archive")
@login_required
def archive(kb_number: str):
    return _move(articles.archive, kb_number)


@bp.post("/<kb_number>/files")
@login_required
def upload(kb_number: str):
    user, article = _editor_of(kb_number)
    try:
        attachment = files.upload(user, article.number, request.files.get("file"))
    except Forbidden:
        abort(403)
    except NotFound:
        abort(404)
    except Invalid as error:
        problems = " ".join(m.render(gettext) for found in error.fields.values() for m in found)
        if _wants_json():
            return jsonify(message=problems, field="file"), 400
        abort(400, description="file: " + problems)
    if _wants_json():  # static/js/kb_editor.js: a pasted or dropped file, its Markdown put at the caret
        return jsonify(key=attachment.key, filename=attachment.filename, url=files.url(article, attachment),
                       markdown=files.inserted(article, attachment)), 201
    flash(gettext("File %(name)s added: copy its Markdown into the body.", name=attachment.filename))
    return redirect(url_for("kb.edit", kb_number=article.number))


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@bp.get("/<kb_number>/attachments/<attachment_key>")
def download(kb_number: str, attachment_key: str):
    """No login needed: the rule is the article's (a published public one's files are anyone's)."""
    try:
        return uploads.send(files.attachment_for(me(), kb_number, attachment_key), current_app.config["UPLOAD_DIR"])
    except NotFound:
        abort(404)
