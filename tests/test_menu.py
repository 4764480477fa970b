"""The main menu on both databases: each role sees the entries whose pages it may open, asked of workflows."""

from __future__ import annotations

import re

import pytest
from test_lists import login

from workflows.reporting.reports import can_view_reports
from workflows.storage.models import User
from workflows.tickets.access import is_admin, may_create

ENTRIES = {"register_call": "/call", "reports": "/reports", "admin": "/admin/"}
SEES = {  # role: the guarded entries its menu shows
    "admin": {"register_call", "reports", "admin"}, "supervisor": {"register_call", "reports"},
    "agent": {"register_call"}, "handler": set(),
}
USERS = {"admin": "admin", "supervisor": "sup", "agent": "agent", "handler": "wh1"}


@pytest.mark.parametrize("role", SEES)
def test_each_rule_answers_per_role(role):
    user = User(role=role)
    shown = {"register_call": may_create(user), "reports": can_view_reports(user), "admin": is_admin(user)}
    assert {entry for entry, yes in shown.items() if yes} == SEES[role]


def menu_links(html: str) -> set[str]:
    nav = re.search(r'<nav class="navbar.*?</nav>', html, re.S).group(0)
    return set(re.findall(r'href="([^"]+)"', nav))


@pytest.mark.parametrize("role", SEES)
def test_the_menu_shows_the_entries_the_role_may_open(app, client, world, role):
    links = menu_links(login(client, USERS[role]).get("/").get_data(as_text=True))
    assert {entry for entry, href in ENTRIES.items() if href in links} == SEES[role]
    for entry in SEES[role]:  # and the page behind each one opens
        assert client.get(ENTRIES[entry]).status_code == 200, entry


def test_an_anonymous_visitor_sees_no_guarded_entry(app, client, world):
    links = menu_links(client.get("/login").get_data(as_text=True))
    assert not links & set(ENTRIES.values())
