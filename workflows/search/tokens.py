"""Text to index terms, the same for what is stored and what is asked (pure: no database).

Chinese has no spaces, so a word tokeniser needs a dictionary (jieba) that misses
product names and shop talk; Lucene's CJKAnalyzer instead indexes every two
adjacent CJK characters (退货单 -> 退货, 货单), which finds any two-character
query without a dictionary. A CJK run of one character stays a unigram. Latin
letters and digits form lowercased words. NFKC first, so full-width ＡＢＣ１２３
and half-width katakana fold to their usual forms. The databases then index the
terms joined by spaces (SQLite FTS5 ``unicode61``, PostgreSQL ``to_tsvector('simple')``),
so neither engine's own word rules decide what a Chinese word is.
"""

from __future__ import annotations

import re
import unicodedata

# Han (with extensions and compatibility ideographs), kana, Hangul: the scripts written without spaces.
_CJK = (r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
        r"\U00020000-\U0002fa1f")
RUNS = re.compile(rf"([{_CJK}]+)|([^\W_{_CJK}]+)")
MAX_WORD = 64  # longer "words" (hashes, base64) are noise to an index and a risk to its size


def normal(text: str) -> str:
    """NFKC and lower case: what both the index and the query see."""
    return unicodedata.normalize("NFKC", text or "").lower()


def runs(text: str) -> list[list[str]]:
    """The terms of ``text`` grouped by run: a CJK run's bigrams (or its one character), or one word.

    A query turns each group into a phrase, so 洗衣机 asks for 洗衣 followed by 衣机.
    """
    found: list[list[str]] = []
    for cjk, word in RUNS.findall(normal(text)):
        if cjk:
            found.append([cjk] if len(cjk) == 1 else [cjk[i:i + 2] for i in range(len(cjk) - 1)])
        elif len(word) <= MAX_WORD:
            found.append([word])
    return found


def terms(text: str) -> list[str]:
    """Every index term of ``text`` in order (repeats kept: they are positions)."""
    return [term for group in runs(text) for term in group]


def joined(text: str) -> str:
    """The terms as the one space-separated string the databases index."""
    return " ".join(terms(text))
