"""Translations outside a request: the command line's ``gettext`` from ``--lang`` or the environment.

The catalog is the one the web pages use (``translations/``); it lives here,
below the views, so the CLI, mail intake and backup need nothing from ``web``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import lru_cache

from babel.support import Translations

LOCALES = {"zh": "zh_Hans_CN", "en": "en"}
TRANSLATIONS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "translations")


def cli_gettext(lang: str | None = None) -> Callable[[str], str]:
    """gettext for the command line, from ``--lang`` or LANGUAGE/LC_ALL/LANG."""
    lang = lang or os.environ.get("LANGUAGE") or os.environ.get("LC_ALL") or os.environ.get("LANG") or "en"
    return _catalog(LOCALES["zh"] if lang.lower().startswith("zh") else "en").gettext


@lru_cache(maxsize=2)
def _catalog(locale: str) -> Translations:
    return Translations.load(TRANSLATIONS, [locale])
