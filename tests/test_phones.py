"""Phone numbers by libphonenumber (issue 22, docs/phones.md), pure: no database.

Parametrised over ``tests/data/phones/corpus.json``: spellings of 29 real numbers collected from
other projects' fixtures (tests/data/phones/SOURCE.md). Each spelling must give its group's
canonical form, so each group is one customer; letters are refused; short numbers kept.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workflows.people import customers, phones
from workflows.people.phones import PhoneError, canonical, display, normalize, search_prefix

CORPUS = json.loads((Path(__file__).parent / "data" / "phones" / "corpus.json").read_text(encoding="utf-8"))
GROUPS = CORPUS["groups"]
SPELLINGS = [(g["group"], s["text"], g["expected"]) for g in GROUPS for s in g["spellings"]]


def test_the_corpus_covers_what_issue_22_names():
    kinds = {g["kind"] for g in GROUPS}
    assert len(GROUPS) >= 28 and len(SPELLINGS) >= 100
    assert {"mobile", "landline", "400", "800", "00-prefix", "international", "extension", "short"} <= kinds
    assert len({g["expected"] for g in GROUPS}) == len(GROUPS)  # no two numbers share a stored form


@pytest.mark.parametrize(("group", "text", "expected"), SPELLINGS, ids=[f"{g}:{t}" for g, t, _ in SPELLINGS])
def test_each_spelling_gives_its_numbers_canonical_form(group, text, expected):
    assert canonical(text) == expected
    assert customers.normalize_phone(text) == expected  # the alias every caller uses


@pytest.mark.parametrize("group", GROUPS, ids=[g["group"] for g in GROUPS])
def test_the_canonical_form_is_stable_and_fits_the_column(group):
    stored = group["expected"]
    assert canonical(stored) == stored and normalize(stored) == stored and len(stored) <= 32


@pytest.mark.parametrize("text", [r["text"] for r in CORPUS["refused"]])
def test_letters_are_refused_naming_the_phone(text):
    with pytest.raises(PhoneError) as refused:
        canonical(text)
    assert refused.value.msgid == phones.LETTERS and refused.value.text == text
    errors = customers.intake_errors({"phone": text})
    assert list(errors) == ["customer/phone"] and text in errors["customer/phone"][0].render(lambda s: s)


@pytest.mark.parametrize("text", ["12", "+", "--", "1" * 25, "010-8888 6666 转 12345678901", "138*0013*8000"])
def test_what_is_no_number_is_refused_without_blaming_letters(text):
    with pytest.raises(PhoneError) as refused:
        canonical(text)
    assert refused.value.msgid == phones.NOT_A_PHONE
    assert customers.intake_errors({"phone": text}) == {}  # a channel's odd digits are kept, not refused


@pytest.mark.parametrize(("text", "stored"), [
    ("95588", "95588"), ("12345", "12345"), ("110", "110"), ("10086", "10086"), ("+86 95588", "95588"),
    ("0086 95588", "95588"), ("8888 6666", "88886666"), ("8001", "8001"),  # short, local, internal: digits
])
def test_short_and_local_numbers_are_kept_as_dialled(text, stored):
    assert canonical(text) == stored


@pytest.mark.parametrize(("text", "stored"), [
    ("0755-8601 3388-8001", "+8675586013388;ext=8001"),  # a dash after a whole landline
    ("13800138000-123", "+8613800138000;ext=123"),  # after a whole mobile: not glued on
    ("010-8888-6666", "+861088886666"),  # dashes inside the number cut nothing
    ("0755-8601-3388", "+8675586013388"),
    ("010 8888 6666 分机号 66", "+861088886666;ext=66"),
])
def test_extensions(text, stored):
    assert canonical(text) == stored


def test_nothing_typed_is_nothing():
    assert canonical("") == canonical(None) == canonical("  \u3000 ") == normalize(None) == ""


def test_a_lookup_never_raises():
    assert normalize("anonymous") == "anonymous" and normalize("138 0013 800a") == "1380013800a"


@pytest.mark.parametrize(("stored", "shown"), [
    ("+8613800138000", "138 0013 8000"), ("+861088886666", "010 8888 6666"), ("+8675586013388", "0755 8601 3388"),
    ("+864008108888", "400 810 8888"), ("+861088886666;ext=123", "010 8888 6666 ext. 123"),
    ("+16502530000", "+1 650-253-0000"), ("+442070313000", "+44 20 7031 3000"),
    ("95588", "95588"), ("+5062012345678", "+5062012345678"), ("", ""), (None, ""),
])
def test_display_is_national_for_china(stored, shown):
    assert display(stored) == shown


@pytest.mark.parametrize(("typed", "prefix"), [
    ("138001", "+86138001"), ("010 8888", "+86108888"), ("0044 20", "+4420"), ("+1 650", "+1650"),
    ("王", None), ("TH2024", None), ("1", None),
])
def test_search_prefix(typed, prefix):
    assert search_prefix(typed) == prefix
