"""What ``mailin.read`` makes of every sample in tests/data/mail, to compare readers (docs/mail.md).

    python scripts/mail_corpus_report.py              # the reader in the working tree
    python scripts/mail_corpus_report.py --rev REV    # mailin.read as it was at git revision REV

One line per file: ok or the error, the subject, the sender, whether text is
garbled (U+FFFD or undecoded bytes in subject, sender or body), the charset
issues and the files (name:size, ``!`` for a part not stored); then the
totals: errors (the message would be refused), garbled, no subject, 0-byte files.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "mail"
sys.path.insert(0, str(ROOT))


def reader(rev: str | None):
    """``read`` of the working tree, or of mailin.py at ``rev`` (loaded from git, nothing checked out)."""
    if rev is None:
        from workflows.intake.mailin import read
        return read
    source = subprocess.check_output(["git", "show", f"{rev}:workflows/intake/mailin.py"], cwd=ROOT)
    module = types.ModuleType("mailin_at_" + rev.replace("~", "_"))
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, f"mailin.py@{rev}", "exec"), module.__dict__)  # noqa: S102 - our own file at a revision
    return module.read


def garbled(*texts: str) -> bool:
    return any("\ufffd" in t or any("\udc80" <= c <= "\udcff" for c in t) for t in texts)


def describe(read, path: Path) -> dict:
    try:
        mail = read(path.read_bytes())
    except Exception as error:  # noqa: BLE001 - the report counts every failure
        return {"ok": False, "line": f"ERROR {type(error).__name__}: {str(error)[:80]}"}
    files = [f"{name}:{len(content)}" + ("!" if getattr(item, "problem", "") or not content else "")
             for item in mail.files for name, _type, content in [item]]
    bad = garbled(mail.subject, mail.sender, mail.body)
    issues = "; ".join(getattr(mail, "issues", []))
    line = (f"ok subject={mail.subject[:50]!r} from={mail.sender[:24]!r} <{mail.address[:30]}>"
            f"{' GARBLED' if bad else ''} body={len(mail.body)} files=[{', '.join(files)}]"
            + (f" issues=[{issues}]" if issues else ""))
    return {"ok": True, "garbled": bad, "no_subject": not mail.subject.strip(),
            "empty_files": sum(1 for item in mail.files if not item[2] and not getattr(item, "problem", "")),
            "line": line}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", help="git revision whose mailin.read to run (default: the working tree)")
    args = parser.parse_args()
    read = reader(args.rev)
    results = []
    for path in sorted(p for p in CORPUS.iterdir() if p.suffix == ".eml"):
        result = describe(read, path)
        results.append(result)
        print(f"{path.name}: {result['line']}")
    ok = [r for r in results if r["ok"]]
    print(f"\n{len(results)} messages: {len(results) - len(ok)} errors (refused), "
          f"{sum(r['garbled'] for r in ok)} garbled, {sum(r['no_subject'] for r in ok)} without a subject, "
          f"{sum(r['empty_files'] for r in ok)} files of 0 bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
