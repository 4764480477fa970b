"""Keys from labels, so nobody has to type a field's or a step's key.

The designer names a new field 配件明细 and stores it under ``pei_jian_ming_xi``: Chinese becomes
toneless pinyin (one syllable per character, as ``pypinyin.lazy_pinyin`` reads it), other text is
lower-cased ASCII, everything else an underscore. The result always matches ``editing.KEY`` and is
unique against the keys already taken, so the editor can use it without asking. The same label and
the same taken keys always give the same key.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from pypinyin import lazy_pinyin

from .checks import RESERVED_KEYS
from .editing import KEY

MAX = 64
_NOT_KEY = re.compile(r"[^a-z0-9]+")


def _ascii(text: str) -> str:
    """Latin letters without their accents (Über -> uber); letters of other scripts are dropped."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()


def slug(label: str) -> str:
    """``label`` as lower-case ASCII words joined by ``_``: possibly empty or starting with a digit.

    NFKC first turns full-width letters, digits and brackets (ＡＢ１（元）) into their plain forms.
    """
    words = lazy_pinyin(unicodedata.normalize("NFKC", label or ""))
    return _NOT_KEY.sub("_", "_".join(_ascii(word) for word in words)).strip("_")


def _valid(base: str, fallback: str) -> str:
    """A key matching ``KEY`` from a slug: a digit first gets a prefix, a single letter the fallback."""
    if not base:
        return fallback
    if base[0].isdigit():
        base = f"{fallback[0]}_{base}"
    elif len(base) == 1:
        base = f"{fallback}_{base}"
    return _cut(base, MAX)


def _cut(key: str, length: int) -> str:
    return key[:length].rstrip("_")


def _unique(key: str, taken: set[str]) -> str:
    """``key``, or ``key_2``, ``key_3`` ... the first one free, each cut to fit 64 characters."""
    candidate, n = key, 1
    while candidate in taken:
        n += 1
        suffix = f"_{n}"
        candidate = _cut(key, MAX - len(suffix)) + suffix
    return candidate


def key_for(label: str, taken: Iterable[str], fallback: str = "field") -> str:
    """A key for a field (or anything keyed like one) named ``label``, unused in ``taken``.

    ``fallback`` (itself a valid key) names what has no usable letters (``？？``, ``😀``). Names the
    generated form class uses (``data``, ``errors``, ``process``: check 1) count as taken.
    """
    if not KEY.match(fallback):
        raise ValueError(f"fallback {fallback!r} is not a valid key")
    return _unique(_valid(slug(label), fallback), {*taken, *RESERVED_KEYS})


def step_key_for(name: str, taken: Iterable[str]) -> str:
    """A step key from the step's name (上门维修 -> ``shang_men_wei_xiu``), unused in ``taken``."""
    return key_for(name, taken, "step")
