"""The API list's page size (``limit``) and step filter (issue 24: what Redmine's and Zammad's lists take)."""

from __future__ import annotations

import pytest
from test_api import Api
from test_api_more import create


@pytest.fixture
def api(client, world):
    return Api(client)


def test_limit_sets_the_page_and_the_cursor_walks_every_ticket_once(api):
    numbers = [create(api)["number"] for _ in range(5)]
    seen, cursor = [], None
    for _ in range(3):
        page = api("GET", "/tickets?scope=all&limit=2" + (f"&cursor={cursor}" if cursor else ""), "admin").json
        assert len(page["items"]) <= 2
        seen += [item["number"] for item in page["items"]]
        cursor = page["next_cursor"]
    assert seen == numbers[::-1] and cursor is None
    assert len(api("GET", "/tickets?scope=all", "admin").json["items"]) == 5  # default 50


@pytest.mark.parametrize("limit", ["0", "101", "-1", "2.5", "ten", "", "１０"])
def test_a_bad_limit_is_a_400_naming_limit(api, limit):
    answer = api("GET", f"/tickets?scope=all&limit={limit}", "admin")
    assert answer.status_code == 400 and "limit" in answer.json["fields"], answer.json


def test_step_narrows_the_list_to_tickets_at_that_step(api):
    moved, kept = create(api), create(api)
    api.act(moved["assignee"], moved["number"], "advance", data={"approval": "approve"}, transition="warehouse")
    at_approve = api("GET", "/tickets?scope=all&step=approve", "admin").json["items"]
    at_warehouse = api("GET", "/tickets?scope=all&step=warehouse", "admin").json["items"]
    assert [t["number"] for t in at_approve] == [kept["number"]]
    assert [t["number"] for t in at_warehouse] == [moved["number"]]
