"""Browser login and logout (``web/auth.py``), on both databases."""

from __future__ import annotations

import re

import pytest
from conftest import PASSWORD

from app import create_app
from web.auth import safe_next
from workflows.storage.db import database
from workflows.storage.models import User

WRONG = {"en": "Wrong username or password.", "zh-CN": "用户名或密码错误。"}


def logged_in_as(client) -> str | None:
    with client.session_transaction() as session:
        return session.get("_user_id")


def test_login_page_has_the_form(client):
    html = client.get("/login").get_data(as_text=True)
    assert 'id="username" name="username"' in html and 'id="password" name="password"' in html
    assert 'type="password"' in html


def test_login_goes_home_and_shows_the_user(client, auth, users):
    response = auth.login("agent")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert logged_in_as(client) == str(users["agent"].id)
    html = client.get("/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "坐席小张" in html and 'action="/logout"' in html and "退出登录" in html


def test_anonymous_visitors_are_sent_to_login(client):
    response = client.get("/", headers={"Accept-Language": "en"})
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    html = client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Log in" in html and 'action="/logout"' not in html


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_wrong_password_and_unknown_user_look_the_same(client, auth, lang):
    headers = {"Accept-Language": lang}
    pages = [client.post("/login", data={"username": username, "password": "wrong-password"}, headers=headers)
             for username in ("agent", "nobody")]
    assert [page.status_code for page in pages] == [200, 200]
    assert WRONG[lang] in pages[0].get_data(as_text=True)
    # Only the username typed in comes back.
    assert pages[0].get_data(as_text=True) == pages[1].get_data(as_text=True).replace("nobody", "agent")
    assert logged_in_as(client) is None


def test_empty_fields_are_a_failed_login(client, auth):
    response = client.post("/login", data={"username": "", "password": ""}, headers={"Accept-Language": "en"})
    assert response.status_code == 200 and WRONG["en"] in response.get_data(as_text=True)
    assert logged_in_as(client) is None


def test_inactive_user_cannot_log_in(client, auth, app):
    with app.app_context(), database.connection_context():
        User.update(active=False).where(User.username == "agent").execute()
    response = auth.login("agent")
    assert response.status_code == 200 and logged_in_as(client) is None


def test_deactivation_ends_an_open_session(client, auth, app):
    auth.login("admin")
    assert client.get("/admin/").status_code == 200
    with app.app_context(), database.connection_context():
        User.update(active=False).where(User.username == "admin").execute()
    assert client.get("/admin/").status_code == 302


def test_login_starts_a_new_session(client, auth, users):
    """Session fixation: nothing set in the session before login survives it."""
    client.get("/login")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    before = client.get_cookie("session").value
    auth.login("agent")
    assert client.get_cookie("session").value != before
    with client.session_transaction() as session:
        assert "planted" not in session and session["_user_id"] == str(users["agent"].id)


def test_session_cookie_is_http_only_and_same_site(client, auth):
    auth.login("agent")
    cookie = client.get_cookie("session")
    assert cookie.http_only and cookie.same_site == "Lax"


@pytest.mark.parametrize("target", [
    "https://evil.example", "//evil.example", "/\\evil.example", "\\\\evil.example", "/\t/evil.example",
    "javascript:alert(1)", "http:/evil.example", "evil.example", ""])
def test_next_never_leaves_the_site(auth, target):
    response = auth.login("admin", next=target)
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_next_inside_the_site_is_followed(client, auth, seeded):
    sent = client.get("/admin/processes/", headers={"Accept-Language": "en"})
    assert sent.headers["Location"] == "/login?next=%2Fadmin%2Fprocesses%2F"
    page = client.get(sent.headers["Location"], headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Please log in to open this page." in page
    assert 'action="/login?next=/admin/processes/"' in page
    failed = client.post("/login?next=/admin/processes/", data={"username": "admin", "password": "nope"})
    assert 'action="/login?next=/admin/processes/"' in failed.get_data(as_text=True)
    response = auth.login("admin", next="/admin/processes/?x=1")
    assert response.headers["Location"] == "/admin/processes/?x=1"


@pytest.mark.parametrize(("target", "safe"), [
    ("/", True), ("/tickets/TH-1?tab=history", True), ("/admin/processes/", True),
    (None, False), ("https://evil.example/", False), ("//evil.example", False), ("/\\evil", False),
    ("/\n/evil", False), ("mailto:x@evil.example", False)])
def test_safe_next(target, safe):
    assert safe_next(target) == (target if safe else None)


def test_logout_needs_post(client, auth):
    auth.login("admin")
    assert client.get("/logout").status_code == 405
    assert logged_in_as(client) is not None
    response = auth.logout()
    assert response.status_code == 302 and logged_in_as(client) is None
    assert client.get("/admin/").status_code == 302


def test_passwords_are_stored_hashed(app, users):
    with app.app_context(), database.connection_context():
        stored = User.get(User.username == "agent").password_hash
    assert stored.startswith("scrypt:") and PASSWORD not in stored


@pytest.fixture
def csrf_client(db_url, users):
    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "s", "WTF_CSRF_ENABLED": True})
    return app.test_client()


def csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def test_login_form_needs_its_csrf_token(csrf_client):
    response = csrf_client.post("/login", data={"username": "admin", "password": PASSWORD})
    assert response.status_code == 400 and b"CSRF" in response.data
    assert logged_in_as(csrf_client) is None
    token = csrf_token(csrf_client.get("/login").get_data(as_text=True))
    response = csrf_client.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302 and logged_in_as(csrf_client) is not None


def test_logout_needs_its_csrf_token(csrf_client):
    token = csrf_token(csrf_client.get("/login").get_data(as_text=True))
    csrf_client.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token})
    assert csrf_client.post("/logout").status_code == 400
    assert logged_in_as(csrf_client) is not None
    token = csrf_token(csrf_client.get("/").get_data(as_text=True))  # the logout button's form
    assert csrf_client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert logged_in_as(csrf_client) is None
