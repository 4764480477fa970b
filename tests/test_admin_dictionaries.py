"""The dictionary tree editor in the admin: item actions, import/export, usage, audit and access."""

from __future__ import annotations

import json
from io import BytesIO

import pytest
from conftest import example
from helpers import routes, sent_to_login

from app import create_app
from workflows.storage.db import database
from workflows.storage.models import AuditEntry, Dictionary
from workflows.tickets import engine

BASE = "/admin/dictionaries"
TREE = BASE + "/product/"
EN = {"Accept-Language": "en"}
REGISTER = {"order_no": "TH-1", "source": "phone", "category": "fr", "model": "fr-200",
            "purchase_date": "2026-11-01", "defect": "门坏了"}


@pytest.fixture
def admin(auth, client):
    assert auth.login("admin").status_code == 302
    return client


def stored(code: str = "product") -> Dictionary | None:
    with database.connection_context():
        return Dictionary.get_or_none(Dictionary.code == code)


def entries() -> list[AuditEntry]:
    with database.connection_context():
        return list(AuditEntry.select().order_by(AuditEntry.id))


def children(value: str) -> list[str]:
    return [c["value"] for c in next(i for i in stored().document["items"] if i["value"] == value)["children"]]


def upload(text: str) -> dict:
    return {"file": (BytesIO(text.encode("utf-8")), "dictionary.json")}


def post_ok(client, url: str, data: dict | None = None):
    response = client.post(url, data=data or {}, headers=EN)
    assert response.status_code == 302 and response.headers["Location"] == TREE, response.get_data(as_text=True)
    return response


# -- pages ------------------------------------------------------------------------------------------------

def test_the_list_shows_each_dictionary_with_its_item_count(admin, seeded):
    html = admin.get(BASE + "/", headers=EN).get_data(as_text=True)
    assert '<tr data-code="product">' in html and '<td class="lz-dict-count">10</td>' in html
    assert f'href="{TREE}"' in html and 'id="lz-dict-import-form"' in html and 'id="lz-dict-new-form"' in html
    assert html.count('name="csrf_token"') == 3  # the page's two forms and the navbar's logout


def test_the_tree_page_nests_items_and_lists_the_fields_using_it(admin, seeded):
    response = admin.get(TREE, headers=EN)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.index('data-value="mw"') < html.index('data-value="mw-a1"') < html.index('data-value="fr"')
    assert 'data-value="mw-old" data-enabled="false"' in html and 'aria-label="Label of mw-a1"' in html
    assert f'href="{BASE}/product/export"' in html
    for where in ("draft", "v1"):
        assert html.count(f"<td>{where}</td>") == 2
    assert '<tr data-process="return_goods" data-field="category">' in html
    assert '<tr data-process="return_goods" data-field="model">' in html


def test_unknown_dictionaries_and_items_are_404(admin, seeded):
    assert admin.get(BASE + "/nosuch/").status_code == 404
    assert admin.get(BASE + "/nosuch/export").status_code == 404
    assert admin.post(BASE + "/nosuch/items/add", data={"value": "x", "label": "x"}).status_code == 404
    for action in ("rename", "toggle", "up", "down", "delete"):
        assert admin.post(f"{BASE}/product/items/nosuch/{action}", data={"label": "x"}).status_code == 404
    assert entries() == []


# -- item actions -------------------------------------------------------------------------------------------

def test_add_a_top_level_item_and_a_child(admin, seeded):
    post_ok(admin, TREE + "items/add", {"value": "tv", "label": "电视"})
    post_ok(admin, TREE + "items/add", {"parent": "tv", "value": "tv-55", "label": "55 寸"})
    assert stored().document["items"][-1] == {"value": "tv", "label": "电视",
                                              "children": [{"value": "tv-55", "label": "55 寸"}]}
    assert [e.action for e in entries()] == ["dictionary.add", "dictionary.add"]
    assert "Item tv-55 added." in admin.get(TREE, headers=EN).get_data(as_text=True)


def test_a_duplicate_value_is_422_with_its_path_and_nothing_saved(admin, seeded):
    response = admin.post(TREE + "items/add", data={"parent": "mw", "value": "fr-200", "label": "x"}, headers=EN)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "lz-problems" in html
    assert "/items/0/children/3/value: duplicate value &#39;fr-200&#39;" in html
    assert stored().revision == 1 and entries() == []


def test_rename_records_before_and_after_and_bumps_the_revision(admin, seeded, users):
    post_ok(admin, TREE + "items/mw-a1/rename", {"label": "A1 新型"})
    row = stored()
    assert row.revision == 2 and row.document["items"][0]["children"][0]["label"] == "A1 新型"
    [entry] = entries()
    assert (entry.actor_id, entry.action, entry.target) == (users["admin"].id, "dictionary.rename",
                                                            "dictionary:product")
    assert entry.before == example("product.dictionary.json") and entry.after == row.document


def test_an_empty_label_is_refused(admin, seeded):
    response = admin.post(TREE + "items/mw-a1/rename", data={"label": " "}, headers=EN)
    assert response.status_code == 422
    assert "/items/0/children/0/label: must not be shorter than 1 characters" in response.get_data(as_text=True)
    assert stored().revision == 1


def test_reorder_up_and_down(admin, seeded):
    post_ok(admin, TREE + "items/mw-a2/up")
    assert children("mw") == ["mw-a2", "mw-a1", "mw-old"]
    post_ok(admin, TREE + "items/mw-a2/down")
    post_ok(admin, TREE + "items/mw-a2/down")
    assert children("mw") == ["mw-a1", "mw-old", "mw-a2"]
    assert admin.post(TREE + "items/mw-a2/down").status_code == 422
    assert [e.action for e in entries()] == ["dictionary.move"] * 3


def test_disable_and_enable(admin, seeded):
    post_ok(admin, TREE + "items/ac/toggle")
    assert stored().document["items"][2]["enabled"] is False
    post_ok(admin, TREE + "items/ac/toggle")
    assert "enabled" not in stored().document["items"][2]
    assert [e.action for e in entries()] == ["dictionary.disable", "dictionary.enable"]


def test_delete_an_unheld_item(admin, seeded):
    post_ok(admin, TREE + "items/ac/delete")
    assert [i["value"] for i in stored().document["items"]] == ["mw", "fr"]
    [entry] = entries()
    assert entry.action == "dictionary.remove" and len(entry.before["items"]) == 3 and len(entry.after["items"]) == 2


def test_delete_of_a_held_item_is_refused_with_advice_to_disable(app, admin, seeded, users):
    with app.app_context(), database.connection_context():
        engine.create(users["agent"], "return_goods", dict(REGISTER))
    for value in ("fr-200", "fr"):
        response = admin.post(f"{TREE}items/{value}/delete", headers=EN)
        assert response.status_code == 422
        assert "is held by tickets: disable it instead of removing it" in response.get_data(as_text=True)
    assert stored().revision == 1 and entries() == []
    post_ok(admin, TREE + "items/fr-200/toggle")
    post_ok(admin, TREE + "items/fr-450/delete")
    assert stored().document["items"][1]["children"] == [{"value": "fr-200", "label": "200 升", "enabled": False}]


def test_labels_are_escaped(admin, seeded):
    post_ok(admin, TREE + "items/add", {"value": "x1", "label": "<script>alert(1)</script>"})
    html = admin.get(TREE).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert 'value="&lt;script&gt;alert(1)&lt;/script&gt;"' in html


# -- new, import, export -------------------------------------------------------------------------------------

def test_new_dictionary(admin, seeded):
    response = admin.post(BASE + "/new", data={"code": "colour", "name": "颜色"})
    assert response.status_code == 302 and response.headers["Location"] == BASE + "/colour/"
    assert stored("colour").document == {"format": 1, "code": "colour", "name": "颜色", "items": []}
    response = admin.post(BASE + "/new", data={"code": "colour", "name": "again"}, headers=EN)
    assert response.status_code == 422 and "/code: a dictionary &#39;colour&#39; already exists" in response.text
    response = admin.post(BASE + "/new", data={"code": "Bad Code", "name": "x"})
    assert response.status_code == 422 and stored("Bad Code") is None
    assert [e.action for e in entries()] == ["dictionary.create"]


def test_import_a_valid_document(admin, seeded):
    doc = example("product.dictionary.json")
    doc["items"].append({"value": "tv", "label": "电视"})
    response = admin.post(BASE + "/import", data=upload(json.dumps(doc, ensure_ascii=False)))
    assert response.status_code == 302 and response.headers["Location"] == TREE
    assert stored().document == doc and stored().revision == 2
    [entry] = entries()
    assert entry.action == "dictionary.import" and entry.before == example("product.dictionary.json")


def test_import_of_a_new_dictionary_creates_it(admin, seeded):
    doc = {"format": 1, "code": "colour", "name": "颜色", "items": [{"value": "red", "label": "红"}]}
    assert admin.post(BASE + "/import", data=upload(json.dumps(doc))).status_code == 302
    assert stored("colour").document == doc and entries()[0].before is None


@pytest.mark.parametrize("text", ["{not json", "[]", json.dumps({"format": 1, "code": "product", "name": "x",
                                                                  "items": [{"value": "a"}]})])
def test_an_invalid_import_is_422_and_saves_nothing(admin, seeded, text):
    response = admin.post(BASE + "/import", data=upload(text), headers=EN)
    assert response.status_code == 422 and "lz-problems" in response.get_data(as_text=True)
    assert stored().revision == 1 and entries() == []


def test_export_then_import_changes_nothing(admin, seeded):
    response = admin.get(BASE + "/product/export")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Content-Disposition"] == "attachment; filename=product.dictionary.json"
    text = response.get_data(as_text=True)
    assert '"label": "微波炉"' in text and json.loads(text) == example("product.dictionary.json")
    response = admin.post(BASE + "/import", data=upload(text), headers=EN)
    assert response.status_code == 302
    assert stored().revision == 1 and entries() == []
    assert "Dictionary product is unchanged." in admin.get(TREE, headers=EN).get_data(as_text=True)


# -- access --------------------------------------------------------------------------------------------------

GETS = (BASE + "/", TREE, BASE + "/product/export")
POSTS = (BASE + "/new", BASE + "/import", TREE + "items/add") + tuple(
    f"{TREE}items/mw-a1/{action}" for action in ("rename", "toggle", "up", "down", "delete"))


test_anonymous_visitors_are_sent_to_login = sent_to_login(GETS, POSTS, "seeded")


@pytest.mark.parametrize(("method", "url"), routes(GETS, POSTS))
def test_agents_are_refused(client, auth, seeded, method, url):
    auth.login("agent")
    data = {"code": "x1", "name": "x", "value": "x1", "label": "x"}
    assert getattr(client, method)(url, data=data).status_code == 403
    assert stored().revision == 1 and entries() == []


@pytest.mark.parametrize("url", POSTS)
def test_posts_need_a_csrf_token(seeded, users, db_url, url):
    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "s", "WTF_CSRF_ENABLED": True})
    response = app.test_client().post(url, data={"code": "x1", "name": "x", "value": "x1", "label": "x"})
    assert response.status_code == 400 and b"CSRF" in response.data
    assert stored().revision == 1 and entries() == []
