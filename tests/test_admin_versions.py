"""Process versions in the admin: JSON editor, publish, versions and diffs, export/import, discard."""

from __future__ import annotations

import copy
import json
from io import BytesIO

import pytest
from conftest import example
from helpers import routes, sent_to_login

from app import create_app
from workflows.processes import documents as docs
from workflows.processes.versions import diff, discard_draft
from workflows.storage.db import database
from workflows.storage.models import Process, ProcessVersion

BASE = "/admin/processes/return_goods"
EN = {"Accept-Language": "en"}


# -- diff (pure) --------------------------------------------------------------------------------

@pytest.fixture
def doc() -> dict:
    return example("return_goods.process.json")


def test_diff_of_identical_documents_is_empty(doc):
    changes = diff(doc, copy.deepcopy(doc))
    assert changes["basics"] == []
    for part in ("fields", "steps"):
        assert changes[part] == {"added": {}, "removed": {}, "changed": {}}


def test_diff_finds_added_removed_and_changed_fields(doc):
    new = copy.deepcopy(doc)
    props = new["schema"]["properties"]
    props["note"] = {"type": "string", "title": "备注"}
    del props["photos"]
    props["defect"]["maxLength"] = 100
    props["defect"]["title"] = "问题描述"
    fields = diff(doc, new)["fields"]
    assert list(fields["added"]) == ["note"]
    assert list(fields["removed"]) == ["photos"]
    assert fields["changed"]["defect"]["keys"] == ["title", "maxLength"]


def test_diff_finds_added_removed_and_changed_steps(doc):
    new = copy.deepcopy(doc)
    new["steps"][1]["name"] = "组长审批"
    new["steps"][1]["sla"] = {"minutes": 60}
    new["steps"][2]["allow_transfer"] = False
    new["steps"].pop()  # finance
    new["steps"].append({"key": "check", "name": "回访", "fields": {}, "assignee": {"type": "creator"}})
    new["name"], new["priority"] = "退货", {"enabled": False}
    changes = diff(doc, new)
    assert list(changes["steps"]["added"]) == ["check"]
    assert list(changes["steps"]["removed"]) == ["finance"]
    assert changes["steps"]["changed"]["approve"]["keys"] == ["name", "sla"]
    assert changes["steps"]["changed"]["warehouse"]["keys"] == ["allow_transfer"]
    assert changes["basics"] == ["name", "priority"]


def test_diff_sees_changed_field_modes_assignee_and_transitions(doc):
    new = copy.deepcopy(doc)
    new["steps"][0]["fields"]["photos"] = "required"
    new["steps"][0]["assignee"] = {"type": "role", "value": "agent"}
    new["steps"][0]["transitions"][0]["label"] = "提交"
    assert diff(doc, new)["steps"]["changed"]["register"]["keys"] == ["fields", "assignee", "transitions"]


# -- pages ----------------------------------------------------------------------------------------

@pytest.fixture
def admin(auth, client):
    assert auth.login("admin").status_code == 302
    return client


def draft() -> dict:
    with database.connection_context():
        return Process.get(Process.code == "return_goods").draft


def version_count() -> int:
    with database.connection_context():
        return ProcessVersion.select().count()


def test_json_view_shows_the_draft(admin, seeded):
    html = admin.get(BASE + "/json").get_data(as_text=True)
    assert "&#34;code&#34;: &#34;return_goods&#34;" in html and 'name="csrf_token"' in html
    assert "js/jsonview.js" in html


def test_json_view_saves_a_valid_edit_as_draft(admin, seeded, doc):
    doc["steps"][1]["name"] = "组长审批"
    response = admin.post(BASE + "/json", data={"document": json.dumps(doc, ensure_ascii=False)})
    assert response.status_code == 302 and response.headers["Location"].endswith(BASE + "/json")
    assert draft()["steps"][1]["name"] == "组长审批"
    assert version_count() == 1  # saved, not published


def test_invalid_json_syntax_is_422_with_line_and_nothing_saved(admin, seeded):
    text = '{\n  "code": "return_goods",\n  "name": "x",,\n}'
    response = admin.post(BASE + "/json", data={"document": text}, headers=EN)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "/: Invalid JSON at line 3, column 15" in html
    assert "&#34;name&#34;: &#34;x&#34;,," in html  # the submitted text is kept
    assert draft() == example("return_goods.process.json")


def test_every_problem_is_listed_and_nothing_saved(admin, seeded, doc):
    doc["steps"][0]["fields"]["nosuch"] = "editable"
    doc["steps"].append(copy.deepcopy(doc["steps"][1]))
    doc["steps"][2]["transitions"][0]["to"] = "missing"
    response = admin.post(BASE + "/json", data={"document": json.dumps(doc)}, headers=EN)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    with database.connection_context():
        problems = [p.render() for p in docs.check(doc)]
    assert len(problems) >= 3
    for problem in problems:
        assert str(problem).replace('"', "&#34;").replace("'", "&#39;") in html
    for path in ("/steps/0/fields/nosuch", "/steps/2/transitions/0/to", "/steps/4/key"):
        assert path + ": " in html
    assert draft() == example("return_goods.process.json")


def test_problems_are_listed_in_chinese(admin, seeded, doc):
    doc["steps"][2]["transitions"][0]["to"] = "missing"
    html = admin.post(BASE + "/json", data={"document": json.dumps(doc)},
                      headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "/steps/2/transitions/0/to: " in html and "Nothing was saved" not in html


def test_json_view_keeps_the_code(admin, seeded, doc):
    doc["code"] = "other"
    response = admin.post(BASE + "/json", data={"document": json.dumps(doc)}, headers=EN)
    assert response.status_code == 422 and "/code: The code must stay return_goods" in response.get_data(as_text=True)
    with database.connection_context():
        assert Process.select().count() == 1


def test_new_process_starts_from_a_valid_skeleton(admin, seeded):
    html = admin.get("/admin/processes/new/json").get_data(as_text=True)
    text = html.split('id="lz-document"', 1)[1].split(">", 1)[1].split("</textarea>")[0]
    skeleton = json.loads(text.replace("&#34;", '"'))
    response = admin.post("/admin/processes/new/json", data={"document": json.dumps(skeleton)})
    assert response.status_code == 302 and response.headers["Location"].endswith("/new_process/json")
    with database.connection_context():
        assert Process.get(Process.code == "new_process").latest_version == 0


def test_publish_makes_a_version_by_the_admin(admin, seeded, doc):
    doc["steps"][1]["name"] = "组长审批"
    admin.post(BASE + "/json", data={"document": json.dumps(doc)})
    response = admin.post(BASE + "/publish", headers=EN)
    assert response.status_code == 302 and response.headers["Location"].endswith(BASE + "/versions")
    html = admin.get(BASE + "/versions", headers=EN).get_data(as_text=True)
    assert "Published version 2." in html and "admin" in html
    with database.connection_context():
        assert docs.get_version("return_goods", 2).published_by == "admin"


def test_publish_refuses_an_invalid_draft_listing_every_problem(admin, seeded, doc):
    doc["steps"][0]["fields"]["nosuch"] = "editable"
    doc["steps"][1]["transitions"][0]["to"] = "missing"
    with database.connection_context():
        Process.update(draft=doc).where(Process.code == "return_goods").execute()
    response = admin.post(BASE + "/publish", headers=EN)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "/steps/0/fields/nosuch" in html and "/steps/1/transitions/0/to" in html
    assert version_count() == 1


def test_versions_page_lists_versions_with_previews(admin, seeded):
    html = admin.get(BASE + "/versions").get_data(as_text=True)
    assert "v1" in html and f'href="{BASE}/1/approve"' in html and f'href="{BASE}/export?version=1"' in html


def test_diff_page_shows_a_renamed_step(admin, seeded, app, doc):
    doc["steps"][1]["name"] = "组长审批"
    with app.app_context(), database.connection_context():
        docs.save_process(doc, publish=True)
    html = admin.get(BASE + "/versions").get_data(as_text=True)
    assert f'action="{BASE}/diff"' in html
    response = admin.get(BASE + "/diff?a=1&b=2", headers=EN)
    html = response.get_data(as_text=True)
    changed = html.split('class="lz-diff-steps"')[1]
    assert response.status_code == 200
    assert "主管审批 → 组长审批 <code>approve</code>" in changed and "<code>name</code>" in changed
    assert admin.get(BASE + "/diff?a=1&b=9").status_code == 404


def test_export_then_import_adds_no_version(admin, seeded):
    response = admin.get(BASE + "/export?version=1")
    assert response.headers["Content-Disposition"] == "attachment; filename=return_goods-v1.json"
    text = response.get_data(as_text=True)
    assert "退货申请" in text and '\n  "code": "return_goods"' in text
    assert json.loads(text) == example("return_goods.process.json")
    response = admin.post("/admin/processes/import", content_type="multipart/form-data",
                          data={"file": (BytesIO(text.encode()), "return_goods-v1.json"), "publish": "1"})
    assert response.status_code == 302
    assert version_count() == 1


def test_import_lists_problems_and_saves_nothing(admin, seeded, doc):
    doc["code"], doc["steps"][1]["transitions"][0]["to"] = "imported", "missing"
    response = admin.post("/admin/processes/import", content_type="multipart/form-data", headers=EN,
                          data={"file": (BytesIO(json.dumps(doc).encode()), "x.json")})
    assert response.status_code == 422 and "/steps/1/transitions/0/to" in response.get_data(as_text=True)
    with database.connection_context():
        assert Process.get_or_none(Process.code == "imported") is None


def test_import_can_publish(admin, seeded, doc):
    doc["code"] = "imported"
    admin.post("/admin/processes/import", content_type="multipart/form-data",
               data={"file": (BytesIO(json.dumps(doc).encode()), "x.json"), "publish": "1"})
    with database.connection_context():
        assert docs.get_version("imported").published_by == "admin"


def test_discard_draft_returns_to_the_published_document(admin, seeded, doc):
    doc["name"] = "改过的"
    admin.post(BASE + "/json", data={"document": json.dumps(doc)})
    assert draft()["name"] == "改过的"
    assert admin.post(BASE + "/discard").status_code == 302
    assert draft() == example("return_goods.process.json")
    with database.connection_context():
        assert Process.get(Process.code == "return_goods").name == "退货申请"


def test_discard_draft_of_a_never_published_process_deletes_it(app, seeded, doc):
    doc["code"] = "fresh"
    with app.app_context(), database.connection_context():
        docs.save_process(doc)
        assert discard_draft("fresh") is None
        assert Process.get_or_none(Process.code == "fresh") is None


# -- access -------------------------------------------------------------------------------------

GETS = (BASE + "/json", "/admin/processes/new/json", BASE + "/versions", BASE + "/diff?a=1&b=1",
        BASE + "/export?version=1")
POSTS = (BASE + "/json", "/admin/processes/new/json", BASE + "/publish", "/admin/processes/import",
         BASE + "/discard")


test_anonymous_visitors_are_sent_to_login = sent_to_login(GETS, POSTS, "seeded")


@pytest.mark.parametrize(("method", "url"), routes(GETS, POSTS))
def test_agents_are_refused(client, auth, seeded, method, url):
    auth.login("agent")
    assert getattr(client, method)(url).status_code == 403
    assert draft() == example("return_goods.process.json")


@pytest.mark.parametrize("url", POSTS)
def test_posts_need_a_csrf_token(seeded, users, db_url, url):
    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "s", "WTF_CSRF_ENABLED": True})
    response = app.test_client().post(url, data={"document": "{}"})
    assert response.status_code == 400 and b"CSRF" in response.data
