"""Dictionary item edits (pure), who holds and uses a dictionary, and saving with the audit log, on both databases."""

from __future__ import annotations

import copy

import pytest
from conftest import example

from workflows.processes import dictedit as de
from workflows.processes import documents as docs
from workflows.processes.documents import DocumentError
from workflows.storage.models import AuditEntry, Dictionary, Ticket
from workflows.tickets import engine

REGISTER = {"order_no": "TH-1", "source": "phone", "category": "fr", "model": "fr-200",
            "purchase_date": "2026-11-01", "defect": "门坏了"}


@pytest.fixture
def product() -> dict:
    return example("product.dictionary.json")


def problems(error: pytest.ExceptionInfo) -> list[str]:
    return [str(p) for p in error.value.problems]


# -- pure edits ---------------------------------------------------------------------------------------

def test_add_item_at_top_level_and_as_child(product):
    original = copy.deepcopy(product)
    top = de.add_item(product, None, "tv", "电视")
    assert top["items"][-1] == {"value": "tv", "label": "电视"}
    child = de.add_item(top, "tv", "tv-55", " 55 寸 ")
    assert child["items"][-1]["children"] == [{"value": "tv-55", "label": "55 寸"}]
    grandchild = de.add_item(child, "mw-a1", "mw-a1-x", "X")
    assert grandchild["items"][0]["children"][0]["children"] == [{"value": "mw-a1-x", "label": "X"}]
    assert product == original  # the input is never changed


def test_add_item_refuses_duplicates_bad_values_unknown_parents_and_empty_labels(product):
    with pytest.raises(DocumentError) as error:
        de.add_item(product, "mw", "fr-200", "again")
    assert problems(error) == ["/items/0/children/3/value: duplicate value 'fr-200'"]
    with pytest.raises(DocumentError) as error:
        de.add_item(product, None, "has space", "x")
    assert problems(error)[0].startswith("/items/3/value: value must match")
    with pytest.raises(DocumentError) as error:
        de.add_item(product, "nosuch", "x1", "x")
    assert problems(error) == ["/items: no item with value 'nosuch'"]
    with pytest.raises(DocumentError) as error:
        de.add_item(product, "fr", "fr-600", "  ")
    assert problems(error) == ["/items/1/children/2/label: must not be shorter than 1 characters"]


def test_rename_changes_the_label_only(product):
    renamed = de.rename(product, "fr-450", "450 升")
    assert renamed["items"][1]["children"][1] == {"value": "fr-450", "label": "450 升"}
    with pytest.raises(DocumentError) as error:
        de.rename(product, "fr-450", "")
    assert problems(error) == ["/items/1/children/1/label: must not be shorter than 1 characters"]
    with pytest.raises(DocumentError):
        de.rename(product, "nosuch", "x")


def test_set_enabled_writes_false_only(product):
    off = de.set_enabled(product, "ac", False)
    assert off["items"][2]["enabled"] is False
    on = de.set_enabled(off, "ac", True)
    assert on["items"][2] == product["items"][2] and "enabled" not in on["items"][2]
    assert "enabled" not in de.set_enabled(product, "mw-old", True)["items"][0]["children"][2]


def test_move_among_siblings_only(product):
    down = de.move(product, "mw", +1)
    assert [i["value"] for i in down["items"]] == ["fr", "mw", "ac"]
    up = de.move(product, "mw-old", -1)
    assert [i["value"] for i in up["items"][0]["children"]] == ["mw-a1", "mw-old", "mw-a2"]
    with pytest.raises(DocumentError) as error:
        de.move(product, "mw", -1)
    assert problems(error) == ["/items/0: 'mw' cannot move further"]
    with pytest.raises(DocumentError):
        de.move(product, "ac-3p", +1)


def test_remove_takes_the_children_along(product):
    removed = de.remove(product, "fr")
    assert [i["value"] for i in removed["items"]] == ["mw", "ac"]
    assert "fr-200" not in de.values(removed) and de.count(removed) == de.count(product) - 3
    with pytest.raises(DocumentError):
        de.remove(product, "nosuch")


def test_fields_using_finds_single_and_multi_selects(process_doc):
    process_doc["schema"]["properties"]["models"] = {
        "type": "array", "title": "型号", "uniqueItems": True, "items": {"type": "string", "x-dictionary": "product"}}
    assert de.fields_using(process_doc, "product") == [("category", "商品类别", False), ("model", "商品型号", False),
                                                       ("models", "型号", True)]
    assert de.fields_using(process_doc, "channel") == [("source", "来源", False)]
    assert de.fields_using(None, "product") == []


# -- the database ---------------------------------------------------------------------------------------

MULTI = {
    "format": 1, "code": "multi", "name": "多选",
    "schema": {"type": "object", "properties": {
        "kinds": {"type": "array", "title": "类别", "uniqueItems": True,
                  "items": {"type": "string", "x-dictionary": "product"}}}},
    "steps": [{"key": "start", "name": "登记", "fields": {"kinds": "required"}, "assignee": {"type": "creator"},
               "transitions": [{"to": "$end", "label": "完成"}]}],
}


def test_held_values_come_from_tickets_of_versions_using_the_dictionary(world):
    assert de.held_values("product") == set()
    engine.create(world["agent"], "return_goods", dict(REGISTER))
    assert de.held_values("product") == {"fr", "fr-200"}
    assert de.held_values("channel") == {"phone"}
    assert de.held_values("product", ["fr-200", "mw", "ac"]) == {"fr-200"}
    assert de.holds("product", "fr") and not de.holds("product", "mw")


def test_held_values_inside_multi_selects(world):
    docs.save_process(MULTI, publish=True)
    engine.create(world["agent"], "multi", {"kinds": ["mw", "ac"]})
    assert de.held_values("product") == {"mw", "ac"}
    assert de.holds("product", "ac") and not de.holds("product", "fr")


def test_holds_matches_exactly_even_with_like_wildcards_and_chinese(world):
    """The SQL prefilter is a LIKE on JSON text; Python decides, so near misses never count."""
    dictionary = {"format": 1, "code": "odd", "name": "怪", "items": [
        {"value": "a_b", "label": "1"}, {"value": "a%b", "label": "2"}, {"value": "axb", "label": "3"},
        {"value": "型号一", "label": "4"}, {"value": "型号", "label": "5"}]}
    docs.import_dictionary(dictionary)
    multi = copy.deepcopy(MULTI)
    multi["schema"]["properties"]["kinds"]["items"]["x-dictionary"] = "odd"
    version = docs.save_process(multi, publish=True)[1]
    Ticket.create(number="T1", process_version=version, step="start", creator=world["agent"],
                  data={"kinds": ["axb", "型号一"]})
    assert de.held_values("odd", ["a_b", "a%b", "axb", "型号", "型号一"]) == {"axb", "型号一"}
    assert not de.holds("odd", "a_b") and not de.holds("odd", "型号")


def test_usage_lists_drafts_and_latest_versions(world):
    assert [(u["process"], u["where"], u["key"], u["title"]) for u in de.usage("product")] == [
        ("return_goods", "draft", "category", "商品类别"), ("return_goods", "draft", "model", "商品型号"),
        ("return_goods", "v1", "category", "商品类别"), ("return_goods", "v1", "model", "商品型号")]
    assert de.usage("nosuch") == []


def test_edit_records_before_and_after_and_bumps_the_revision(world):
    before = example("product.dictionary.json")
    assert de.edit("product", world["admin"], "dictionary.rename", lambda d: de.rename(d, "fr", "电冰箱")) is True
    row = Dictionary.get(Dictionary.code == "product")
    assert row.revision == 2 and row.document["items"][1]["label"] == "电冰箱"
    [entry] = AuditEntry.select()
    assert (entry.actor_id, entry.action) == (world["admin"].id, "dictionary.rename")
    assert entry.target == "dictionary:product"
    assert entry.before == before and entry.after == row.document
    assert docs.dictionary_indexes()["product"].label("fr") == "电冰箱"


def test_saving_an_identical_document_records_nothing(world):
    assert de.save("product", example("product.dictionary.json"), world["admin"], "dictionary.import") is False
    assert Dictionary.get(Dictionary.code == "product").revision == 1 and AuditEntry.select().count() == 0


def test_removing_a_held_item_is_refused_but_disabling_works(world):
    engine.create(world["agent"], "return_goods", dict(REGISTER))
    for value in ("fr-200", "fr"):  # the item itself, or its parent
        with pytest.raises(DocumentError) as error:
            de.edit("product", world["admin"], "dictionary.remove", lambda d, v=value: de.remove(d, v))
        assert "held by tickets: disable it instead" in problems(error)[0]
    assert problems(error) == ["/items/1: 'fr' is held by tickets: disable it instead of removing it",
                               "/items/1/children/0: 'fr-200' is held by tickets: disable it instead of removing it"]
    assert de.edit("product", world["admin"], "dictionary.remove", lambda d: de.remove(d, "fr-450"))
    assert de.edit("product", world["admin"], "dictionary.disable", lambda d: de.set_enabled(d, "fr-200", False))
    assert [e.action for e in AuditEntry.select().order_by(AuditEntry.id)] == ["dictionary.remove",
                                                                               "dictionary.disable"]


def test_an_import_that_drops_a_held_item_is_refused_whole(world):
    engine.create(world["agent"], "return_goods", dict(REGISTER))
    doc = example("product.dictionary.json")
    doc["name"] = "改名"
    del doc["items"][1]["children"][0]
    with pytest.raises(DocumentError):
        de.save("product", doc, world["admin"], "dictionary.import")
    row = Dictionary.get(Dictionary.code == "product")
    assert row.name == "产品" and row.revision == 1 and AuditEntry.select().count() == 0


def test_save_refuses_another_code_and_create_refuses_an_existing_one(world):
    with pytest.raises(DocumentError) as error:
        de.save("channel", example("product.dictionary.json"), world["admin"], "dictionary.import")
    assert problems(error) == ["/code: the code must stay 'channel'"]
    with pytest.raises(DocumentError) as error:
        de.create("product", "又一个", world["admin"])
    assert problems(error) == ["/code: a dictionary 'product' already exists"]
    assert de.create("colour", "颜色", world["admin"])
    assert Dictionary.get(Dictionary.code == "colour").document == {"format": 1, "code": "colour", "name": "颜色",
                                                                     "items": []}


def test_a_failed_audit_record_rolls_the_edit_back(world, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("audit store down")

    monkeypatch.setattr(AuditEntry, "create", broken)
    with pytest.raises(RuntimeError):
        de.edit("product", world["admin"], "dictionary.rename", lambda d: de.rename(d, "fr", "x"))
    row = Dictionary.get(Dictionary.code == "product")
    assert row.revision == 1 and row.document == example("product.dictionary.json")
