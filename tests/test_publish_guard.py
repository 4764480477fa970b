"""The publish guard: a creation step that shows no field (and a required field its handler may not read,
static check 12) is refused on every publishing path, naming the JSON path; drafts are still saved."""

from __future__ import annotations

import copy
import json
from io import BytesIO

import pytest
from conftest import EXAMPLES, ROOT, example
from test_api import Api

from formbuilder.guards import creation_step_shows_nothing, publish_guards
from workflows.processes import documents as docs
from workflows.storage.db import database
from workflows.storage.models import Process, ProcessVersion

PATH = "/steps/0/fields"
SAYS = "the creation step shows no field"
EN = {"Accept-Language": "en"}


def blank_creation(document: dict | None = None, code: str = "return_goods") -> dict:
    """The return-goods process whose 来电登记 step shows nothing (every field hidden there)."""
    document = copy.deepcopy(document or example("return_goods.process.json"))
    document["code"] = code
    document["steps"][0]["fields"] = {name: "hidden" for name in document["steps"][0]["fields"]}
    return document


def versions() -> int:
    with database.connection_context():
        return ProcessVersion.select().count()


# -- the rule (pure) ---------------------------------------------------------------------------------

def test_a_creation_step_showing_nothing_is_refused_at_its_fields():
    found = creation_step_shows_nothing(blank_creation())
    assert [p.render() for p in found] == [
        f"{PATH}: {SAYS}: make at least one field read-only, editable or required at the first step"]
    assert publish_guards(blank_creation()) == found


@pytest.mark.parametrize("mode", ["readonly", "editable", "required",
                                  {"mode": "required", "when": {"required": ["order_no"]}, "else": "hidden"},
                                  {"mode": "hidden", "when": {"required": ["order_no"]}, "else": "readonly"}])
def test_any_mode_but_hidden_in_either_branch_shows_a_field(mode):
    document = blank_creation()
    document["steps"][0]["fields"]["defect"] = mode
    assert creation_step_shows_nothing(document) == []


@pytest.mark.parametrize("fields", [{}, {"order_no": "hidden"}, {"ghost": "required"},
                                    {"order_no": {"mode": "hidden", "when": {}, "else": "hidden"}}])
def test_no_field_of_the_process_shown_is_nothing_shown(fields):
    document = blank_creation()
    document["steps"][0]["fields"] = fields
    assert [p.path for p in creation_step_shows_nothing(document)] == [PATH]


def test_later_steps_may_show_nothing():
    document = example("return_goods.process.json")
    document["steps"][2]["fields"] = {}
    assert publish_guards(document) == []


@pytest.mark.parametrize("document", [None, [], {}, {"steps": []}, {"steps": ["x"]}, {"steps": [{"fields": 3}]}])
def test_a_malformed_document_is_left_to_the_meta_schema(document):
    assert isinstance(publish_guards(document), list)


def test_the_examples_and_the_demo_pass_the_guard():
    paths = [*EXAMPLES.glob("*.process.json"), *(ROOT / "docs" / "examples").glob("*.process.json"),
             *(ROOT / "workflows" / "demo").glob("*.process.json")]
    assert len(paths) >= 5
    for path in paths:
        assert publish_guards(json.loads(path.read_text("utf-8"))) == [], path


# -- the store: drafts saved, publishing refused ------------------------------------------------------

def test_the_store_saves_the_draft_but_refuses_to_publish_it(seeded, app):
    document = blank_creation(code="blank")
    with app.app_context(), database.connection_context():
        with pytest.raises(docs.DocumentError) as refused:
            docs.save_process(document, publish=True)
        assert [p.path for p in refused.value.problems] == [PATH]
        assert Process.get_or_none(Process.code == "blank") is None  # nothing stored on a refusal
        docs.save_process(document)  # a draft
        process, problems = docs.save_draft(document)  # the editor's save says what is left
        assert [p.path for p in problems] == [PATH] and process.latest_version == 0
        assert [p.path for p in docs.publish_problems(document)] == [PATH]
        assert docs.check(document) == []  # a static check would refuse the draft on the JSON path
        with pytest.raises(docs.DocumentError):
            docs.publish("blank")
    assert versions() == 1


# -- the admin's JSON view, publish button and import ------------------------------------------------

BASE = "/admin/processes/return_goods"


def test_the_admin_saves_the_draft_and_publishing_is_refused_with_the_path(admin, seeded):
    saved = admin.post(BASE + "/json", data={"document": json.dumps(blank_creation(), ensure_ascii=False)})
    assert saved.status_code == 302
    editor = admin.get(BASE + "/edit", headers=EN).get_data(as_text=True)
    assert PATH in editor and SAYS in editor and "it can be published" not in editor
    response = admin.post(BASE + "/publish", headers=EN)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and f"{PATH}: {SAYS}" in html
    assert versions() == 1


def test_an_import_with_publish_is_refused_and_saves_nothing(admin, seeded):
    body = json.dumps(blank_creation(code="imported")).encode()
    response = admin.post("/admin/processes/import", content_type="multipart/form-data", headers=EN,
                          data={"file": (BytesIO(body), "x.json"), "publish": "1"})
    assert response.status_code == 422 and PATH in response.get_data(as_text=True)
    with database.connection_context():
        assert Process.get_or_none(Process.code == "imported") is None
    draft = admin.post("/admin/processes/import", content_type="multipart/form-data",
                       data={"file": (BytesIO(body), "x.json")})
    assert draft.status_code == 302  # without publishing, the draft is kept


def test_problems_in_chinese(admin, seeded):
    admin.post(BASE + "/json", data={"document": json.dumps(blank_creation())})
    html = admin.post(BASE + "/publish", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert f"{PATH}: 建单步骤不显示任何字段" in html


# -- the API -------------------------------------------------------------------------------------------

@pytest.fixture
def api(client, world):
    return Api(client)


def test_the_api_saves_the_draft_and_refuses_to_publish_it(api):
    saved = api("PUT", "/processes/return_goods/draft", "admin", json=blank_creation())
    assert saved.status_code == 200, saved.json
    response = api("POST", "/processes/return_goods/publish", "admin")
    assert response.status_code == 422 and list(response.json["fields"]) == [PATH]
    assert SAYS in response.json["fields"][PATH][0]
    assert ProcessVersion.select().count() == 1


def test_static_check_12_refuses_a_required_field_its_handlers_may_not_read(api):
    """A field only admins may read, required at 主管审批 (handled by supervisors)."""
    document = {**api("GET", "/processes/return_goods", "admin").json, "format": 2}
    document["schema"]["properties"]["approval"]["x-readers"] = {"roles": ["admin"]}
    refused = api("PUT", "/processes/return_goods/draft", "admin", json=document)
    assert refused.status_code == 422 and "/steps/1/fields/approval" in refused.json["fields"]
    docs.save_draft(document)  # the editor keeps it as a draft, with the problem to show
    response = api("POST", "/processes/return_goods/publish", "admin")
    assert response.status_code == 422 and "/steps/1/fields/approval" in response.json["fields"]
    assert ProcessVersion.select().count() == 1


# -- the command line ----------------------------------------------------------------------------------

def test_the_cli_imports_the_draft_and_refuses_to_publish_it(runner, tmp_path):
    for code in ("channel", "product"):
        assert runner.invoke(args=["dictionary", "import", str(EXAMPLES / f"{code}.dictionary.json")]).exit_code == 0
    path = tmp_path / "blank.json"
    path.write_text(json.dumps(blank_creation(), ensure_ascii=False), "utf-8")
    published = runner.invoke(args=["process", "import", str(path), "--publish", "--lang", "en"])
    assert published.exit_code == 1 and published.output.splitlines() == [
        f"{PATH}: {SAYS}: make at least one field read-only, editable or required at the first step"]
    assert versions() == 0
    drafted = runner.invoke(args=["process", "import", str(path)])
    assert drafted.exit_code == 0 and "draft saved" in drafted.output
    with database.connection_context():
        assert Process.get(Process.code == "return_goods").latest_version == 0
