"""Every write path of documents has the same guards and audit (issue 16, defect 9), on both databases.

``flask dictionary import`` used to store any valid document: it dropped items
tickets hold and wrote no audit entry. It now goes through
``workflows.processes.dictedit.save`` like the admin and the API; ``flask process
import`` goes through ``documents.store_process`` like the admin and the API.
The command line's audit entries have no actor (actor None; versions are
published by ``cli``).
"""

from __future__ import annotations

import json
from io import BytesIO

import pytest
from conftest import example
from test_api import Api
from test_engine import REGISTER

from workflows.storage.db import database
from workflows.storage.models import AuditEntry, Dictionary, Process, ProcessVersion
from workflows.tickets import engine

HELD = "/items/1/children/0: 'fr-200' is held by tickets: disable it instead of removing it"


def without_fr_200() -> dict:
    """The product dictionary without the model a return-goods ticket holds."""
    doc = example("product.dictionary.json")
    assert doc["items"][1]["children"][0]["value"] == "fr-200"
    del doc["items"][1]["children"][0]
    doc["name"] = "产品 (改)"
    return doc


def write(tmp_path, document: dict, name: str = "doc.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return str(path)


def entries() -> list[AuditEntry]:
    with database.connection_context():
        return list(AuditEntry.select().order_by(AuditEntry.id))


def product() -> Dictionary:
    with database.connection_context():
        return Dictionary.get(Dictionary.code == "product")


@pytest.fixture
def held(world):
    """A return-goods ticket holding product items ``fr`` and ``fr-200``."""
    return engine.create(world["agent"], "return_goods", dict(REGISTER))


def test_the_cli_refuses_to_drop_a_held_item_and_changes_nothing(held, runner, tmp_path):
    result = runner.invoke(args=["dictionary", "import", write(tmp_path, without_fr_200()), "--lang", "en"])
    assert result.exit_code == 1
    assert result.output.splitlines() == [HELD]
    row = product()
    assert (row.revision, row.name, row.document) == (1, "产品", example("product.dictionary.json"))
    assert entries() == []


def test_a_cli_import_writes_one_audit_entry_and_an_identical_one_none(held, runner, tmp_path):
    doc = example("product.dictionary.json")
    doc["items"][1]["children"][0]["enabled"] = False  # disabling a held item is allowed
    doc["items"].append({"value": "tv", "label": "电视"})
    path = write(tmp_path, doc)
    result = runner.invoke(args=["dictionary", "import", path])
    assert result.exit_code == 0 and result.output == "dictionary product: revision 2\n"
    [entry] = entries()
    assert (entry.actor_id, entry.action, entry.target) == (None, "dictionary.import", "dictionary:product")
    assert entry.before == example("product.dictionary.json") and entry.after == doc
    again = runner.invoke(args=["dictionary", "import", path])
    assert again.exit_code == 0 and again.output == "dictionary product: revision 2 (unchanged)\n"
    assert len(entries()) == 1 and product().revision == 2


def test_a_cli_import_of_a_new_dictionary_is_audited(world, runner, tmp_path):
    doc = {"format": 1, "code": "colour", "name": "颜色", "items": [{"value": "red", "label": "红"}]}
    result = runner.invoke(args=["dictionary", "import", write(tmp_path, doc)])
    assert result.exit_code == 0 and result.output == "dictionary colour: revision 1\n"
    [entry] = entries()
    assert (entry.actor_id, entry.target, entry.before, entry.after) == (None, "dictionary:colour", None, doc)


def test_the_api_refuses_the_same_drop(held, client):
    response = Api(client)("PUT", "/dictionaries/product", "admin", json=without_fr_200())
    assert response.status_code == 422
    assert response.json["fields"] == {"/items/1/children/0": [HELD.split(": ", 1)[1]]}
    assert product().revision == 1 and entries() == []


def test_the_admin_import_refuses_the_same_drop(auth, client, seeded, users):
    with database.connection_context():
        engine.create(users["agent"], "return_goods", dict(REGISTER))
    assert auth.login("admin").status_code == 302
    upload = {"file": (BytesIO(json.dumps(without_fr_200()).encode()), "product.json")}
    response = client.post("/admin/dictionaries/import", data=upload, content_type="multipart/form-data",
                           headers={"Accept-Language": "en"})
    assert response.status_code == 422
    assert "/items/1/children/0: &#39;fr-200&#39; is held by tickets" in response.get_data(as_text=True)
    assert product().revision == 1 and entries() == []


# -- process documents -------------------------------------------------------------------------------------

def test_a_cli_process_import_is_audited_like_the_admin_import(world, runner, tmp_path):
    doc = example("return_goods.process.json")
    doc["name"] = "退货申请 (新)"
    path = write(tmp_path, doc, "process.json")
    result = runner.invoke(args=["process", "import", path, "--publish"])
    assert result.exit_code == 0 and "version 2 published" in result.output
    [entry] = entries()
    assert (entry.actor_id, entry.action, entry.target) == (None, "process.import", "process:return_goods")
    assert entry.before == example("return_goods.process.json") and entry.after == {"draft": doc, "version": 2}
    with database.connection_context():
        assert ProcessVersion.get(ProcessVersion.number == 2).published_by == "cli"
        stamp = Process.get(Process.code == "return_goods").draft_updated_at
    again = runner.invoke(args=["process", "import", path, "--publish"])
    assert again.exit_code == 0 and "version 2 published" in again.output
    assert len(entries()) == 1  # identical: nothing rewritten, nothing recorded
    with database.connection_context():
        assert Process.get(Process.code == "return_goods").draft_updated_at == stamp


def test_a_refused_cli_process_import_records_nothing(world, runner, tmp_path):
    doc = example("return_goods.process.json")
    doc["steps"][0]["transitions"][0]["to"] = "nowhere"
    result = runner.invoke(args=["process", "import", write(tmp_path, doc), "--publish", "--lang", "en"])
    assert result.exit_code == 1 and entries() == []
