"""JSON keys keep document order through the API and the database (issue 16, defect 10), on both databases.

In a process document the order of ``schema.properties`` is the order of the
form's fields, so the API must answer keys as stored (Flask sorts them by
default) and the columns must keep them (TEXT, not PostgreSQL's JSONB, which
reorders). An unchanged GET-then-PUT round trip changes nothing.
"""

from __future__ import annotations

import json

import pytest
from conftest import example
from peewee import PostgresqlDatabase
from test_api import Api

from workflows.storage.db import database
from workflows.storage.models import AuditEntry, Dictionary, Process, ProcessVersion


@pytest.fixture
def api(client, world):
    return Api(client)


def keys(text: str, *path: str) -> list[str]:
    """The keys of the object at ``path`` in the JSON ``text``, in the order written."""
    value = json.loads(text)
    for step in path:
        value = value[step]
    return list(value)


def same(a: object, b: object) -> bool:
    """Equal including key order."""
    return json.dumps(a, ensure_ascii=False) == json.dumps(b, ensure_ascii=False)


def test_the_api_answers_documents_in_their_key_order(api):
    process = example("return_goods.process.json")
    published = api("GET", "/processes/return_goods", "agent").get_data(as_text=True)
    assert keys(published) == list(process)
    assert keys(published, "schema", "properties") == list(process["schema"]["properties"])
    version = api("GET", "/processes/return_goods/versions/1", "admin").get_data(as_text=True)
    assert same(json.loads(version), process)
    dictionary = api("GET", "/dictionaries/product", "agent").get_data(as_text=True)
    assert same(json.loads(dictionary), example("product.dictionary.json"))


def test_a_dictionary_round_trip_changes_nothing(api):
    document = api("GET", "/dictionaries/product", "admin").json
    response = api("PUT", "/dictionaries/product", "admin", json=document)
    assert response.status_code == 200 and response.json["changed"] is False
    assert response.json["revision"] == 1 and Dictionary.get(Dictionary.code == "product").revision == 1
    assert AuditEntry.select().count() == 0


def test_a_process_round_trip_keeps_the_field_order_and_records_nothing(api):
    document = api("GET", "/processes/return_goods/versions/1", "admin").json
    stamp = Process.get(Process.code == "return_goods").draft_updated_at
    response = api("PUT", "/processes/return_goods/draft", "admin", json=document)
    assert response.status_code == 200, response.json
    stored = Process.get(Process.code == "return_goods")
    assert same(stored.draft, example("return_goods.process.json")) and stored.draft_updated_at == stamp
    assert AuditEntry.select().count() == 0
    published = api("POST", "/processes/return_goods/publish", "admin")
    assert published.json["changed"] is False and published.json["number"] == 1
    assert ProcessVersion.select().count() == 1 and AuditEntry.select().count() == 0


def test_a_reordered_form_is_stored_and_answered_in_its_new_order(api):
    document = example("return_goods.process.json")
    properties = document["schema"]["properties"]
    document["schema"]["properties"] = dict(reversed(properties.items()))
    assert api("PUT", "/processes/return_goods/draft", "admin", json=document).status_code == 200
    assert api("POST", "/processes/return_goods/publish", "admin").json["number"] == 2
    database.close()  # read back through a new connection: what the column holds, not a cached object
    assert list(ProcessVersion.get(ProcessVersion.number == 2).document["schema"]["properties"]) == list(
        reversed(properties))
    answered = api("GET", "/processes/return_goods", "agent").get_data(as_text=True)
    assert keys(answered, "schema", "properties") == list(reversed(properties))
    [save, publish] = AuditEntry.select().order_by(AuditEntry.id)
    assert (save.action, publish.action) == ("process.save", "process.publish")


def test_document_columns_are_text_on_postgresql(world):
    """PostgreSQL's JSONB would sort the keys; the document columns must stay TEXT."""
    if not isinstance(database.obj, PostgresqlDatabase):
        assert Process._meta.fields["draft"].field_type == "TEXT"
        return
    rows = database.execute_sql(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE (table_name, column_name) IN (('dictionary', 'document'), ('process', 'draft'), "
        "('process_version', 'document'), ('rule', 'condition'), ('rule', 'actions'))").fetchall()
    assert len(rows) == 5 and {data_type for *_, data_type in rows} == {"text"}
