"""The calendars API on both databases (``api/calendars.py``, docs/calendars.md "The API"):
read by anyone with a token, replaced whole by admins, checked, revised and audited as the
admin's and the CLI's saves are."""

from __future__ import annotations

import copy
import json

import pytest
from conftest import ROOT
from test_api import Api

from workflows.calendars import store
from workflows.storage.models import AuditEntry, Calendar

DOCUMENT = json.loads((ROOT / "workflows/demo/cn_workdays.calendar.json").read_text("utf-8"))


@pytest.fixture
def api(client, world):
    return Api(client)


@pytest.fixture
def stored(world):
    """cn_workdays saved as the demo does (no actor), revision 1."""
    return store.save_calendar(copy.deepcopy(DOCUMENT), None, "calendar.import")


def document(**changes) -> dict:
    return {**copy.deepcopy(DOCUMENT), **changes}


def state() -> tuple:
    """What a refused request must leave as it was: the audit log and every calendar."""
    return AuditEntry.select().count(), [(c.code, c.revision, c.document) for c in Calendar.select()]


def test_the_list_and_a_document_are_read_by_anyone_with_a_token(api, stored, monkeypatch):
    monkeypatch.setattr(store, "unknown_years", lambda doc, today=None: [2027] if doc.get("holidays") else [])
    api("PUT", "/calendars/plain", "admin", json=document(code="plain", name="Plain", holidays=None,
                                                          timezone="Europe/Berlin"))
    assert api("GET", "/calendars", "wh1").json == [
        {"code": "cn_workdays", "name": "中国工作日", "revision": 1, "timezone": "Asia/Shanghai", "holidays": "cn",
         "unknown_years": [2027]},
        {"code": "plain", "name": "Plain", "revision": 1, "timezone": "Europe/Berlin", "holidays": None,
         "unknown_years": []},
    ]
    assert api("GET", "/calendars/cn_workdays", "wh1").json == DOCUMENT


def test_the_unknown_years_are_the_stores(api, stored):
    """Not patched: whatever chinese_calendar does not know from last year to two years ahead."""
    listed = api("GET", "/calendars", "agent").json[0]
    assert listed["unknown_years"] == store.unknown_years(DOCUMENT) and all(y > 2026 for y in listed["unknown_years"])


def test_an_unknown_calendar_is_404(api, stored):
    missing = api("GET", "/calendars/nosuch", "agent")
    assert missing.status_code == 404 and missing.json["error"] == "not_found" and "nosuch" in missing.json["message"]


def test_an_admin_creates_a_calendar_with_an_audit_entry(api):
    response = api("PUT", "/calendars/cn_workdays", "admin", json=DOCUMENT)
    assert response.status_code == 201, response.json
    assert response.json["changed"] is True and response.json["revision"] == 1
    assert Calendar.get(Calendar.code == "cn_workdays").document == DOCUMENT
    entry = AuditEntry.select().order_by(AuditEntry.id.desc()).get()
    assert (entry.actor.username, entry.action, entry.target) == ("admin", "calendar.create", "calendar:cn_workdays")
    assert api("GET", "/calendars/cn_workdays", "agent").json == DOCUMENT


def test_an_update_bumps_the_revision_and_an_identical_one_changes_nothing(api, stored):
    changed = document(name="工作日", closed=["2026-12-30", "2026-12-31"])
    response = api("PUT", "/calendars/cn_workdays", "admin", json=changed)
    assert response.status_code == 200, response.json
    assert (response.json["revision"], response.json["name"], response.json["changed"]) == (2, "工作日", True)
    entry = AuditEntry.select().order_by(AuditEntry.id.desc()).get()
    assert (entry.actor.username, entry.action, entry.target) == ("admin", "calendar.save", "calendar:cn_workdays")
    before = state()
    again = api("PUT", "/calendars/cn_workdays", "admin", json=changed)
    assert again.status_code == 200 and (again.json["revision"], again.json["changed"]) == (2, False)
    assert state() == before
    assert store.worktime("cn_workdays").add  # the SLA clock reads the new revision


@pytest.mark.parametrize(("change", "paths"), [
    (lambda d: {**d, "hours": {**d["hours"], "tue": [["12:00", "09:00"]]}}, {"/hours/tue/0"}),
    (lambda d: {**d, "timezone": "Mars/Olympus", "closed": ["2026-02-30"]}, {"/timezone", "/closed/0"}),
    (lambda d: {**d, "hours": 3}, {"/hours"}),
    (lambda d: {**d, "open": [{"date": "2027-01-02", "as": "sun"}]}, {"/open/0/as"}),
])
def test_a_refused_calendar_names_its_json_paths_and_saves_nothing(api, stored, change, paths):
    before = state()
    response = api("PUT", "/calendars/cn_workdays", "admin", json=change(document()))
    assert response.status_code == 422 and response.json["error"] == "invalid", response.json
    assert paths <= set(response.json["fields"]), response.json
    assert state() == before


def test_the_code_must_be_the_paths(api, stored):
    before = state()
    response = api("PUT", "/calendars/cn_workdays", "admin", json=document(code="other"))
    assert response.status_code == 422 and set(response.json["fields"]) == {"/code"}
    assert "cn_workdays" in response.json["fields"]["/code"][0]
    missing = api("PUT", "/calendars/cn_workdays", "admin", json={k: v for k, v in DOCUMENT.items() if k != "code"})
    assert missing.status_code == 422 and "/code" in missing.json["fields"], missing.json
    assert state() == before


def test_the_problems_are_in_the_requests_language(api, stored):
    bad = document(timezone="Mars/Olympus")
    english = api("PUT", "/calendars/cn_workdays", "admin", json=bad).json["fields"]["/timezone"][0]
    chinese = api("PUT", "/calendars/cn_workdays", "admin", json=bad,
                  headers={"Accept-Language": "zh-CN"}).json
    assert "Mars/Olympus" in english and chinese["fields"]["/timezone"][0] != english
    assert chinese["message"] != api("PUT", "/calendars/cn_workdays", "admin", json=bad).json["message"]


@pytest.mark.parametrize("user", ["agent", "sup", "wh1"])
def test_only_admins_write(api, stored, user):
    before = state()
    response = api("PUT", "/calendars/cn_workdays", user, json=document(name="x"))
    assert response.status_code == 403 and response.json["error"] == "forbidden"
    assert api("PUT", "/calendars/newone", user, json=document(code="newone")).status_code == 403
    assert state() == before


@pytest.mark.parametrize(("method", "path"), [("GET", "/calendars"), ("GET", "/calendars/cn_workdays"),
                                              ("PUT", "/calendars/cn_workdays")])
def test_every_calendar_endpoint_wants_a_token(api, stored, method, path):
    before = state()
    response = api(method, path, json=DOCUMENT)
    assert response.status_code == 401 and response.json["error"] == "unauthorized"
    assert state() == before


def test_a_malformed_body_is_400(api, stored):
    response = api("PUT", "/calendars/cn_workdays", "admin", data="[1]", content_type="application/json")
    assert response.status_code == 400 and list(response.json["fields"]) == ["body"]
