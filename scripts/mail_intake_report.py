"""What the mail intake makes of a corpus: tickets, automatic mail dropped (by reason), duplicates (issue 22).

    python scripts/mail_intake_report.py [FOLDER]     # default tests/data/mail

Every ``.eml`` file is ingested into a fresh SQLite database (a temporary folder; nothing else is
touched) with a small two-field process, as ``flask mail ingest --process inquiry`` would, then
every file is ingested a second time: each of those must be a duplicate. Prints the counts of the
first pass by outcome, the dropped ones by reason, the refused ones by reason, and the second pass.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PROCESS = {"format": 1, "code": "inquiry", "name": "咨询", "number_prefix": "ZX",
           "schema": {"type": "object", "properties": {
               "topic": {"type": "string", "title": "主题", "maxLength": 200},
               "message": {"type": "string", "title": "内容", "x-widget": "textarea"}}},
           "steps": [{"key": "register", "name": "登记", "assignee": {"type": "creator"},
                      "fields": {"topic": "editable", "message": "editable"},
                      "transitions": [{"to": "answer", "label": "转坐席"}]},
                     {"key": "answer", "name": "答复", "assignee": {"type": "creator"},
                      "fields": {"topic": "readonly", "message": "readonly"},
                      "transitions": [{"to": "$end", "label": "完成"}]}]}


def outcome(line: str) -> str:
    """``created ZX…``, ``appended …``, ``dropped: …``, ``duplicate: …``, ``refused: …`` -> the first word."""
    return line.split(":")[0].split(" ")[0]


def run(files: list[Path], workdir: Path) -> tuple[Counter, Counter, Counter, Counter]:
    from app import create_app
    from workflows.i18n import cli_gettext
    from workflows.intake import mailin
    from workflows.processes import documents as docs
    from workflows.storage import db as lzdb
    from workflows.storage.models import MailIntake

    app = create_app({"DATABASE_URL": f"sqlite:///{workdir / 'report.db'}", "SECRET_KEY": "report",
                      "UPLOAD_DIR": str(workdir / "uploads")})
    with app.app_context(), lzdb.database.connection_context():
        lzdb.upgrade()
        docs.save_process(PROCESS, publish=True)
        lines = {p.name: mailin.ingest_path(str(p), "inquiry", cli_gettext("en"))[0][0] for p in files}
        first = Counter(outcome(line) for line in lines.values())
        for name, line in lines.items():
            if outcome(line) in ("duplicate", "refused"):
                print(f"{name}: {line}")
        reasons = Counter(r.reason for r in MailIntake.select().where(MailIntake.outcome == "dropped"))
        refused = Counter(r.reason[:70] for r in MailIntake.select().where(MailIntake.outcome == "refused"))
        second = Counter(outcome(mailin.ingest_path(str(p), "inquiry", cli_gettext("en"))[0][0]) for p in files)
    return first, reasons, refused, second


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default=str(ROOT / "tests" / "data" / "mail"))
    args = parser.parse_args()
    files = sorted(p for p in Path(args.folder).iterdir() if p.suffix == ".eml")
    with tempfile.TemporaryDirectory() as workdir:
        first, reasons, refused, second = run(files, Path(workdir))
    print(f"messages: {len(files)}")
    for name in ("created", "appended", "dropped", "duplicate", "refused"):
        print(f"{name}: {first.get(name, 0)}")
    print("dropped, by reason:")
    for reason, count in reasons.most_common():
        print(f"  {reason}: {count}")
    if refused:
        print("refused, by reason:")
        for reason, count in refused.most_common():
            print(f"  {reason}: {count}")
    print(f"read again: duplicate: {second.get('duplicate', 0)}, other: {sum(second.values()) - second['duplicate']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
