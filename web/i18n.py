"""Language: Chinese (zh_Hans_CN) or English, from a chosen cookie or Accept-Language.

formbuilder returns untranslated ``Msg`` values; ``render`` translates them
here, in the request's locale, with the same catalog as the templates.
"""

from __future__ import annotations

import os
from functools import lru_cache

from babel.support import Translations
from flask import Blueprint, redirect, request, url_for
from flask_babel import Babel, get_locale, gettext

LOCALES = {"zh": "zh_Hans_CN", "en": "en"}
COOKIE = "lang"
TRANSLATIONS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "translations")

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


def cli_gettext(lang: str | None = None):
    """gettext for the command line, from ``--lang`` or LANGUAGE/LC_ALL/LANG."""
    lang = lang or os.environ.get("LANGUAGE") or os.environ.get("LC_ALL") or os.environ.get("LANG") or "en"
    return _catalog(LOCALES["zh"] if lang.lower().startswith("zh") else "en").gettext


@lru_cache(maxsize=2)
def _catalog(locale: str) -> Translations:
    return Translations.load(TRANSLATIONS, [locale])


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
