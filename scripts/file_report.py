"""Files accepted and refused before and after issue 22, over the corpus in tests/data/files.

"Before" is the upload check as committed (``git show HEAD:workflows/storage/uploads.py``, or
``--before REV``), loaded beside today's; both judge every file under its corpus name with no
field (the default list: images, PDF, Office documents, text). Run from the repository root::

    python scripts/file_report.py [--before REV] [--markdown]
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "tests", "data", "files")
sys.path.insert(0, ROOT)

from werkzeug.datastructures import FileStorage  # noqa: E402

from workflows.storage import uploads  # noqa: E402


def old_uploads(revision: str):
    """The committed uploads.py as a module of its own (it only needs the rest of the tree to import)."""
    source = subprocess.run(["git", "-C", ROOT, "show", f"{revision}:workflows/storage/uploads.py"],
                            check=True, capture_output=True).stdout
    with tempfile.NamedTemporaryFile("wb", suffix=".py", delete=False) as handle:
        handle.write(source)
    spec = importlib.util.spec_from_file_location("uploads_before", handle.name)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    os.unlink(handle.name)
    return module


def judge(module, name: str, content: bytes) -> str:
    """``accepted: <type>`` or ``refused: <reason>`` for one file."""
    verdict = module.examine(FileStorage(io.BytesIO(content), filename=name))
    if verdict.problem is not None:
        return "refused: " + verdict.problem.render().replace(f"'{name}'", "").strip(" :")
    return "accepted: " + getattr(verdict, "mimetype", verdict.kind.mimetype)


def corpus() -> list[str]:
    return sorted(n for n in os.listdir(CORPUS) if not n.endswith(".md"))


def report(before_revision: str, markdown: bool) -> dict[str, int]:
    before, counts = old_uploads(before_revision), {"before": 0, "after": 0, "changed": 0}
    if markdown:
        print("| file | before | after |\n|---|---|---|")
    for name in corpus():
        with open(os.path.join(CORPUS, name), "rb") as handle:
            content = handle.read()
        old, new = judge(before, name, content), judge(uploads, name, content)
        counts["before"] += old.startswith("accepted")
        counts["after"] += new.startswith("accepted")
        counts["changed"] += old != new
        print(f"| {name} | {old} | {new} |" if markdown else f"{name:32} {old[:52]:54} {new}")
    total = len(corpus())
    print(f"\n{total} files: accepted before {counts['before']}, after {counts['after']}; "
          f"refused before {total - counts['before']}, after {total - counts['after']}; "
          f"{counts['changed']} verdicts changed")
    return counts


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="HEAD", help="the git revision of the old uploads.py")
    parser.add_argument("--markdown", action="store_true", help="a Markdown table")
    options = parser.parse_args()
    report(options.before, options.markdown)
