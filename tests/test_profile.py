"""The workspace profile (/profile) on both databases: one's own API tokens, issued once, listed, revoked."""

from __future__ import annotations

import re

import pytest
from conftest import PASSWORD

from app import create_app
from workflows.people.org import new_token, user_for_token
from workflows.storage.models import ApiToken, AuditEntry, User

SHOWN = re.compile(r'id="lz-new-token" class="[^"]*" value="([^"]+)"')


def issue(client, name: str = "CRM"):
    return client.post("/profile/tokens", data={"name": name})


def test_the_profile_needs_a_login(client, users):
    assert client.get("/profile/").status_code == 302
    assert issue(client).status_code == 302 and ApiToken.select().count() == 0


def test_a_new_token_is_shown_once_and_works(client, auth):
    auth.login("agent")
    assert b'href="/profile/"' in client.get("/").data  # linked from the user menu
    response = issue(client, "CRM")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    token = SHOWN.search(response.get_data(as_text=True)).group(1)
    assert user_for_token(token).username == "agent"
    row = ApiToken.get()
    assert (row.name, row.user.username) == ("CRM", "agent") and token not in row.token_hash
    again = client.get("/profile/").get_data(as_text=True)
    assert token not in again and "CRM" in again and not SHOWN.search(again)
    entry = AuditEntry.get()
    assert (entry.actor.username, entry.action, entry.target) == ("agent", "token.issue", f"token:{row.id}")


def test_the_list_shows_only_ones_own_tokens_with_their_last_use(client, auth, users):
    new_token(users["agent"], "CRM")
    new_token(users["agent"], "OA")
    _, other = new_token(users["wh1"], "wh1-secret-name")
    user_for_token(other)
    auth.login("agent")
    html = client.get("/profile/").get_data(as_text=True)
    assert "CRM" in html and "OA" in html and "wh1-secret-name" not in html
    assert html.count("data-token=") == 2


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_a_token_needs_a_name(client, auth, name):
    auth.login("agent")
    response = issue(client, name)
    assert response.status_code == 422 and b'data-field="name"' in response.data
    assert ApiToken.select().count() == 0 and AuditEntry.select().count() == 0


def test_revoke_refuses_the_token_at_once(client, auth, users):
    row, token = new_token(users["agent"], "CRM")
    auth.login("agent")
    response = client.post(f"/profile/tokens/{row.id}/revoke")
    assert response.status_code == 302 and response.headers["Location"].endswith("/profile/")
    assert user_for_token(token) is None and ApiToken.select().count() == 0
    assert client.get("/api/v1/dictionaries", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert AuditEntry.get().action == "token.revoke"


def test_another_users_token_cannot_be_revoked(client, auth, users):
    row, token = new_token(users["wh1"], "theirs")
    auth.login("agent")
    assert client.post(f"/profile/tokens/{row.id}/revoke").status_code == 404
    assert client.post("/profile/tokens/99999/revoke").status_code == 404
    assert user_for_token(token).username == "wh1" and AuditEntry.select().count() == 0


def csrf_client(db_url, username: str = "agent"):
    """A client of an app with CSRF checks on, logged in through the real form."""
    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "s", "WTF_CSRF_ENABLED": True})
    client = app.test_client()
    login = client.get("/login").get_data(as_text=True)
    csrf = login.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf})
    assert response.status_code == 302
    return client


def form_token(client) -> str:
    return client.get("/profile/").get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]


def test_posts_need_a_csrf_token(users, db_url):
    row, token = new_token(users["agent"], "CRM")
    client = csrf_client(db_url)
    for path in ("/profile/tokens", f"/profile/tokens/{row.id}/revoke"):
        response = client.post(path, data={"name": "forged"})
        assert response.status_code == 400 and b"CSRF" in response.data
    assert [t.name for t in ApiToken.select()] == ["CRM"] and user_for_token(token) is not None


def test_the_forms_carry_a_csrf_token(users, db_url):
    row, _ = new_token(users["agent"], "CRM")
    client = csrf_client(db_url)
    issued = client.post("/profile/tokens", data={"name": "OA", "csrf_token": form_token(client)})
    assert issued.status_code == 200 and SHOWN.search(issued.get_data(as_text=True))
    revoked = client.post(f"/profile/tokens/{row.id}/revoke", data={"csrf_token": form_token(client)})
    assert revoked.status_code == 302
    assert [t.name for t in ApiToken.select()] == ["OA"]


def test_a_disabled_user_has_no_profile(client, auth, users):
    auth.login("agent")
    User.update(active=False).where(User.username == "agent").execute()
    assert client.get("/profile/").status_code in (302, 401)
