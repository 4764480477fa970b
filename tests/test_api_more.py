"""The REST API beyond tickets, on both databases: dictionaries, process documents, customers,
notes, attachments, notifications, and how tokens are stored and refused."""

from __future__ import annotations

import copy
import hashlib
import io
import json
from datetime import timedelta

import pytest
from test_api import Api
from test_engine import REGISTER, WAREHOUSE

from workflows.people import org
from workflows.storage.models import (
    ApiToken,
    Attachment,
    AuditEntry,
    Customer,
    Dictionary,
    Notification,
    Process,
    ProcessVersion,
    TicketEvent,
    User,
    utcnow,
)


@pytest.fixture
def api(client, world):
    return Api(client)


def create(api, user: str = "agent", **data):
    response = api("POST", "/tickets", user, json={"process": "return_goods", "data": {**REGISTER, **data},
                                                    "customer": {"name": "王先生", "phone": "13800000000"}})
    assert response.status_code == 201, response.json
    return response.json


def to_finance(api, ticket: dict) -> str:
    """Take a created ticket through approval and the warehouse to fin1; returns its number."""
    number = ticket["number"]
    api.act(ticket["assignee"], number, "advance", data={"approval": "approve"}, transition="warehouse")
    keeper = api("GET", f"/tickets/{number}", "admin").json["assignee"]
    assert api.act(keeper, number, "advance", data=WAREHOUSE, assignee="fin1").json["assignee"] == "fin1"
    return number


def audit_count() -> int:
    return AuditEntry.select().count()


# --- errors common to the whole API -----------------------------------------------------------------

@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/dictionaries"), ("GET", "/dictionaries/product"), ("PUT", "/dictionaries/product"),
    ("PUT", "/processes/return_goods/draft"), ("POST", "/processes/return_goods/check"),
    ("POST", "/processes/return_goods/publish"), ("GET", "/processes/return_goods/versions"),
    ("GET", "/processes/return_goods/versions/1"), ("GET", "/customers?phone=1"), ("GET", "/customers/1"),
    ("GET", "/tickets/X/notes"), ("POST", "/tickets/X/notes"), ("POST", "/attachments"), ("GET", "/attachments/k"),
    ("GET", "/notifications"), ("POST", "/notifications/1/read"), ("POST", "/notifications/read-all"),
])
def test_every_endpoint_wants_a_token(api, method, path):
    response = api(method, path, json={})
    assert response.status_code == 401 and response.json["error"] == "unauthorized"


ADMIN_ONLY = [
    ("PUT", "/dictionaries/product"), ("PUT", "/processes/return_goods/draft"),
    ("POST", "/processes/return_goods/check"), ("POST", "/processes/return_goods/publish"),
    ("GET", "/processes/return_goods/versions"), ("GET", "/processes/return_goods/versions/1"),
]


@pytest.mark.parametrize(("method", "path"), ADMIN_ONLY)
@pytest.mark.parametrize("user", ["agent", "sup"])
def test_admin_endpoints_refuse_other_roles(api, method, path, user):
    before = audit_count(), Dictionary.get(Dictionary.code == "product").revision, Process.get().draft
    document = api("GET", "/processes/return_goods", "admin").json if "processes" in path else \
        api("GET", "/dictionaries/product", "admin").json
    response = api(method, path, user, json=document)
    assert response.status_code == 403 and response.json["error"] == "forbidden"
    assert (audit_count(), Dictionary.get(Dictionary.code == "product").revision, Process.get().draft) == before


def test_unknown_paths_and_methods_answer_json(api):
    missing = api("GET", "/nowhere", "agent")
    assert missing.status_code == 404 and missing.json["error"] == "not_found"
    wrong = api("DELETE", "/dictionaries", "agent")
    assert wrong.status_code == 405 and wrong.is_json


# --- dictionaries ------------------------------------------------------------------------------------

def test_dictionaries_are_read_by_anyone_with_a_token(api):
    assert api("GET", "/dictionaries", "wh1").json == [{"code": "channel", "name": "来源渠道", "revision": 1},
                                                      {"code": "product", "name": "产品", "revision": 1}]
    document = api("GET", "/dictionaries/product", "wh1").json
    assert document["code"] == "product" and document["items"]
    missing = api("GET", "/dictionaries/nosuch", "wh1")
    assert missing.status_code == 404 and missing.json["error"] == "not_found"


def test_an_admin_replaces_a_dictionary_with_an_audit_entry(api):
    document = api("GET", "/dictionaries/product", "admin").json
    document["items"][0]["label"] = "大家电"
    response = api("PUT", "/dictionaries/product", "admin", json=document)
    assert response.status_code == 200, response.json
    assert response.json == {"code": "product", "name": "产品", "revision": 2, "changed": True}
    assert api("GET", "/dictionaries/product", "agent").json["items"][0]["label"] == "大家电"
    entry = AuditEntry.select().order_by(AuditEntry.id.desc()).get()
    assert (entry.actor.username, entry.target) == ("admin", "dictionary:product")
    again = api("PUT", "/dictionaries/product", "admin", json=document)
    assert again.json["changed"] is False and again.json["revision"] == 2


def test_an_admin_creates_a_dictionary(api):
    document = {"format": 1, "code": "colour", "name": "颜色", "items": [{"value": "red", "label": "红"}]}
    response = api("PUT", "/dictionaries/colour", "admin", json=document)
    assert response.status_code == 201 and response.json["revision"] == 1


def _without_first_model(document: dict) -> dict:
    """The product dictionary without the model tickets in these tests hold (fr-200)."""
    changed = copy.deepcopy(document)
    for item in changed["items"]:
        item["children"] = [c for c in item.get("children", []) if c["value"] != "fr-200"]
    return changed


@pytest.mark.parametrize(("change", "fields"), [
    (lambda d: {**d, "code": "other"}, {"/code"}),
    (lambda d: {**d, "items": [{"value": "a"}, {"value": "a", "label": "x"}]}, None),
    (lambda d: {"name": "no code"}, None),
])
def test_a_refused_dictionary_names_its_json_paths_and_saves_nothing(api, change, fields):
    document = api("GET", "/dictionaries/product", "admin").json
    before = audit_count(), Dictionary.get(Dictionary.code == "product").document
    response = api("PUT", "/dictionaries/product", "admin", json=change(document))
    assert response.status_code == 422 and response.json["error"] == "invalid", response.json
    assert response.json["fields"] and all(key.startswith("/") for key in response.json["fields"])
    if fields:
        assert set(response.json["fields"]) == fields
    assert (audit_count(), Dictionary.get(Dictionary.code == "product").document) == before


def test_an_item_tickets_hold_cannot_be_dropped(api):
    create(api)
    document = api("GET", "/dictionaries/product", "admin").json
    response = api("PUT", "/dictionaries/product", "admin", json=_without_first_model(document))
    assert response.status_code == 422
    assert any("fr-200" in message for messages in response.json["fields"].values() for message in messages)
    assert Dictionary.get(Dictionary.code == "product").revision == 1


def test_a_malformed_body_is_400(api):
    response = api("PUT", "/dictionaries/product", "admin", data="[1]", content_type="application/json")
    assert response.status_code == 400 and response.json["error"] == "bad_request"
    assert list(response.json["fields"]) == ["body"]


# --- process documents --------------------------------------------------------------------------------

def test_put_draft_check_publish_versions_and_export(api):
    original = api("GET", "/processes/return_goods", "admin").json
    draft = {**copy.deepcopy(original), "name": "退货申请 (新)"}
    saved = api("PUT", "/processes/return_goods/draft", "admin", json=draft)
    assert saved.status_code == 200, saved.json
    assert (saved.json["code"], saved.json["name"], saved.json["latest_version"]) == (
        "return_goods", "退货申请 (新)", 1)
    assert api("GET", "/processes/return_goods", "agent").json["name"] == "退货申请"  # drafts are not published
    assert api("POST", "/processes/return_goods/check", "admin").json == {"problems": []}

    published = api("POST", "/processes/return_goods/publish", "admin")
    assert published.status_code == 200 and published.json["number"] == 2 and published.json["changed"]
    assert published.json["published_by"] == "admin"
    assert api("POST", "/processes/return_goods/publish", "admin").json["changed"] is False
    listed = api("GET", "/processes/return_goods/versions", "admin").json
    assert [v["number"] for v in listed] == [2, 1] and set(listed[0]) == {"number", "published_at", "published_by"}
    assert api("GET", "/processes/return_goods/versions/1", "admin").json == original
    assert api("GET", "/processes/return_goods/versions/9", "admin").status_code == 404
    actions = [e.action for e in AuditEntry.select().order_by(AuditEntry.id)]
    assert actions == ["process.save", "process.publish"]


def test_put_draft_creates_a_new_process(api):
    document = {**api("GET", "/processes/return_goods", "admin").json, "code": "exchange", "name": "换货"}
    response = api("PUT", "/processes/exchange/draft", "admin", json=document)
    assert response.status_code == 201 and response.json["latest_version"] == 0


def _broken(document: dict) -> dict:
    broken = copy.deepcopy(document)
    broken["steps"][0]["transitions"][0]["to"] = "nowhere"
    broken["steps"][1]["fields"]["ghost"] = "required"
    return broken


def test_a_refused_draft_names_json_paths_and_saves_nothing(api):
    document = api("GET", "/processes/return_goods", "admin").json
    before = Process.get().draft, audit_count()
    response = api("PUT", "/processes/return_goods/draft", "admin", json=_broken(document))
    assert response.status_code == 422 and response.json["error"] == "invalid"
    assert {"/steps/0/transitions/0/to", "/steps/1/fields/ghost"} <= set(response.json["fields"])
    renamed = api("PUT", "/processes/return_goods/draft", "admin", json={**document, "code": "other"})
    assert renamed.status_code == 422 and set(renamed.json["fields"]) == {"/code"}
    assert (Process.get().draft, audit_count()) == before and Process.select().count() == 1


def test_check_lists_problems_with_200(api):
    document = api("GET", "/processes/return_goods", "admin").json
    response = api("POST", "/processes/return_goods/check", "admin", json=_broken(document))
    assert response.status_code == 200
    assert {"/steps/0/transitions/0/to", "/steps/1/fields/ghost"} <= {p["path"] for p in response.json["problems"]}
    assert all(p["message"] for p in response.json["problems"])
    assert api("POST", "/processes/nosuch/check", "admin").status_code == 404


def test_publishing_a_draft_with_problems_is_422_and_publishes_nothing(api):
    from workflows.processes import documents as docs

    docs.save_draft(_broken(api("GET", "/processes/return_goods", "admin").json))  # the editor saves shapes only
    response = api("POST", "/processes/return_goods/publish", "admin")
    assert response.status_code == 422 and "/steps/0/transitions/0/to" in response.json["fields"]
    assert ProcessVersion.select().count() == 1 and Process.get().latest_version == 1
    assert api("POST", "/processes/nosuch/publish", "admin").status_code == 404
    assert api("GET", "/processes/nosuch/versions", "admin").status_code == 404


# --- customers ----------------------------------------------------------------------------------------

def test_customer_lookup_and_history(api):
    number = create(api)["number"]
    found = api("GET", "/customers?phone=13800000000", "agent").json
    assert [(c["name"], c["phone"]) for c in found] == [("王先生", "+8613800000000")]
    history = api("GET", f"/customers/{found[0]['id']}", "agent").json
    assert [t["number"] for t in history["tickets"]] == [number] and history["next_cursor"] is None
    assert {"number", "process", "status", "created_at"} <= set(history["tickets"][0])
    assert "data" not in history["tickets"][0]
    assert api("GET", "/customers?phone=19900000000", "agent").json == []
    bad = api("GET", f"/customers/{found[0]['id']}?cursor=zz", "agent")
    assert bad.status_code == 400 and set(bad.json["fields"]) == {"cursor"}


def test_customers_are_hidden_from_those_who_cannot_read_their_tickets(api):
    create(api)
    customer = Customer.get()
    assert api("GET", "/customers?phone=13800000000", "wh1").json == []
    assert api("GET", f"/customers/{customer.id}", "wh1").status_code == 404
    assert api("GET", "/customers/99999", "admin").status_code == 404


def test_a_handler_sees_the_history_they_may_read(api):
    number = to_finance(api, create(api))
    create(api)  # a second ticket fin1 has nothing to do with
    customer = Customer.get()
    history = api("GET", f"/customers/{customer.id}", "fin1").json
    assert [t["number"] for t in history["tickets"]] == [number]


def test_customer_lookup_wants_a_phone(api):
    response = api("GET", "/customers", "agent")
    assert response.status_code == 400 and set(response.json["fields"]) == {"phone"}


# --- notes --------------------------------------------------------------------------------------------

def test_notes_with_mentions(api):
    number = create(api)["number"]
    assert api("GET", f"/tickets/{number}/notes", "agent2").status_code == 403
    response = api("POST", f"/tickets/{number}/notes", "agent", json={"text": "请 @agent2 看一下"})
    assert response.status_code == 201, response.json
    assert set(response.json) == {"id", "author", "text", "created_at"} and response.json["author"] == "agent"
    listed = api("GET", f"/tickets/{number}/notes", "agent2").json  # CC'd by the mention
    assert [(n["author"], n["text"]) for n in listed] == [("agent", "请 @agent2 看一下")]
    assert api("GET", "/notifications", "agent2").json["items"][0]["kind"] == "mentioned"


def test_a_mention_opens_the_ticket_only_when_its_author_may_cc(api):
    """A CC'd reader may not CC, so their @mention of an outsider neither CCs nor notifies them."""
    number = create(api)["number"]
    api("POST", f"/tickets/{number}/notes", "agent", json={"text": "@agent2 请看"})  # the creator may: CC'd
    response = api("POST", f"/tickets/{number}/notes", "agent2", json={"text": "@fin1 也看看"})
    assert response.status_code == 201
    assert api("GET", f"/tickets/{number}/notes", "fin1").status_code == 403
    assert api("GET", "/notifications", "fin1").json["items"] == []


def test_an_outsider_with_a_stale_version_is_refused_not_told_of_a_conflict(api):
    number = create(api)["number"]
    stale = {"action": "transfer", "version": 99, "assignee": "agent2", "comment": "x"}
    assert api("POST", f"/tickets/{number}/actions", "fin1", json=stale).status_code == 403


def test_notes_never_carry_field_data(api):
    number = to_finance(api, create(api))
    api("POST", f"/tickets/{number}/notes", "fin1", json={"text": "退款中"})
    assert "defect" not in api("GET", f"/tickets/{number}", "fin1").json["data"]
    text = api("GET", f"/tickets/{number}/notes", "fin1").get_data(as_text=True)
    assert "退款中" in text and REGISTER["defect"] not in text and "defect" not in text


@pytest.mark.parametrize(("body", "status", "fields"), [
    ({"text": "   "}, 422, {"text"}), ({}, 400, {"text"}), ({"text": 5}, 400, {"text"}),
])
def test_bad_notes_save_nothing(api, body, status, fields):
    number = create(api)["number"]
    before = TicketEvent.select().count()
    response = api("POST", f"/tickets/{number}/notes", "agent", json=body)
    assert response.status_code == status and set(response.json["fields"]) == fields
    assert TicketEvent.select().count() == before


def test_notes_of_unknown_or_unreadable_tickets(api):
    number = create(api)["number"]
    assert api("POST", f"/tickets/{number}/notes", "agent2", json={"text": "hi"}).status_code == 403
    assert api("GET", "/tickets/NOPE/notes", "agent").status_code == 404
    assert TicketEvent.select().where(TicketEvent.action == "note").count() == 0


# --- attachments --------------------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


def upload(api, user: str = "agent", content: bytes = PNG, name: str = "photo.png", **form):
    data = {"file": (io.BytesIO(content), name), **form}
    return api("POST", "/attachments", user, data=data, content_type="multipart/form-data")


def test_an_upload_is_usable_in_an_attachment_field_and_downloaded_by_readers(api):
    response = upload(api, process="return_goods", field="photos")
    assert response.status_code == 201, response.json
    assert response.json == {"id": response.json["id"], "filename": "photo.png", "size": len(PNG),
                             "mimetype": "image/png"}
    key = response.json["id"]
    ticket = create(api, photos=[key])
    assert Attachment.get(Attachment.key == key).ticket.number == ticket["number"]
    for reader in ("agent", ticket["assignee"], "admin"):
        download = api("GET", f"/attachments/{key}", reader)
        assert download.status_code == 200 and download.data == PNG
        assert download.headers["Content-Disposition"].startswith("attachment")
        assert download.headers["X-Content-Type-Options"] == "nosniff"
        download.close()  # send_file streams from an open file
    refused = api("GET", f"/attachments/{key}", "agent2")
    assert refused.status_code == 403 and refused.json["error"] == "forbidden"


def test_an_attachment_in_a_hidden_field_is_refused(api):
    key = upload(api).json["id"]
    number = to_finance(api, create(api, photos=[key]))
    assert "photos" not in api("GET", f"/tickets/{number}", "fin1").json["data"]
    assert api("GET", f"/attachments/{key}", "fin1").status_code == 403


def test_an_unlinked_upload_is_only_its_uploaders(api):
    key = upload(api).json["id"]
    own = api("GET", f"/attachments/{key}", "agent")
    assert own.status_code == 200
    own.close()
    assert api("GET", f"/attachments/{key}", "admin").status_code == 403
    assert api("GET", "/attachments/nosuch", "agent").status_code == 404
    stolen = api("POST", "/tickets", "agent2", json={"process": "return_goods", "data": {**REGISTER, "photos": [key]}})
    assert stolen.status_code == 422 and set(stolen.json["fields"]) == {"photos"}


@pytest.mark.parametrize(("form", "name", "fields"), [
    ({"process": "return_goods", "field": "photos"}, "notes.txt", {"file"}),
    ({"process": "return_goods"}, "photo.png", {"field"}),
    ({"field": "photos"}, "photo.png", {"process"}),
    ({"process": "nosuch", "field": "photos"}, "photo.png", {"process"}),
    ({"process": "return_goods", "field": "defect"}, "photo.png", {"field"}),
])
def test_refused_uploads_store_nothing(api, tmp_path, form, name, fields):
    response = upload(api, name=name, **form)
    assert response.status_code == 422 and set(response.json["fields"]) == fields, response.json
    assert Attachment.select().count() == 0


def test_an_upload_without_a_file_names_it(api):
    response = api("POST", "/attachments", "agent", data={}, content_type="multipart/form-data")
    assert response.status_code == 422 and set(response.json["fields"]) == {"file"}


# --- notifications ------------------------------------------------------------------------------------

def test_notifications_list_mark_read_and_read_all(api):
    first, second = create(api), create(api)
    approver = second["assignee"]
    listed = api("GET", "/notifications?unread=1", approver).json
    assert listed["items"][0]["ticket"] == second["number"] and listed["items"][0]["kind"] == "assigned"
    assert second["number"] in listed["items"][0]["text"]
    one = listed["items"][0]["id"]
    marked = api("POST", f"/notifications/{one}/read", approver)
    assert marked.status_code == 200 and marked.json["read_at"]
    assert one not in [n["id"] for n in api("GET", "/notifications?unread=1", approver).json["items"]]
    assert api("POST", f"/notifications/{one}/read", "agent").status_code == 404
    assert api("POST", "/notifications/99999/read", approver).status_code == 404
    assert api("POST", "/notifications/read-all", approver).status_code == 200
    after = api("GET", "/notifications?unread=1", approver).json
    assert after["items"] == [] and after["unread"] == 0
    assert len(api("GET", "/notifications", approver).json["items"]) >= (2 if first["assignee"] == approver else 1)


def test_notifications_are_paged_newest_first(api, world):
    Notification.insert_many([{"user": world["agent"].id, "kind": "note", "message": f"m{i}"}
                              for i in range(53)]).execute()
    page = api("GET", "/notifications", "agent").json
    assert len(page["items"]) == 50 and page["items"][0]["message"] == "m52" and page["next_cursor"]
    rest = api("GET", f"/notifications?cursor={page['next_cursor']}", "agent").json
    assert [n["message"] for n in rest["items"]] == ["m2", "m1", "m0"] and rest["next_cursor"] is None
    bad = api("GET", "/notifications?cursor=x", "agent")
    assert bad.status_code == 400 and set(bad.json["fields"]) == {"cursor"}


# --- tokens -------------------------------------------------------------------------------------------

def test_a_revoked_token_is_refused_at_once(api):
    token = api.login("agent")
    assert api("GET", "/dictionaries", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    org.revoke_token(ApiToken.get().id)
    refused = api("GET", "/dictionaries", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401 and refused.json["error"] == "unauthorized"


def test_tokens_are_stored_hashed(api):
    token = api.login("agent")
    row = ApiToken.get()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    stored = json.dumps(list(ApiToken.select().dicts()), default=str)
    assert token not in stored


def test_last_use_is_written_at_most_once_a_minute(api):
    token = api.login("agent")
    headers = {"Authorization": f"Bearer {token}"}
    api("GET", "/dictionaries", headers=headers)
    first = ApiToken.get().last_used_at
    assert first is not None
    api("GET", "/dictionaries", headers=headers)
    assert ApiToken.get().last_used_at == first
    ApiToken.update(last_used_at=utcnow() - timedelta(minutes=2)).execute()
    api("GET", "/dictionaries", headers=headers)
    assert ApiToken.get().last_used_at > first - timedelta(seconds=1)


def test_a_disabled_users_token_is_refused(api):
    token = api.login("agent")
    User.update(active=False).where(User.username == "agent").execute()
    assert api("GET", "/dictionaries", headers={"Authorization": f"Bearer {token}"}).status_code == 401
