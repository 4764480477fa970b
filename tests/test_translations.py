"""The Chinese catalog covers every message and its compiled .mo is up to date."""

from __future__ import annotations

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from conftest import ROOT

CATALOG = ROOT / "translations" / "zh_Hans_CN" / "LC_MESSAGES"
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2")]


def source_msgids() -> set[str]:
    found = extract_from_dir(str(ROOT), METHODS, keywords={"_": None, "_l": None, "N_": None, "gettext": None},
                             directory_filter=lambda d: not d.endswith(("tests", ".venv", "bench")))
    return {message for _, _, message, _, _ in found if isinstance(message, str)}


def test_every_message_has_a_chinese_translation():
    with open(CATALOG / "messages.po", "rb") as fh:
        catalog = read_po(fh)
    translated = {m.id for m in catalog if m.id and m.string}
    assert source_msgids() - translated == set()


def test_compiled_catalog_matches_the_source():
    with open(CATALOG / "messages.po", "rb") as po, open(CATALOG / "messages.mo", "rb") as mo:
        source, compiled = read_po(po), read_mo(mo)
    assert {m.id: m.string for m in source if m.id} == {m.id: m.string for m in compiled if m.id}
