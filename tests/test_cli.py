"""The command line of interfaces.md, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from conftest import EXAMPLES, example

from workflows.storage.db import database
from workflows.storage.models import Dictionary, Process, ProcessVersion

RAW_PROCESS = str(EXAMPLES / "return_goods.process.json")  # as shared: fails static check 9 only
PROCESS = str(Path(tempfile.mkdtemp()) / "return_goods.process.json")  # conftest.example(): passes every check
Path(PROCESS).write_text(json.dumps(example("return_goods.process.json"), ensure_ascii=False), "utf-8")


def import_dictionaries(runner):
    for code in ("channel", "product"):
        result = runner.invoke(args=["dictionary", "import", str(EXAMPLES / f"{code}.dictionary.json")])
        assert result.exit_code == 0, result.output


def counts() -> tuple[int, int, int]:
    with database.connection_context():
        return Dictionary.select().count(), Process.select().count(), ProcessVersion.select().count()


def test_db_upgrade_is_idempotent(runner):
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0 and result.output.strip() == "up to date"


def test_check_needs_the_dictionaries_then_passes(runner):
    before = runner.invoke(args=["process", "check", PROCESS])
    assert before.exit_code == 1
    assert "/schema/properties/category/x-dictionary: unknown dictionary 'product'" in before.output.splitlines()
    import_dictionaries(runner)
    after = runner.invoke(args=["process", "check", PROCESS])
    assert after.exit_code == 0 and after.output == ""


def test_check_refuses_a_cascade_child_shown_where_its_parent_is_hidden(runner):
    """Issue 16, defect 3 (static check 9): the shared example shows ``model`` at finance, ``category`` hidden."""
    import_dictionaries(runner)
    result = runner.invoke(args=["process", "check", RAW_PROCESS])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "/steps/3/fields/model: cascade field is visible while its parent 'category' may be hidden"]


def broken_document(tmp_path) -> str:
    doc = example("return_goods.process.json")
    doc["steps"][0]["fields"]["ghost"] = "required"                          # unknown field
    doc["schema"]["properties"]["source"]["x-dictionary"] = "nochannel"       # unknown dictionary
    doc["steps"][1]["fields"]["order_no"] = "visible"                         # bad mode
    doc["steps"].append({"key": "approve", "name": "重复", "fields": {}, "assignee": {"type": "creator"},
                         "transitions": [{"to": "$end", "label": "结束"}]})   # duplicate step key
    doc["steps"].append({"key": "island", "name": "孤岛", "fields": {}, "assignee": {"type": "creator"},
                         "transitions": [{"to": "$end", "label": "结束"}]})   # unreachable step
    doc["steps"][2]["transitions"] = [{"to": "warehouse", "label": "原地"}]  # cannot reach $end
    doc["steps"][3]["transitions"].append({"to": "audit", "label": "审计"})   # missing step
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return str(path)


EXPECTED = [
    "/schema/properties/source/x-dictionary: unknown dictionary 'nochannel'",
    "/steps/0/fields/ghost: no such field in schema",
    '/steps/1/fields/order_no: "visible" is not one of ["hidden", "readonly", "editable", "required"]',
    "/steps/2: step 'warehouse' cannot reach $end",
    "/steps/3: step 'finance' is not reachable from the first step",
    "/steps/3/transitions/1/to: no such step 'audit'",
    "/steps/4/key: duplicate step key 'approve'",
    "/steps/5: step 'island' is not reachable from the first step",
]


@pytest.mark.parametrize("command", [["process", "check"], ["process", "import"], ["process", "import", "--publish"]])
def test_a_broken_document_gets_one_line_per_problem_and_nothing_stored(runner, tmp_path, command):
    import_dictionaries(runner)
    result = runner.invoke(args=[*command, broken_document(tmp_path), "--lang", "en"])
    assert result.exit_code == 1
    assert result.output.splitlines() == EXPECTED
    assert counts() == (2, 0, 0)


def test_problems_in_chinese(runner, tmp_path):
    import_dictionaries(runner)
    result = runner.invoke(args=["process", "check", broken_document(tmp_path), "--lang", "zh"])
    assert "/steps/0/fields/ghost: 模板中没有此字段" in result.output.splitlines()
    assert "/steps/4/key: 步骤标识 'approve' 重复" in result.output.splitlines()


def test_language_from_the_environment(runner, tmp_path, monkeypatch):
    import_dictionaries(runner)
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    monkeypatch.delenv("LANGUAGE", raising=False)
    monkeypatch.delenv("LC_ALL", raising=False)
    chinese = runner.invoke(args=["process", "check", broken_document(tmp_path)]).output
    monkeypatch.setenv("LANG", "C.UTF-8")
    english = runner.invoke(args=["process", "check", broken_document(tmp_path)]).output
    assert "模板中没有此字段" in chinese and "no such field in schema" in english


def test_unreadable_json_is_a_problem_not_a_traceback(runner, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"format": 1,', encoding="utf-8")
    result = runner.invoke(args=["process", "check", str(path), "--lang", "en"])
    assert result.exit_code == 1 and result.output.startswith("/: cannot read document:")


def test_import_publish_export_round_trip(runner):
    import_dictionaries(runner)
    assert runner.invoke(args=["process", "import", PROCESS]).exit_code == 0
    assert counts() == (2, 1, 0)
    assert runner.invoke(args=["process", "export", "return_goods"]).exit_code == 1
    published = runner.invoke(args=["process", "import", PROCESS, "--publish"])
    assert published.exit_code == 0 and "version 1 published" in published.output
    exported = runner.invoke(args=["process", "export", "return_goods"])
    assert json.loads(exported.output) == example("return_goods.process.json")
    assert list(json.loads(exported.output)["schema"]["properties"])[:3] == ["order_no", "source", "category"]


def test_publishing_the_same_document_again_adds_no_version(runner):
    import_dictionaries(runner)
    for _ in range(2):
        runner.invoke(args=["process", "import", PROCESS, "--publish"])
    assert counts() == (2, 1, 1)


def test_a_changed_document_becomes_version_2(runner, tmp_path):
    import_dictionaries(runner)
    runner.invoke(args=["process", "import", PROCESS, "--publish"])
    doc = example("return_goods.process.json")
    doc["name"] = "退货申请 (新)"
    path = tmp_path / "v2.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    assert "version 2 published" in runner.invoke(args=["process", "import", str(path), "--publish"]).output
    v1 = json.loads(runner.invoke(args=["process", "export", "return_goods", "--version", "1"]).output)
    v2 = json.loads(runner.invoke(args=["process", "export", "return_goods"]).output)
    assert (v1["name"], v2["name"]) == ("退货申请", "退货申请 (新)")


def test_dictionary_import_refuses_a_bad_document(runner, tmp_path):
    doc = example("product.dictionary.json")
    doc["items"][0]["children"].append({"value": "fr-200", "label": "重复"})
    path = tmp_path / "dict.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(args=["dictionary", "import", str(path), "--lang", "en"])
    assert result.exit_code == 1
    assert result.output.splitlines() == ["/items/1/children/0/value: duplicate value 'fr-200'"]
    assert counts() == (0, 0, 0)


def test_dictionary_reimport_bumps_the_revision_only_when_changed(runner, tmp_path):
    import_dictionaries(runner)
    result = runner.invoke(args=["dictionary", "import", str(EXAMPLES / "product.dictionary.json")])
    assert result.output.strip() == "dictionary product: revision 1 (unchanged)"
    doc = example("product.dictionary.json")
    doc["name"] = "产品 (新)"
    path = tmp_path / "product.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    assert runner.invoke(args=["dictionary", "import", str(path)]).output.strip() == "dictionary product: revision 2"


def test_demo_is_idempotent(runner):
    first = runner.invoke(args=["demo"])
    second = runner.invoke(args=["demo"])
    assert first.exit_code == 0 and second.exit_code == 0
    assert "process return_goods version 1 published" in second.output
    assert "process repair version 1 published" in second.output
    assert "process it_change version 1 published" in second.output
    assert counts() == (3, 3, 3)  # channel, product, kb_category; return_goods, repair, it_change: one version each


def test_reordering_fields_is_a_new_version(runner, tmp_path):
    import_dictionaries(runner)
    runner.invoke(args=["process", "import", PROCESS, "--publish"])
    doc = example("return_goods.process.json")
    properties = doc["schema"]["properties"]
    doc["schema"]["properties"] = {"defect": properties.pop("defect"), **properties}
    path = tmp_path / "reordered.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    assert "version 2 published" in runner.invoke(args=["process", "import", str(path), "--publish"]).output
    exported = json.loads(runner.invoke(args=["process", "export", "return_goods"]).output)
    assert next(iter(exported["schema"]["properties"])) == "defect"
