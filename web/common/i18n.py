"""Language: Chinese (zh_Hans_CN) or English, from a chosen cookie or Accept-Language.

formbuilder returns untranslated ``Msg`` values; ``render`` translates them
here, in the request's locale, with the same catalog as the templates (the
command line's translator is ``workflows.i18n.cli_gettext``).
"""

from __future__ import annotations

from flask import Blueprint, redirect, request, url_for
from flask_babel import Babel, get_locale, gettext

from workflows.i18n import LOCALES, TRANSLATIONS

COOKIE = "lang"

bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    chosen = request.cookies.get(COOKIE)
    if chosen in LOCALES:
        return LOCALES[chosen]
    best = request.accept_languages.best_match(list(LOCALES), default="zh")
    return LOCALES[best]


def render(message) -> str:
    """A formbuilder ``Msg`` or ``Problem`` in the current request's language."""
    return message.render(gettext)


@bp.route("/lang/<code>")
def switch(code: str):
    """The language switch: remembered in a cookie, then back where the user was."""
    target = request.referrer if request.referrer and request.referrer.startswith(request.host_url) else None
    response = redirect(target or url_for("home.index"))
    if code in LOCALES:
        response.set_cookie(COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response


def init_app(app) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", LOCALES["zh"])
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", TRANSLATIONS)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai")
    Babel(app, locale_selector=select_locale)
    app.jinja_env.globals.update(lz_msg=render, get_locale=get_locale)
    app.register_blueprint(bp)
