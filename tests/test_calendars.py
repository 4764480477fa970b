"""Calendar documents: the checks (formbuilder/calendars.py), the store and the CLI, on both databases."""

from __future__ import annotations

import copy
import json
from datetime import datetime

import pytest
from test_worktime import DEMO

from formbuilder.calendars import check_calendar
from workflows.calendars import store
from workflows.calendars.worktime import ALWAYS, WorkTime
from workflows.processes.documents import DocumentError
from workflows.storage.db import database
from workflows.storage.models import AuditEntry, Calendar


def paths(document) -> list[str]:
    return [p.path for p in check_calendar(document)]


def test_the_demo_calendar_passes():
    assert check_calendar(DEMO) == []


def test_every_problem_at_its_path():
    doc = copy.deepcopy(DEMO)
    doc.update(code="X", timezone="Mars/Olympus", holidays="us", extra=1)
    doc["hours"]["mon"] = [["12:00", "09:00"]]
    doc["hours"]["tue"] = [["09:00", "12:00"], ["11:00", "13:00"]]
    doc["hours"]["wed"] = [["09:00"]]
    doc["closed"] = ["2026-02-30", "2026-12-31", "2026-12-31"]
    assert paths(doc) == ["/closed/0", "/closed/2", "/code", "/extra", "/holidays", "/hours/mon/0", "/hours/tue/1",
                          "/hours/wed/0", "/timezone"]
    found = {p.path: p.msg.render() for p in check_calendar(doc)}
    assert found["/hours/mon/0"] == "12:00 must be earlier than 09:00"
    assert found["/hours/tue/1"] == "starts at 11:00, before the previous interval ends (12:00)"
    assert found["/timezone"].startswith("unknown time zone 'Mars/Olympus'")


def test_open_days_are_checked():
    doc = copy.deepcopy(DEMO)
    doc["open"] = [{"date": "2026-12-31", "as": "sat"}, {"date": "2027-02-29", "as": "mon"}, {"date": "x"}]
    assert paths(doc) == ["/open/0/as", "/open/0/date", "/open/1/date", "/open/2", "/open/2/date"]
    doc["open"].pop()
    assert paths(doc) == ["/open/0/as", "/open/0/date", "/open/1/date"]


def test_a_week_without_hours_and_a_wrong_format():
    doc = copy.deepcopy(DEMO) | {"hours": {}, "format": 1}
    assert paths(doc) == ["/format", "/hours", "/open/0/as"]
    assert paths([]) == [""]


@pytest.fixture
def ctx(app):
    with app.app_context(), database.connection_context():
        yield


def test_store_save_revise_and_cache(ctx):
    assert store.worktime("cn_workdays") is ALWAYS and store.worktime(None) is ALWAYS
    row = store.save_calendar(copy.deepcopy(DEMO), None)
    assert row.revision == 1 and store.codes() == {"cn_workdays"}
    first = store.worktime("cn_workdays")
    assert isinstance(first, WorkTime) and store.worktime("cn_workdays") is first
    assert store.save_calendar(copy.deepcopy(DEMO)).revision == 1  # unchanged: no revision, no entry
    changed = copy.deepcopy(DEMO) | {"closed": []}
    assert store.save_calendar(changed, None).revision == 2
    second = store.worktime("cn_workdays")
    assert second is not first
    assert second.seconds_between(datetime(2026, 12, 30, 16), datetime(2026, 12, 31, 16)) == 27000
    entries = list(AuditEntry.select().where(AuditEntry.target == "calendar:cn_workdays").order_by(AuditEntry.id))
    assert [e.before is None for e in entries] == [True, False] and entries[1].after["closed"] == []
    assert store.export("cn_workdays") == changed and store.export("nope") is None


def test_store_refuses_a_bad_document_and_an_existing_code_when_new(ctx):
    with pytest.raises(DocumentError) as error:
        store.save_calendar(copy.deepcopy(DEMO) | {"timezone": "Nowhere"})
    assert [p.path for p in error.value.problems] == ["/timezone"]
    store.save_calendar(copy.deepcopy(DEMO))
    with pytest.raises(DocumentError) as error:
        store.save_calendar(copy.deepcopy(DEMO) | {"name": "x"}, expect_new=True)
    assert [p.path for p in error.value.problems] == ["/code"]
    assert Calendar.select().count() == 1 and AuditEntry.select().count() == 1


def write(tmp_path, document, name="cal.json"):
    path = tmp_path / name
    path.write_text(json.dumps(document, ensure_ascii=False), "utf-8")
    return str(path)


def test_cli_check_import_export(runner, tmp_path):
    good = write(tmp_path, DEMO)
    checked = runner.invoke(args=["calendar", "check", good, "--lang", "en"])
    assert checked.exit_code == 0 and checked.stdout == ""
    # The library knows up to 2026: the years ahead of today are named on stderr (2027 and 2028 in 2026).
    assert store.unknown_years(DEMO) and checked.stderr.splitlines() == [
        f"{year}: official holidays not known; only weekends are counted; add that year's days under closed/open"
        for year in store.unknown_years(DEMO)]
    result = runner.invoke(args=["calendar", "import", good])
    assert result.exit_code == 0 and result.stdout.strip() == "calendar cn_workdays: revision 1"
    plain = write(tmp_path, copy.deepcopy(DEMO) | {"holidays": None}, "plain.json")
    assert runner.invoke(args=["calendar", "check", plain]).output == ""
    again = runner.invoke(args=["calendar", "import", good])
    assert again.stdout.strip() == "calendar cn_workdays: revision 1 (unchanged)"
    exported = runner.invoke(args=["calendar", "export", "cn_workdays"])
    assert exported.exit_code == 0 and json.loads(exported.output) == DEMO
    missing = runner.invoke(args=["calendar", "export", "nope"])
    assert missing.exit_code == 1


def test_cli_refuses_with_one_line_per_problem(runner, tmp_path):
    bad = write(tmp_path, copy.deepcopy(DEMO) | {"timezone": "Nowhere", "closed": ["2026-13-01"]})
    for command in ("check", "import"):
        result = runner.invoke(args=["calendar", command, bad, "--lang", "en"])
        assert result.exit_code == 1
        assert result.stdout.splitlines() == [
            '/closed/0: "2026-13-01" is not a valid date',
            "/timezone: unknown time zone 'Nowhere' (use an IANA name such as Asia/Shanghai)"]
    broken = tmp_path / "broken.json"
    broken.write_text("{", "utf-8")
    assert runner.invoke(args=["calendar", "check", str(broken)]).exit_code == 1
    with database.connection_context():
        assert Calendar.select().count() == 0


def test_cli_speaks_chinese(runner, tmp_path):
    bad = write(tmp_path, copy.deepcopy(DEMO) | {"timezone": "Nowhere"})
    result = runner.invoke(args=["calendar", "check", bad, "--lang", "zh"])
    assert result.exit_code == 1 and "Nowhere" in result.output and "time zone" not in result.output


def test_the_demo_seeds_the_calendar(app):
    from workflows import demo

    with app.app_context(), database.connection_context():
        demo.seed_org()
        lines = demo.seed_documents()
        assert "calendar cn_workdays imported" in lines
        assert store.export("cn_workdays") == DEMO
        assert "calendar cn_workdays imported" not in demo.seed_documents()
