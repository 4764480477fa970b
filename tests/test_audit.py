"""The audit log: admin document actions record who, when, what before/after; read-only admin pages."""

from __future__ import annotations

import json
from io import BytesIO

import pytest
from conftest import browser_login, example
from flask import url_for
from playwright.sync_api import expect

from workflows.storage import audit
from workflows.storage.db import database
from workflows.storage.models import AuditEntry, Process

BASE = "/admin/processes/return_goods"
EN = {"Accept-Language": "en"}


def entries() -> list[AuditEntry]:
    with database.connection_context():
        return list(AuditEntry.select().order_by(AuditEntry.id))


def test_saving_a_json_draft_records_before_and_after(admin, seeded, users):
    doc = example("return_goods.process.json")
    doc["steps"][1]["name"] = "组长审批"
    response = admin.post(BASE + "/json", data={"document": json.dumps(doc, ensure_ascii=False)})
    assert response.status_code == 302
    [entry] = entries()
    assert (entry.action, entry.target, entry.actor_id) == ("process.save", "process:return_goods",
                                                            users["admin"].id)
    assert entry.before == example("return_goods.process.json")
    assert entry.after == doc
    assert entry.created_at is not None


def test_a_refused_save_records_nothing(admin, seeded):
    doc = example("return_goods.process.json")
    doc["steps"][1]["transitions"][0]["to"] = "missing"
    assert admin.post(BASE + "/json", data={"document": json.dumps(doc)}).status_code == 422
    assert admin.post(BASE + "/json", data={"document": "{not json"}).status_code == 422
    assert entries() == []


def test_a_failed_record_rolls_the_change_back(admin, seeded, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("audit store down")

    monkeypatch.setattr(AuditEntry, "create", broken)
    doc = example("return_goods.process.json")
    doc["name"] = "改过的"
    with pytest.raises(RuntimeError):
        admin.post(BASE + "/json", data={"document": json.dumps(doc)})
    with database.connection_context():
        assert Process.get(Process.code == "return_goods").draft == example("return_goods.process.json")
        assert AuditEntry.select().count() == 0


def test_record_inside_a_failed_transaction_leaves_no_entry(app, users):
    with app.app_context(), database.connection_context():
        with pytest.raises(ValueError), database.atomic():
            audit.record(users["admin"], "process.save", "process:x", None, {"a": 1})
            raise ValueError
        assert AuditEntry.select().count() == 0


def test_publish_and_discard_record_the_admin(admin, seeded, users):
    doc = example("return_goods.process.json")
    doc["name"] = "改过的"
    admin.post(BASE + "/json", data={"document": json.dumps(doc)})
    assert admin.post(BASE + "/publish").status_code == 302
    doc["name"] = "再改"
    admin.post(BASE + "/json", data={"document": json.dumps(doc)})
    assert admin.post(BASE + "/discard").status_code == 302
    save, publish, save2, discard = entries()
    assert [e.action for e in (save, publish, save2, discard)] == [
        "process.save", "process.publish", "process.save", "process.discard"]
    assert {e.actor_id for e in (publish, discard)} == {users["admin"].id}
    assert publish.after == {"version": 2} and publish.before == {"version": 1}
    assert discard.before["name"] == "再改" and discard.after["name"] == "改过的"


def test_republishing_an_unchanged_draft_records_nothing(admin, seeded):
    assert admin.post(BASE + "/publish").status_code == 302
    assert entries() == []


def test_import_records_an_entry(admin, seeded):
    doc = example("return_goods.process.json")
    doc["code"] = "imported"
    admin.post("/admin/processes/import", content_type="multipart/form-data",
               data={"file": (BytesIO(json.dumps(doc).encode()), "x.json"), "publish": "1"})
    [entry] = entries()
    assert (entry.action, entry.target, entry.before) == ("process.import", "process:imported", None)
    assert entry.after == {"draft": doc, "version": 1}


def test_audit_page_lists_entries_newest_first_with_details(admin, seeded):
    doc = example("return_goods.process.json")
    doc["name"] = "改过的"
    admin.post(BASE + "/json", data={"document": json.dumps(doc, ensure_ascii=False)})
    admin.post(BASE + "/publish")
    response = admin.get("/admin/audit/", headers=EN)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Audit log" in html
    assert html.index("process.publish") < html.index("process.save")
    assert "process:return_goods" in html and "admin" in html
    save = entries()[0]
    assert f'href="/admin/audit/{save.id}"' in html
    detail = admin.get(f"/admin/audit/{save.id}", headers=EN).get_data(as_text=True)
    assert "&#34;name&#34;: &#34;退货申请&#34;" in detail  # before, pretty-printed
    assert "&#34;name&#34;: &#34;改过的&#34;" in detail  # after
    assert admin.get("/admin/audit/999999").status_code == 404


def test_audit_page_is_paginated_newest_first(admin, app, users):
    with app.app_context(), database.connection_context():
        for i in range(55):
            audit.record(users["admin"], "process.save", f"process:p{i:02d}")
    html = admin.get("/admin/audit/").get_data(as_text=True)
    assert "process:p54" in html and "process:p05" in html and "process:p04" not in html
    older = html.split('href="/admin/audit/?page=', 1)[1].split('"', 1)[0]
    html = admin.get(f"/admin/audit/?page={older}").get_data(as_text=True)
    assert "process:p04" in html and "process:p00" in html and "process:p05" not in html
    assert 'rel="next"' not in html and 'href="/admin/audit/"' in html  # no older page; the newest is linked


def test_audit_list_filters_searches_and_summarises(admin, app, users):
    with app.app_context(), database.connection_context():
        audit.record(users["admin"], "user.update", "user:agent", {"name": "甲", "role": "agent"},
                     {"name": "乙", "role": "agent"})
        audit.record(users["supervisor"], "tag.create", "tag:urgent", None, {"name": "urgent"})
        audit.record(None, "process.import", "process:cli", None, {"version": 1})
    html = admin.get("/admin/audit/", headers=EN).get_data(as_text=True)
    assert "name: &#34;甲&#34; → &#34;乙&#34;" in html and "role" not in html.split("user:agent", 1)[1][:300]
    assert "— → {&#34;name&#34;: &#34;urgent&#34;}" in html
    labels = {"action": "Action", "actor": "Who", "time": "When"}
    filters = _filter_args(app, labels)

    def shown(**query) -> set[str]:
        page = admin.get("/admin/audit/", query_string=query, headers=EN).get_data(as_text=True)
        return {t for t in ("user:agent", "tag:urgent", "process:cli") if t in page}

    assert shown(**{"flt0_" + filters["action", "equals"]: "tag.create"}) == {"tag:urgent"}
    assert shown(**{"flt0_" + filters["actor", "equals"]: "supervisor"}) == {"tag:urgent"}
    assert shown(**{"flt0_" + filters["actor", "empty"]: "1"}) == {"process:cli"}
    assert shown(**{"flt0_" + filters["time", "after"]: "2000-01-01 00:00:00"}) == {
        "user:agent", "tag:urgent", "process:cli"}
    assert shown(**{"flt0_" + filters["time", "before"]: "2000-01-01 00:00:00"}) == set()
    assert shown(search="urgent") == {"tag:urgent"}


def _filter_args(app, labels: dict[str, str]) -> dict[tuple[str, str], str]:
    """(what, operation) -> the filter's URL argument, read from the view (English names)."""
    view = next(v for v in app.extensions["admin"][0]._views if getattr(v, "endpoint", "") == "audit")
    names = {label: what for what, label in labels.items()}
    with app.test_request_context(headers=EN):
        return {(names[str(flt.name)], str(flt.operation())): view.get_filter_arg(i, flt)
                for i, flt in enumerate(view._filters)}


def test_admin_strings_are_escaped(admin, seeded):
    doc = example("return_goods.process.json")
    doc["name"] = "<script>alert(1)</script>"
    admin.post(BASE + "/json", data={"document": json.dumps(doc)})
    entry = entries()[0]
    for url in (f"/admin/audit/{entry.id}", "/admin/audit/"):  # the record's page, the list's summary
        html = admin.get(url).get_data(as_text=True)
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def audit_calls(app, entry_id: int) -> list[tuple[str, str, str]]:
    """(endpoint, method, URL) of every route the audit view registers, disabled ones included."""
    with app.test_request_context():
        rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("audit.")]
        values = {"entry_id": entry_id, "export_type": "csv"}
        return sorted((r.endpoint, m, url_for(r.endpoint, **{a: values[a] for a in r.arguments}))
                      for r in rules for m in r.methods - {"HEAD", "OPTIONS"})


def test_every_audit_route_refuses_agents_and_sends_visitors_to_login(app, client, auth):
    with app.app_context(), database.connection_context():
        entry = audit.record(None, "process.save", "process:x", None, {"a": 1})
    calls = audit_calls(app, entry.id)
    assert {e for e, _, _ in calls} == {f"audit.{name}" for name in (
        "index", "detail", "details_view", "create_view", "edit_view", "delete_view", "action_view", "export",
        "ajax_lookup", "ajax_update")}
    for endpoint, method, url in calls:
        response = client.open(url, method=method, data={"id": entry.id, "action": "delete", "rowid": entry.id})
        assert response.status_code == 302 and response.headers["Location"].startswith("/login"), endpoint
    auth.login("agent")
    for endpoint, method, url in calls:
        response = client.open(url, method=method, data={"id": entry.id, "action": "delete", "rowid": entry.id})
        assert response.status_code == 403, endpoint
    assert entries() == [entry]


def test_the_admin_can_change_nothing_and_export_nothing(admin, app):
    with app.app_context(), database.connection_context():
        entry = audit.record(None, "process.save", "process:x", None, {"a": 1})
    for method, url in [("GET", "/admin/audit/new/"), ("POST", "/admin/audit/new/"),
                        ("GET", f"/admin/audit/edit/?id={entry.id}"), ("POST", f"/admin/audit/edit/?id={entry.id}"),
                        ("GET", f"/admin/audit/details/?id={entry.id}"), ("POST", "/admin/audit/delete/"),
                        ("POST", "/admin/audit/action/"), ("GET", "/admin/audit/export/csv/"),
                        ("GET", "/admin/audit/export/xlsx/")]:
        response = admin.open(url, method=method, data={"id": entry.id, "action": "delete", "rowid": entry.id,
                                                        "target": "changed", "action_": "x"})
        assert response.status_code == 302 and response.headers["Location"] == "/admin/audit/", (method, url)
    assert admin.get("/admin/audit/ajax/lookup/?name=actor&query=a").status_code == 404
    assert admin.post("/admin/audit/ajax/update/", data={"list_form_pk": entry.id, "target": "x"}).status_code == 404
    assert entries() == [entry] and entries()[0].target == "process:x"
    html = admin.get("/admin/audit/", headers=EN).get_data(as_text=True)
    assert "/admin/audit/new/" not in html and "/export/" not in html and "/edit/" not in html
    assert 'name="rowid"' not in html and "/admin/audit/delete/" not in html


HOSTILE = ["page=-1", "page=abc", "page=99999999999999999999999999", "page=2147483647", "sort=999", "sort=-1",
           "sort=4", "sort=5", "sort=1&desc=1", "desc=x", "page_size=-5", "page_size=100000",
           "search=%25", "search=_", "search=%27%22%3B--", "search=%5C", "search=%00", "search=%3Cscript%3E",
           "search=%F0%9F%98%80", "search=%FF%FE", "search=^", "search==", "search=" + "x" * 5000,
           "flt=1", "flt0=1", "flt0_=1", "flt0_999=1", "fltx_0=1", "flt0_0=%00", "flt0_0", "url=//evil.example"]
FILTER_VALUES = ["", "x", "%00", "%3Cscript%3E", "1", "0", "-1", "%25_", "0001-01-01 00:00:00", "9999-12-31 23:59:59",
                 "2020-01-01 00:00:00 to 2019-01-01 00:00:00", "2020-01-01 00:00:00 to 2021-01-01 00:00:00",
                 "0001-01-01 00:00:00 to 0001-01-01 01:00:00", "2020-13-45 99:99:99"]


def test_hostile_query_strings_give_a_page_never_a_server_error(admin, app, users):
    with app.app_context(), database.connection_context():
        entry = audit.record(users["admin"], "process.save", "process:x", None, {"a": 1})
    filters = len(next(v for v in app.extensions["admin"][0]._views if v.endpoint == "audit")._filters)
    queries = HOSTILE + [f"flt0_{i}={value}" for i in range(filters) for value in FILTER_VALUES]
    for query in queries:
        response = admin.get(f"/admin/audit/?{query}")
        assert response.status_code == (400 if "%00" in query else 200), (query, response.status_code)
        assert "<script>" not in response.get_data(as_text=True), query
    for url in ["/admin/audit/details/?id=abc", "/admin/audit/edit/?id=%00", "/admin/audit/export/csv/?page=-1",
                "/admin/audit/export/%00/", "/admin/audit/ajax/lookup/?name=%00&offset=-1&limit=-1",
                "/admin/audit/99999999999999999999999", "/admin/audit/-1", f"/admin/audit/{entry.id}?x=%00"]:
        assert admin.get(url).status_code < 500, url


WATCH_POLICY = """document.addEventListener("securitypolicyviolation", e => console.error(
  `CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`));"""


def settle(page) -> None:
    """Let the page's scripts and styles finish loading before leaving it: a download cut off by the next
    navigation leaves the test server's open file to the garbage collector (a ResourceWarning, an error here)."""
    page.wait_for_load_state("networkidle")


def test_the_list_its_filters_and_pager_work_under_the_policy(app, users, live_server, browser):
    """Flask-Admin's filter row (select2, the date-time picker) and the search run under the strict policy."""
    with app.app_context(), database.connection_context():
        for i in range(55):
            audit.record(users["admin"], "process.save", f"process:p{i:02d}", {"name": "<b>甲</b>"}, {"name": "乙"})
        audit.record(users["admin"], "tag.create", "tag:urgent", None, {"name": "urgent"})
    problems = []
    context = browser.new_context(locale="zh-CN", base_url=live_server)
    context.set_default_timeout(10_000)
    context.add_init_script(WATCH_POLICY)
    try:
        page = browser_login(context, "admin")
        page.on("console", lambda m: m.type == "error" and problems.append(m.text))
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto("/admin/audit/")
        expect(page.locator("h2", has_text="审计日志")).to_be_visible()
        expect(page.locator("td", has_text='name: "<b>甲</b>" → "乙"').first).to_be_visible()
        page.get_by_role("button", name="添加筛选器").click()
        page.get_by_role("button", name="操作", exact=True).click()
        page.locator("#filter_form input.filter-val").fill("tag.create")
        settle(page)
        with page.expect_navigation():
            page.locator("#filter_form button[type=submit]").click()
        assert "flt" in page.url
        expect(page.locator("td code", has_text="tag:urgent")).to_be_visible()
        expect(page.locator("td code", has_text="process:p54")).to_have_count(0)
        page.get_by_role("button", name="添加筛选器").click()
        page.get_by_role("button", name="时间", exact=True).click()
        when = page.locator("#filter_form input.filter-val").last
        expect(when).to_have_attribute("data-date-format", "YYYY-MM-DD HH:mm:ss")
        when.click()
        expect(page.locator(".daterangepicker").last).to_be_visible()
        settle(page)
        page.goto("/admin/audit/?search=p0")
        expect(page.locator("td code", has_text="process:p09")).to_be_visible()
        expect(page.locator("td code", has_text="process:p54")).to_have_count(0)
        settle(page)
        page.goto("/admin/audit/")
        page.locator(".lz-audit-pager a[rel=next]").click()
        expect(page.locator("td code", has_text="process:p00")).to_be_visible()
        settle(page)
    finally:
        context.close()
    assert problems == []
