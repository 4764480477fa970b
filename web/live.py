"""``GET /live``: the stamps an open page polls for, with an ETag, so an unchanged answer is a 304.

Conditional polling rather than server-sent events (docs/live.md, with the
measured cost per idle user): every answer is a few indexed reads of the
database, so any gunicorn sync worker on any host answers, and nothing is
held open. The query names what the page shows: ``inbox=1`` (the menu's
badge), ``list=<the workspace's query string>``, ``ticket=<number>``. A GET
changes nothing, so it needs no CSRF token.
"""

from __future__ import annotations

import hashlib
import json
from urllib.parse import parse_qsl

from flask import Blueprint, abort, current_app, make_response, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from workflows.reporting import live
from workflows.reporting.queries import SORTS
from workflows.tickets.errors import EngineError, Forbidden

from .common.lists import PAGE, FilterForm

bp = Blueprint("live", __name__)
POLL_MS = 15_000  # the first interval; LIVE_POLL_MS overrides it (tests poll faster)
POLL_MAX_MS = 60_000  # an unchanged answer stretches the interval by half, up to this (LIVE_POLL_MAX_MS)
CHOICES = ("type", "step", "tag")  # filters whose choices are read from the database


def _filters(args: MultiDict):
    """The workspace's filter form over the page's query string, as ``web/home.py`` reads it."""
    form = FilterForm(formdata=args)
    if any(args.get(name) for name in CHOICES):  # only a chosen one needs the choices to validate against
        form.fill_choices()
    else:
        for name in CHOICES:
            getattr(form, name).choices = [("", "")]
    form.validate()
    return form.filters(), form.sort.data if form.sort.data in SORTS else "newest"


def _list(text: str) -> dict:
    """The list stamp of the workspace page whose query string is ``text``; 403/400 as the page would be."""
    if len(text) > 2000:
        abort(400, description=gettext("list is too long."))
    args = MultiDict(parse_qsl(text))
    filters, sort = _filters(args)
    try:
        return live.list_stamp(current_user.user, args.get("scope", "mine"), filters, sort, args.get("cursor"), PAGE)
    except Forbidden:
        abort(403)
    except EngineError as error:
        abort(400, description=error.msg.render(gettext))


def stamps() -> dict:
    """What the query asks for, each part only if asked."""
    user, body = current_user.user, {}
    if request.args.get("inbox"):
        body["inbox"] = live.inbox(user.id)
    if "list" in request.args:
        body["list"] = _list(request.args["list"])
    if number := request.args.get("ticket"):
        body["ticket"] = live.ticket_stamp(user, number[:40])
    return body


@bp.get("/live")
@login_required
def poll():
    body = json.dumps(stamps(), ensure_ascii=False, sort_keys=True).encode()
    response = make_response(body)
    response.mimetype = "application/json"
    response.cache_control.private = True
    response.cache_control.no_cache = True  # always revalidate: a stale stamp would hide a change
    response.set_etag(hashlib.blake2s(body, digest_size=12).hexdigest())
    return response.make_conditional(request)


def settings() -> dict:
    """What base.html's ``<meta name="lz-live">`` tells static/js/live.js."""
    return {"url": url_for("live.poll"), "ms": int(current_app.config.get("LIVE_POLL_MS", POLL_MS)),
            "max_ms": int(current_app.config.get("LIVE_POLL_MAX_MS", POLL_MAX_MS))}


def list_baseline(rows, counts: dict) -> str:
    """The list stamp of the rows a page renders (``web.common.lists.Row``), as JSON for a data attribute."""
    return json.dumps(live.rendered_list([row.ticket for row in rows], counts), sort_keys=True)


def init_app(app) -> None:
    app.jinja_env.globals.update(lz_live=settings, lz_live_list=list_baseline, lz_live_ticket=live.ticket_state)
    app.register_blueprint(bp)
