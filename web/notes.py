"""The note box's endpoints (static/js/notes.js) and the filter that shows a note's Markdown as sanitised HTML.

``POST /tickets/NUMBER/notes/files``: a pasted or dropped file, CSRF-checked like every form
(the script sends the page's token as ``X-CSRFToken``), stored unlinked through the one upload
rule; the answer holds the Markdown to insert. ``GET /tickets/NUMBER/mentions?q=``: the people
the author may @mention there. Both are for readers of the ticket only; the rules live in
``workflows.tickets.notes``.
"""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required
from markupsafe import Markup

from workflows.tickets import markdown, notes
from workflows.tickets.errors import Forbidden, Invalid, NotFound

bp = Blueprint("notes", __name__)


@bp.app_template_filter("note_html")
def note_html(text: str, names=None) -> Markup:
    """A note's Markdown as HTML: rendered and sanitised by ``workflows.tickets.markdown`` (nh3's allow-list)."""
    return Markup(markdown.render(text, names))  # noqa: S704  (sanitised by nh3 in render)


def _refused(error: Exception):
    if isinstance(error, NotFound):
        abort(404)
    abort(403)


@bp.post("/tickets/<number>/notes/files")
@login_required
def upload(number: str):
    """One file (``file``) -> 201 with its key, name, URL and the Markdown to insert; 400 naming ``file`` if refused."""
    try:
        attachment = notes.upload(current_user.user, number, request.files.get("file"))
    except (Forbidden, NotFound) as error:
        _refused(error)
    except Invalid as error:
        problems = [m.render(gettext) for messages in error.fields.values() for m in messages]
        return jsonify(message=" ".join(problems) or error.msg.render(gettext), field="file"), 400
    url = url_for("tickets.download", key=attachment.key)
    return jsonify(key=attachment.key, filename=attachment.filename, url=url,
                   image=attachment.mimetype in markdown.SHOWN_IMAGES,
                   markdown=notes.inserted(attachment, url)), 201


@bp.get("/tickets/<number>/mentions")
@login_required
def mentions(number: str):
    """``[{username, name}]``: whom the reader may @mention on this ticket, matching ``q``."""
    try:
        found = notes.suggestions(current_user.user, number, request.args.get("q", ""))
    except (Forbidden, NotFound) as error:
        _refused(error)
    response = jsonify([{"username": s.username, "name": s.name} for s in found])
    response.cache_control.no_store = True  # people's names: kept by no cache
    return response
