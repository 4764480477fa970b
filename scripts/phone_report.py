"""Issue 22's figure: the phone corpus's spellings, and how many customers they become before and after.

Each spelling in ``tests/data/phones/corpus.json`` is a caller; callers whose normalised phone is
the same are one customer (``customers.intake``). "Before" is the ``normalize_phone`` of the last
commit (read with ``git show HEAD:workflows/people/customers.py``, or the copy below when git is
not there), "after" is today's. Run from the repository root: ``python scripts/phone_report.py``.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from workflows.people.customers import normalize_phone  # noqa: E402

_SEPARATORS = re.compile(r"[\s\-.()]")
_CHINA_MOBILE = re.compile(r"(?:\+86|0086|86)(1\d{10})")


def _copied_old(text):
    """The function as it was before issue 22 (the fallback when git is not available)."""
    compact = _SEPARATORS.sub("", unicodedata.normalize("NFKC", text or ""))
    mobile = _CHINA_MOBILE.fullmatch(compact)
    return mobile.group(1) if mobile else compact


def old_normalize():
    """``normalize_phone`` and the constants it reads, taken from HEAD's customers.py."""
    try:
        source = subprocess.run(["git", "show", "HEAD:workflows/people/customers.py"], cwd=ROOT, check=True,
                                capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return _copied_old
    if "_CHINA_MOBILE" not in source:  # HEAD already holds issue 22's version
        return _copied_old
    tree = ast.parse(source)
    wanted = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "normalize_phone"
              or isinstance(node, ast.Assign) and any(getattr(t, "id", "") in ("_SEPARATORS", "_CHINA_MOBILE")
                                                      for t in node.targets)]
    space = {"re": re, "unicodedata": unicodedata}
    exec(compile(ast.Module(body=wanted, type_ignores=[]), "HEAD:customers.py", "exec"), space)  # noqa: S102
    return space["normalize_phone"]


def figures(normalize) -> tuple[int, int, list[str]]:
    """Customers the corpus becomes, numbers that split, and numbers that ran into another."""
    corpus = json.loads((ROOT / "tests/data/phones/corpus.json").read_text(encoding="utf-8"))
    owners: dict[str, set[str]] = {}
    split = []
    for group in corpus["groups"]:
        forms = {normalize(s["text"]) for s in group["spellings"]}
        if len(forms) > 1:
            split.append(group["group"])
        for form in forms:
            owners.setdefault(form, set()).add(group["group"])
    return len(owners), len(split), [f for f, g in owners.items() if len(g) > 1]


def main() -> None:
    corpus = json.loads((ROOT / "tests/data/phones/corpus.json").read_text(encoding="utf-8"))
    numbers, spellings = len(corpus["groups"]), sum(len(g["spellings"]) for g in corpus["groups"])
    print(f"corpus: {spellings} spellings of {numbers} numbers (tests/data/phones/SOURCE.md)")
    for label, normalize in (("before", old_normalize()), ("after", normalize_phone)):
        customers, split, shared = figures(normalize)
        print(f"{label}: {customers} customers; {split} of {numbers} numbers split into several; "
              f"{len(shared)} stored forms shared by different numbers")
    refused = len(corpus["refused"])
    print(f"texts with letters: {refused}, before stored as typed, after refused at the field 'phone'")


if __name__ == "__main__":
    main()
