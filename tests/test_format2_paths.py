"""Format 2 on the paths besides the pages: the CLI, the admin's JSON API, the public web form.

The worked example (docs/examples/repair.process.json, published by the demo) is checked,
imported and published from the command line; a broken one is refused with every problem at its
JSON path, in the CLI, in the API's JSON and in the web form's answer.
"""

from __future__ import annotations

import copy
import html
import json
from pathlib import Path

import pytest
from conftest import PASSWORD
from test_tables import fix_process

from workflows import demo
from workflows.processes import documents as docs
from workflows.storage.db import database
from workflows.storage.models import Process, Ticket

ROOT = Path(__file__).resolve().parent.parent
REPAIR = ROOT / "docs" / "examples" / "repair.process.json"


def test_the_documented_example_is_the_demos():
    assert json.loads(REPAIR.read_text("utf-8")) == demo._load("repair.process.json")


def broken_repair() -> dict:
    document = demo._load("repair.process.json")
    properties = document["schema"]["properties"]
    properties["parts"]["items"]["properties"]["qty"]["x-formula"] = {"var": "price"}
    properties["parts_total"]["x-formula"] = {"+": [{"var": "fee"}, 1]}
    document["x-rules"][0]["field"] = "ghost"
    document["steps"][1]["fields"]["fee"] = "editable"
    return document


PROBLEMS = [
    "/schema/properties/parts/items/properties/qty/x-formula: x-formula applies to a whole field, not to a column",
    "/schema/properties/parts_total/x-formula: computed fields depend on each other in a cycle: "
    "parts_total -> fee -> parts_total",
    "/steps/1/fields/fee: a computed field cannot be editable or required",
    "/x-rules/0/field: no such field in schema",
]


@pytest.fixture
def demo_dictionaries(app):
    with app.app_context(), database.connection_context():
        for name in demo.DICTIONARIES:
            docs.import_dictionary(demo._load(name))


def test_the_cli_checks_imports_and_publishes_the_example(runner, demo_dictionaries, users):
    assert runner.invoke(args=["process", "check", str(REPAIR)]).exit_code == 0
    result = runner.invoke(args=["process", "import", str(REPAIR), "--publish"])
    assert result.exit_code == 0, result.output
    with database.connection_context():
        assert docs.latest_version("repair").document["format"] == 2


def test_the_cli_names_every_problem_of_a_broken_format_2_document(runner, demo_dictionaries, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken_repair(), ensure_ascii=False), "utf-8")
    result = runner.invoke(args=["process", "check", str(path), "--lang", "en"])
    assert result.exit_code != 0
    for problem in PROBLEMS:
        assert problem in result.output, result.output


def test_the_admin_api_refuses_it_with_json_paths(client, admin, demo_dictionaries):
    token = client.post("/api/v1/auth/token", json={"username": "admin", "password": PASSWORD}).json["token"]
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
    answer = client.put("/api/v1/processes/repair/draft", json=broken_repair(), headers=headers)
    assert answer.status_code == 422
    found = [f"{path}: {message}" for path, messages in answer.json["fields"].items() for message in messages]
    assert all(problem in found for problem in PROBLEMS), found
    good = client.put("/api/v1/processes/repair/draft", json=demo._load("repair.process.json"), headers=headers)
    assert good.status_code in (200, 201), good.json


def test_the_public_web_form_takes_a_table_and_computes_its_total(app, client, users, demo_dictionaries):
    document = copy.deepcopy(fix_process("editable"))
    document["web_form"] = {"enabled": True}
    for column in ("category", "model"):
        del document["schema"]["properties"]["parts"]["items"]["properties"][column]
    with app.app_context(), database.connection_context():
        docs.save_process(document, publish=True)
    form = {"summary": "网上报修", "parts-0-part": "fan", "parts-0-qty": "2", "parts-0-price": "19.99",
            "lz_present": ["summary", "parts"], "lz_contact-name": "访客", "lz_contact-phone": "13800001234"}
    answer = client.post("/forms/fix", data=form)
    assert answer.status_code in (200, 302), answer.get_data(as_text=True)[:2000]
    with database.connection_context():
        ticket = Ticket.get()
        assert ticket.data["parts"] == [{"part": "fan", "qty": 2, "price": 19.99}] and ticket.data["total"] == 39.98


def test_the_json_view_lists_format_2_problems_at_their_paths(admin, demo_dictionaries):
    with database.connection_context():
        docs.save_process(demo._load("repair.process.json"))
    answer = admin.post("/admin/processes/repair/json", headers={"Accept-Language": "en"},
                        data={"document": json.dumps(broken_repair(), ensure_ascii=False)})
    assert answer.status_code == 422
    page = html.unescape(answer.get_data(as_text=True))
    for problem in PROBLEMS:
        path, message = problem.split(": ", 1)
        assert path in page and message in page, problem
    with database.connection_context():
        assert docs.latest_version("repair") is None and "ghost" not in json.dumps(Process.get().draft)
