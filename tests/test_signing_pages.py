"""Countersign through the API and the ticket page: sign, the signatures and progress, refusals."""

from __future__ import annotations

import re

import pytest
from test_openapi import Checked
from test_signing import SIGNERS, fresh, parts, publish, sign_process

from workflows.storage.models import Ticket
from workflows.tickets import engine


@pytest.fixture
def api(client, world, doc):
    return Checked(client, doc)


@pytest.fixture
def doc(client) -> dict:
    return client.get("/api/v1/openapi.json").json


def login(client, username: str):
    response = client.post("/login", data={"username": username, "password": "password1"})
    assert response.status_code == 302


def started(world) -> Ticket:
    publish(sign_process())
    return engine.create(world["agent"], "purchase", {"item": "服务器"}, transition="review")


def test_api_sign_shows_signatures_and_progress(api, world):
    ticket = started(world)
    response = api.act("wh1", ticket.number, "sign", data={"verdict": "agree", "remark": "好"}, comment="同意")
    assert response.status_code == 200, response.json
    body = response.json
    assert body["transitions"] == [] and body["status"] == "open"
    assert body["sign"]["mode"] == "all" and (body["sign"]["passed"], body["sign"]["needed"]) == (1, 6)
    mine = next(s for s in body["signatures"] if s["user"] == "wh1")
    assert (mine["state"], mine["decision"], mine["comment"], mine["data"]["remark"]) == ("signed", "agree", "同意",
                                                                                           "好")
    assert mine["at"] and mine["signed_at"] == mine["at"]
    assert {s["user"]: s["state"] for s in body["signatures"]} == {**{n: "waiting" for n in SIGNERS}, "wh1": "signed"}
    got = api("GET", f"/tickets/{ticket.number}", "fin1").json  # a waiting signer reads it
    assert got["sign"]["passed"] == 1 and got["data"]["item"] == "服务器"


def test_api_sign_with_bad_data_names_the_field(api, world):
    ticket = started(world)
    response = api.act("wh1", ticket.number, "sign", data={"verdict": "maybe"})
    assert 400 <= response.status_code < 500 and "verdict" in response.json["fields"]
    response = api.act("wh1", ticket.number, "sign", data={"verdict": "agree", "item": "改"})
    assert 400 <= response.status_code < 500 and "item" in response.json["fields"]
    assert parts(ticket)["wh1"] == "waiting"


def test_api_non_signer_is_refused_403(api, world):
    ticket = started(world)
    response = api("POST", f"/tickets/{ticket.number}/actions", "agent2",
                   json={"action": "sign", "version": ticket.version, "data": {"verdict": "agree"}})
    assert response.status_code == 403
    response = api("POST", f"/tickets/{ticket.number}/actions", "admin",
                   json={"action": "advance", "version": ticket.version, "data": {"verdict": "agree"},
                         "transition": "$end"})
    assert response.status_code == 409


def test_api_lists_it_in_the_signers_tickets(api, world):
    ticket = started(world)
    items = api("GET", "/tickets?scope=mine", "fin2").json["items"]
    assert [t["number"] for t in items] == [ticket.number]


def test_the_signer_page_shows_the_form_and_signs(client, world):
    ticket = started(world)
    login(client, "wh1")
    page = client.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    assert 'name="action" value="sign"' in page and "lz-signatures" in page
    assert 'value="advance"' not in page
    assert re.search(r'name="verdict"', page) and 'name="remark"' in page
    response = client.post(f"/tickets/{ticket.number}/act", data={
        "action": "sign", "version": str(ticket.version), "verdict": "agree", "remark": "ok", "comment": "同意"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert parts(ticket)["wh1"] == "signed"
    page = client.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    assert 'name="action" value="sign"' not in page and "同意" in page


def test_the_signer_page_shows_errors_at_the_field(client, world):
    ticket = started(world)
    login(client, "fin1")
    response = client.post(f"/tickets/{ticket.number}/act", data={
        "action": "sign", "version": str(ticket.version), "verdict": "", "comment": ""})
    assert response.status_code == 422
    assert parts(ticket)["fin1"] == "waiting"


def test_the_page_shows_progress_in_both_languages(client, world):
    ticket = started(world)
    engine.act(world["wh1"], ticket.number, "sign", version=ticket.version, data={"verdict": "agree"})
    login(client, "fin1")
    zh = client.get(f"/tickets/{ticket.number}", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    en = client.get(f"/tickets/{ticket.number}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "1 of 6 signed" in en and "all must pass" in en
    assert "已签 1 / 6" in zh and "全部通过" in zh


def test_a_non_signer_cannot_post_a_signature(client, world):
    ticket = started(world)
    login(client, "agent2")
    response = client.post(f"/tickets/{ticket.number}/act", data={
        "action": "sign", "version": str(ticket.version), "verdict": "agree"})
    assert response.status_code == 403
    assert fresh(ticket).version == ticket.version
