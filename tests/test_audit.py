"""The audit log: admin document actions record who, when, what before/after; read-only admin pages."""

from __future__ import annotations

import json
from io import BytesIO

import pytest
from conftest import example

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


def test_audit_page_is_keyset_paginated(admin, app, users):
    with app.app_context(), database.connection_context():
        for i in range(55):
            audit.record(users["admin"], "process.save", f"process:p{i:02d}")
    html = admin.get("/admin/audit/").get_data(as_text=True)
    assert "process:p54" in html and "process:p05" in html and "process:p04" not in html
    older = html.split('href="/admin/audit/?before=', 1)[1].split('"', 1)[0]
    html = admin.get(f"/admin/audit/?before={older}").get_data(as_text=True)
    assert "process:p04" in html and "process:p00" in html and "process:p05" not in html
    assert "?before=" not in html


def test_admin_strings_are_escaped(admin, seeded):
    doc = example("return_goods.process.json")
    doc["name"] = "<script>alert(1)</script>"
    admin.post(BASE + "/json", data={"document": json.dumps(doc)})
    entry = entries()[0]
    html = admin.get(f"/admin/audit/{entry.id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.mark.parametrize("url", ["/admin/audit/", "/admin/audit/1"])
def test_agents_get_403_and_anonymous_visitors_the_login(client, auth, url):
    response = client.get(url)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    auth.login("agent")
    assert client.get(url).status_code == 403
