"""The calendars screen in the admin: list, form, JSON, import and export, problems at their fields, access."""

from __future__ import annotations

import copy
import json
from datetime import date
from io import BytesIO

import pytest
from helpers import routes, sent_to_login
from test_worktime import DEMO

from app import create_app
from workflows.calendars import store
from workflows.storage.db import database
from workflows.storage.models import AuditEntry, Calendar

BASE = "/admin/calendars"
EDIT = BASE + "/cn_workdays/"
EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN"}
GETS = [BASE + "/", BASE + "/new", EDIT, EDIT + "export"]
POSTS = [BASE + "/new", BASE + "/import", EDIT, EDIT + "json"]
FORM = {"name": "中国工作日", "timezone": "Asia/Shanghai", "holidays": "cn",
        **{f"hours_{d}": "09:00-12:00, 13:30-18:00" for d in ("mon", "tue", "wed", "thu", "fri")},
        "hours_sat": "", "hours_sun": "", "closed": "2026-12-31", "open": "2027-01-02 mon"}


@pytest.fixture
def calendar(app):
    with app.app_context(), database.connection_context():
        return store.save_calendar(copy.deepcopy(DEMO))


def stored(code: str = "cn_workdays") -> Calendar | None:
    with database.connection_context():
        return Calendar.get_or_none(Calendar.code == code)


def entries() -> list[AuditEntry]:
    """The entries of people's changes (the fixture's calendar is stored with no actor)."""
    with database.connection_context():
        query = AuditEntry.select().where(AuditEntry.target.startswith("calendar:"), AuditEntry.actor.is_null(False))
        return list(query.order_by(AuditEntry.id))


def upload(text: str) -> dict:
    return {"file": (BytesIO(text.encode("utf-8")), "calendar.json")}


@pytest.mark.parametrize("headers", [EN, ZH])
def test_pages_render_in_both_languages(admin, calendar, headers):
    listing = admin.get(BASE + "/", headers=headers).get_data(as_text=True)
    assert '<tr data-code="cn_workdays">' in listing and 'id="lz-calendar-import-form"' in listing
    page = admin.get(EDIT, headers=headers)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'value="09:00-12:00, 13:30-18:00"' in html
    assert 'name="holidays" value="cn"' in html and " checked" in html and "2027-01-02 mon" in html
    # the page's two forms and the navbar's logout
    assert html.count('name="csrf_token"') == 3 and "<script>" not in html and 'style="' not in html
    assert admin.get(BASE + "/new", headers=headers).status_code == 200
    assert ("Calendars" in listing) is (headers is EN) and ("工作日历" in listing) is (headers is ZH)


def test_an_unknown_year_is_named_where_the_calendar_is_shown(admin, calendar):
    """The library knows 2004-2026: from last year to two years ahead, the later years count weekends only."""
    years = store.unknown_years(DEMO)
    assert years and 2027 in store.unknown_years(DEMO, date(2026, 12, 6))
    html = admin.get(EDIT, headers=EN).get_data(as_text=True).replace("&#39;", "'")
    listing = admin.get(BASE + "/", headers=EN).get_data(as_text=True)
    for year in years:
        assert (f"{year}: official holidays not known; only weekends are counted; add that year's days under "
                "closed/open") in html
        assert f'class="small text-warning lz-unknown-year">{year}' in listing
    plain = copy.deepcopy(DEMO) | {"holidays": None}
    assert admin.post(EDIT + "json", data={"document": json.dumps(plain)}, headers=EN).status_code == 302
    assert "lz-unknown-year" not in admin.get(EDIT, headers=EN).get_data(as_text=True)


def test_save_the_form(admin, calendar):
    response = admin.post(EDIT, data=FORM | {"hours_sat": "10:00-12:00", "holidays": ""}, headers=EN)
    assert response.status_code == 302 and response.headers["Location"] == EDIT
    row = stored()
    assert row.revision == 2 and row.document["hours"]["sat"] == [["10:00", "12:00"]]
    assert "holidays" not in row.document and row.document["open"] == [{"date": "2027-01-02", "as": "mon"}]
    assert [e.action for e in entries()] == ["calendar.save"] and entries()[0].actor.username == "admin"


def test_an_unchanged_form_changes_nothing(admin, calendar):
    assert admin.post(EDIT, data=FORM, headers=EN).status_code == 302
    assert stored().revision == 1 and entries() == []


def test_problems_are_shown_at_their_fields(admin, calendar):
    bad = FORM | {"timezone": "Mars/Olympus", "hours_tue": "12:00-09:00", "hours_wed": "09:00",
                  "closed": "2026-02-30", "open": "2027-01-02 sat"}
    response = admin.post(EDIT, data=bad, headers=EN)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and stored().revision == 1 and entries() == []
    for field, path in [("timezone", "/timezone"), ("hours_tue", "/hours/tue/0"), ("hours_wed", "/hours/wed/0"),
                        ("closed", "/closed/0"), ("open", "/open/0/as")]:
        assert f'data-field="{field}">{path}: ' in html, field
    assert 'value="Mars/Olympus"' in html and 'value="12:00-09:00"' in html  # what was typed stays


def test_create_and_refuse_an_existing_code(admin, calendar):
    response = admin.post(BASE + "/new", data=FORM | {"code": "shop", "name": "门店", "hours_sat": "10:00-16:00"},
                          headers=EN)
    assert response.status_code == 302 and response.headers["Location"] == BASE + "/shop/"
    assert stored("shop").document["hours"]["sat"] == [["10:00", "16:00"]]
    again = admin.post(BASE + "/new", data=FORM | {"code": "cn_workdays", "name": "x"}, headers=EN)
    assert again.status_code == 422 and 'data-field="code">/code: a calendar' in again.get_data(as_text=True)
    assert stored().revision == 1 and [e.action for e in entries()] == ["calendar.create"]


def test_the_json_view_saves_and_keeps_its_code(admin, calendar):
    document = copy.deepcopy(DEMO) | {"closed": []}
    assert admin.post(EDIT + "json", data={"document": json.dumps(document)}, headers=EN).status_code == 302
    assert stored().revision == 2 and stored().document["closed"] == []
    moved = admin.post(EDIT + "json", data={"document": json.dumps(document | {"code": "other"})}, headers=EN)
    assert moved.status_code == 422 and "/code: the code must stay" in moved.get_data(as_text=True)
    broken = admin.post(EDIT + "json", data={"document": json.dumps(document | {"timezone": "X"})}, headers=EN)
    assert broken.status_code == 422 and "/timezone: unknown time zone" in broken.get_data(as_text=True)
    syntax = admin.post(EDIT + "json", data={"document": "{"}, headers=EN)
    assert syntax.status_code == 422 and "Invalid JSON" in syntax.get_data(as_text=True)
    assert stored().revision == 2


def test_import_and_export(admin, users):
    response = admin.post(BASE + "/import", data=upload(json.dumps(DEMO, ensure_ascii=False)), headers=EN)
    assert response.status_code == 302 and stored().document == DEMO
    assert [e.action for e in entries()] == ["calendar.import"]
    exported = admin.get(EDIT + "export")
    assert exported.headers["Content-Disposition"] == "attachment; filename=cn_workdays.calendar.json"
    assert json.loads(exported.get_data(as_text=True)) == DEMO
    bad = admin.post(BASE + "/import", data=upload(json.dumps(DEMO | {"format": 3})), headers=EN)
    assert bad.status_code == 422 and "/format: must be 2" in bad.get_data(as_text=True)
    assert admin.get(BASE + "/nope/").status_code == 404


def test_admin_strings_are_escaped(admin, calendar):
    document = copy.deepcopy(DEMO) | {"name": "<b>x</b>"}
    assert admin.post(EDIT + "json", data={"document": json.dumps(document)}, headers=EN).status_code == 302
    html = admin.get(BASE + "/", headers=EN).get_data(as_text=True)
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html


test_anonymous_is_sent_to_login = sent_to_login(GETS, POSTS, "calendar", "users")


@pytest.mark.parametrize(("method", "url"), routes(GETS, POSTS))
def test_non_admins_are_refused(client, auth, calendar, method, url):
    auth.login("supervisor")
    assert getattr(client, method)(url, data=FORM | {"code": "x1"}).status_code == 403
    assert stored().revision == 1 and entries() == []


@pytest.mark.parametrize("url", POSTS)
def test_posts_need_a_csrf_token(calendar, users, db_url, url):
    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "s", "WTF_CSRF_ENABLED": True})
    response = app.test_client().post(url, data=FORM | {"code": "x1"})
    assert response.status_code == 400 and b"CSRF" in response.data
    assert stored().revision == 1 and entries() == []
