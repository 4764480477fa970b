"""Dictionary item attributes (format 2, 数据联动): the meta-schema, the admin's attribute editor,
import and export, and what formulas read after an edit, on both databases."""

from __future__ import annotations

import copy
import json
from io import BytesIO

import pytest
from babel.support import Translations
from conftest import EXAMPLES, ROOT, example
from test_api import Api
from test_canary_crawl import MATRIX, route_for
from test_permission_matrix import ADMIN, rule_for

from formbuilder import DictionaryIndex, check_dictionary
from formbuilder.logic import evaluate
from workflows.processes import dictedit
from workflows.processes import documents as docs
from workflows.processes.documents import DocumentError
from workflows.storage.db import database
from workflows.storage.models import AuditEntry, Dictionary

BASE = "/admin/dictionaries"
TREE = BASE + "/product/"
EN = {"Accept-Language": "en"}
WARRANTY = {"warranty_months": 24, "department": "warehouse_north", "note": None, "boxed": True, "volume": 1.5}


def format_2() -> dict:
    """The product example as format 2, its 200-litre fridge with attributes (the format's own example)."""
    doc = example("product.dictionary.json")
    doc["format"] = 2
    doc["items"][1]["children"][0]["data"] = dict(WARRANTY)
    return doc


def stored(code: str = "product") -> Dictionary:
    with database.connection_context():
        return Dictionary.get(Dictionary.code == code)


def entries() -> list[AuditEntry]:
    with database.connection_context():
        return list(AuditEntry.select().order_by(AuditEntry.id))


def same(a: object, b: object) -> bool:
    """Equal including key order."""
    return json.dumps(a, ensure_ascii=False) == json.dumps(b, ensure_ascii=False)


def rendered(document: object) -> list[str]:
    return [str(p) for p in check_dictionary(document)]


# -- the meta-schema and the format ---------------------------------------------------------------------------

def test_format_2_items_may_carry_scalar_attributes():
    assert rendered(format_2()) == []
    assert rendered({**format_2(), "format": 3})[0].startswith("/format: 3 is not one of [1, 2]")


def test_attributes_in_a_format_1_dictionary_are_refused_at_each_item():
    doc = format_2()
    doc["format"] = 1
    doc["items"][0]["data"] = {"kind": "oven"}
    assert rendered(doc) == [
        "/items/0/data: item 'mw' carries attributes (data): they need \"format\": 2",
        "/items/1/children/0/data: item 'fr-200' carries attributes (data): they need \"format\": 2",
    ]


@pytest.mark.parametrize(("data", "problem"), [
    ({"Warranty": 1}, "/items/1/children/0/data/Warranty: attribute key must match ^[a-z][a-z0-9_]{0,39}$"),
    ({"a" * 41: 1}, f"/items/1/children/0/data/{'a' * 41}: attribute key must match ^[a-z][a-z0-9_]{{0,39}}$"),
    ({"1st": 1}, "/items/1/children/0/data/1st: attribute key must match ^[a-z][a-z0-9_]{0,39}$"),
    ({"parts": [1, 2]}, '/items/1/children/0/data/parts: must be of type ["string", "number", "boolean", "null"]'),
    ({"more": {"a": 1}}, '/items/1/children/0/data/more: must be of type ["string", "number", "boolean", "null"]'),
    ({"note": "x" * 501}, "/items/1/children/0/data/note: must not be longer than 500 characters"),
    ([["warranty_months", 24]], '/items/1/children/0/data: must be of type "object"'),
])
def test_bad_keys_and_values_are_refused_at_their_path(data, problem):
    doc = format_2()
    doc["items"][1]["children"][0]["data"] = data
    assert rendered(doc) == [problem]


def test_the_problems_are_translated():
    doc = {**format_2(), "format": 1}
    [problem] = check_dictionary(doc)
    chinese = Translations.load(str(ROOT / "translations"), ["zh_Hans_CN"])
    chinese_problem = "/items/1/children/0/data: 选项 'fr-200' 带有属性 (data)：需要 \"format\": 2"
    assert problem.render(chinese.gettext) == chinese_problem


# -- typing what the admin writes -----------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "value"), [
    ("24", 24), ("-1.5", -1.5), ("2e3", 2000.0), ("true", True), ("false", False), ("null", None),
    ("010", "010"), ("  warehouse_north ", "warehouse_north"), ('"24"', "24"), ('"true"', "true"),
    ("", ""), ("1e400", "1e400"), ('"open', '"open'), ("12 pcs", "12 pcs"),
])
def test_a_value_is_typed_and_shown_so_that_saving_it_unchanged_keeps_it(text, value):
    typed = dictedit.typed(text)
    assert typed == value and type(typed) is type(value)
    again = dictedit.typed(dictedit.shown(typed))
    assert again == value and type(again) is type(value)


def test_set_data_upgrades_a_format_1_dictionary_and_refuses_bad_rows():
    product = example("product.dictionary.json")
    new = dictedit.set_data(product, "fr", [("warranty_months", "24"), ("", ""), ("department", "north")])
    assert new["format"] == 2 and new["items"][1]["data"] == {"warranty_months": 24, "department": "north"}
    assert product["format"] == 1 and "data" not in product["items"][1]  # pure
    assert "data" not in dictedit.set_data(new, "fr", [])["items"][1]
    assert dictedit.set_data(new, "fr", [])["format"] == 2  # no silent downgrade
    with pytest.raises(DocumentError) as error:
        dictedit.set_data(product, "fr", [("a", "1"), ("a", "2"), ("", "orphan"), ("Bad", "x")])
    assert [str(p) for p in error.value.problems] == [
        "/items/1/data/a: duplicate attribute key 'a'", "/items/1/data: row 3: a value needs a key"]
    with pytest.raises(DocumentError) as error:
        dictedit.set_data(product, "fr", [("Bad", "x")])
    assert [str(p) for p in error.value.problems] == [
        "/items/1/data/Bad: attribute key must match ^[a-z][a-z0-9_]{0,39}$"]


# -- the admin's attribute editor -----------------------------------------------------------------------------

def post(client, value: str, rows: list[tuple[str, str]], remove: tuple[int, ...] = ()):
    data = {"key": [k for k, _ in rows], "value": [v for _, v in rows], "remove": [str(i) for i in remove]}
    return client.post(f"{TREE}items/{value}/data", data=data, headers=EN)


def attributes(value: str) -> dict | None:
    return next(i for i, *_ in dictedit.walk(stored().document["items"]) if i["value"] == value).get("data")


def test_the_page_states_the_rules_and_the_upgrade(admin, seeded):
    html = admin.get(TREE, headers=EN).get_data(as_text=True)
    assert 'class="lz-dict-format">format 1<' in html and "lz-data-upgrade" in html
    assert 'write "24" in double quotes to keep it text' in html
    assert html.count('class="lz-item-data-form"') == 10
    assert 'action="/admin/dictionaries/product/items/fr/data"' in html


def test_add_change_and_remove_an_attribute(admin, seeded, users):
    response = post(admin, "fr", [("warranty_months", "24"), ("", "")])
    assert response.status_code == 302 and response.headers["Location"] == TREE
    assert attributes("fr") == {"warranty_months": 24} and stored().document["format"] == 2
    page = admin.get(TREE, headers=EN).get_data(as_text=True)
    assert "Attributes of fr saved. The dictionary is now format 2." in page
    assert 'name="value" value="24"' in page and 'class="lz-dict-format">format 2<' in page
    assert "lz-data-upgrade" not in page
    post(admin, "fr", [("warranty_months", "36"), ("department", "warehouse_north")])
    assert same(attributes("fr"), {"warranty_months": 36, "department": "warehouse_north"})
    post(admin, "fr", [("warranty_months", "36"), ("department", "warehouse_north"), ("", "")], remove=(0,))
    assert attributes("fr") == {"department": "warehouse_north"}
    post(admin, "fr", [("department", "")], remove=(0,))
    assert attributes("fr") is None and stored().revision == 5
    log = entries()
    assert [e.action for e in log] == ["dictionary.data"] * 4
    assert {(e.actor_id, e.target) for e in log} == {(users["admin"].id, "dictionary:product")}
    assert log[0].before == example("product.dictionary.json") and log[0].after["items"][1]["data"] == {
        "warranty_months": 24}


def test_saving_the_form_unchanged_records_nothing(admin, seeded):
    post(admin, "fr-200", [("code", '"24"'), ("boxed", "true"), ("note", "null")])
    assert same(attributes("fr-200"), {"code": "24", "boxed": True, "note": None})
    html = admin.get(TREE, headers=EN).get_data(as_text=True)
    assert 'value="&#34;24&#34;"' in html and 'name="value" value="true"' in html
    assert post(admin, "fr-200", [("code", '"24"'), ("boxed", "true"), ("note", "null"), ("", "")]).status_code == 302
    assert stored().revision == 2 and len(entries()) == 1


@pytest.mark.parametrize(("rows", "problem"), [
    ([("Bad Key", "1")], "/items/1/data/Bad Key: attribute key must match ^[a-z][a-z0-9_]{0,39}$"),
    ([("note", "x" * 501)], "/items/1/data/note: must not be longer than 500 characters"),
    ([("a", "1"), ("a", "2")], "/items/1/data/a: duplicate attribute key &#39;a&#39;"),
    ([("", "orphan")], "/items/1/data: row 1: a value needs a key"),
])
def test_a_bad_row_is_422_naming_the_field_and_saves_nothing(admin, seeded, rows, problem):
    response = post(admin, "fr", rows)
    assert response.status_code == 422 and problem in response.get_data(as_text=True)
    assert stored().revision == 1 and entries() == [] and stored().document["format"] == 1


def test_attribute_values_are_escaped(admin, seeded):
    assert post(admin, "fr", [("note", '<script>alert(1)</script>"')]).status_code == 302
    html = admin.get(TREE).get_data(as_text=True)
    assert "<script>alert(1)" not in html and 'value="&lt;script&gt;alert(1)&lt;/script&gt;&#34;"' in html


def test_unknown_items_are_404_and_others_are_refused(client, auth, seeded):
    auth.login("admin")
    assert client.post(f"{TREE}items/nosuch/data", data={"key": "a", "value": "1"}).status_code == 404
    auth.logout()
    auth.login("agent")
    assert client.post(f"{TREE}items/fr/data", data={"key": "a", "value": "1"}).status_code == 403
    auth.logout()
    response = client.post(f"{TREE}items/fr/data", data={"key": "a", "value": "1"})
    assert response.status_code == 302 and "/login" in response.location
    assert stored().revision == 1 and entries() == []


def test_the_new_route_is_in_the_permission_matrix_and_the_canary_crawl(app):
    assert "dictionaries.attributes" in {rule.endpoint for rule in app.url_map.iter_rules()}
    assert rule_for("dictionaries.attributes") is ADMIN  # the dictionaries blueprint is the admin's
    assert route_for("dictionaries.attributes") == MATRIX  # POST only: the crawl GETs none of it


# -- what formulas read after an edit --------------------------------------------------------------------------

def test_the_index_and_item_read_an_edited_attribute(app, admin, seeded):
    post(admin, "fr", [("warranty_months", "24")])
    index = DictionaryIndex.from_document(stored().document)
    assert index.items["fr"].data == {"warranty_months": 24}
    assert evaluate({"item": ["product", "fr", "warranty_months"]}, {}, {"product": index}) == 24
    post(admin, "fr", [("warranty_months", "36")])
    with app.app_context(), database.connection_context():
        indexes = docs.dictionary_indexes()  # the cached ones are rebuilt on the new revision
    assert evaluate({"item": ["product", "fr", "warranty_months"]}, {}, indexes) == 36


# -- import and export -------------------------------------------------------------------------------------------

def test_admin_import_then_export_keeps_data_and_its_key_order(admin, seeded):
    text = json.dumps(format_2(), ensure_ascii=False)
    response = admin.post(BASE + "/import", data={"file": (BytesIO(text.encode()), "product.json")})
    assert response.status_code == 302
    exported = admin.get(BASE + "/product/export").get_data(as_text=True)
    assert same(json.loads(exported), format_2())
    assert list(json.loads(exported)["items"][1]["children"][0]["data"]) == list(WARRANTY)


def test_a_format_1_import_with_data_is_422_at_the_item(admin, seeded):
    text = json.dumps({**format_2(), "format": 1}, ensure_ascii=False)
    response = admin.post(BASE + "/import", data={"file": (BytesIO(text.encode()), "product.json")}, headers=EN)
    assert response.status_code == 422
    assert "/items/1/children/0/data: item &#39;fr-200&#39; carries attributes (data)" in response.text
    assert stored().revision == 1


def test_the_api_puts_and_gets_data_unchanged(client, world):
    api = Api(client)
    document = format_2()
    reordered = copy.deepcopy(document)
    reordered["items"][1]["children"][0]["data"] = dict(reversed(WARRANTY.items()))
    for doc in (document, reordered):
        assert api("PUT", "/dictionaries/product", "admin", json=doc).status_code == 200
        assert same(json.loads(api("GET", "/dictionaries/product", "agent").get_data(as_text=True)), doc)
    response = api("PUT", "/dictionaries/product", "admin", json={**document, "format": 1})
    assert response.status_code == 422 and "fr-200" in json.dumps(response.json)


def test_the_cli_import_keeps_data(runner, tmp_path):
    path = tmp_path / "product.json"
    path.write_text(json.dumps(format_2(), ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(args=["dictionary", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert same(stored().document, format_2())
    path.write_text(json.dumps({**format_2(), "format": 1}, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(args=["dictionary", "import", str(path), "--lang", "zh"])
    assert result.exit_code == 1
    assert "/items/1/children/0/data: 选项 'fr-200' 带有属性 (data)：需要 \"format\": 2" in result.output
    assert (EXAMPLES / "product.dictionary.json").exists() and stored().revision == 1
