"""Sessions and login hardening (``workflows/people/login.py``, ``web/auth.py``) on both databases: lockouts by
username and by address, the password policy everywhere a password is set, logout everywhere on a password
change, session fixation and the session cookie's flags."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from conftest import PASSWORD

import app as app_module
from app import create_app
from workflows.people import login as logins
from workflows.people import org
from workflows.storage.db import database
from workflows.storage.models import LoginAttempt, User

EN = {"Accept-Language": "en"}
WRONG = "Wrong username or password."
LOCKED_15 = "Too many failed logins. Try again in 15 minutes."
NEW_PASSWORD = "fresh-and-long-1"


class Clock:
    """The lockout module's clock, moved by hand."""

    def __init__(self):
        self.at = datetime(2026, 3, 2, 9, 0)

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta) -> None:
        self.at += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    moved = Clock()
    monkeypatch.setattr(logins, "now", moved)
    return moved


def login(client, username: str, password: str = PASSWORD, ip: str = "10.0.0.1"):
    return client.post("/login", data={"username": username, "password": password}, headers=EN,
                       environ_base={"REMOTE_ADDR": ip})


def fail(client, username: str, times: int, ip: str = "10.0.0.1") -> list:
    return [login(client, username, "wrong-password", ip) for _ in range(times)]


def text(response) -> str:
    return response.get_data(as_text=True)


def logged_in(client) -> bool:
    return client.get("/profile/").status_code == 200


def attempts() -> list[tuple[str, str, bool]]:
    with database.connection_context():
        return list(LoginAttempt.select(LoginAttempt.username, LoginAttempt.ip, LoginAttempt.succeeded)
                    .order_by(LoginAttempt.id).tuples())


# --- Lockout


def test_the_fifth_failure_locks_the_username_with_a_clear_message(client, users, clock):
    pages = fail(client, "agent", 5)
    assert [page.status_code for page in pages] == [200, 200, 200, 200, 429]
    assert all(WRONG in text(page) for page in pages[:4])
    assert LOCKED_15 in text(pages[4]) and pages[4].headers["Retry-After"] == "900"
    right = login(client, "agent", PASSWORD)
    assert right.status_code == 429 and LOCKED_15 in text(right) and not logged_in(client)
    elsewhere = login(client, "AGENT ", PASSWORD, ip="10.9.9.9")  # another address, another spelling
    assert elsewhere.status_code == 429 and not logged_in(client)
    assert login(client, "wh1", PASSWORD).status_code == 302  # the address itself is not locked


def test_a_locked_attempt_checks_and_records_nothing(client, users, clock):
    fail(client, "agent", 5)
    login(client, "agent", PASSWORD)
    assert attempts() == [("agent", "10.0.0.1", False)] * 5


def test_unknown_usernames_are_locked_alike(client, users, clock):
    """A lockout never tells whether the user exists: the pages differ only by the name typed in."""
    real, unknown = fail(client, "agent", 5), fail(client, "nobody", 5)
    assert [p.status_code for p in real] == [p.status_code for p in unknown]
    assert text(real[4]) == text(unknown[4]).replace("nobody", "agent")


def test_the_lock_expires(client, users, clock):
    fail(client, "agent", 5)
    clock.advance(minutes=14, seconds=1)
    almost = login(client, "agent", PASSWORD)
    assert almost.status_code == 429 and "Too many failed logins. Try again in 1 minute." in text(almost)
    assert almost.headers["Retry-After"] == "59"
    clock.advance(seconds=59)
    assert login(client, "agent", PASSWORD).status_code == 302 and logged_in(client)


def test_a_first_failure_after_the_lock_does_not_lock_again(client, users, clock):
    fail(client, "agent", 5)
    clock.advance(minutes=15)
    assert [page.status_code for page in fail(client, "agent", 4)] == [200] * 4
    assert login(client, "agent", PASSWORD).status_code == 302


def test_failures_spread_wider_than_the_window_do_not_lock(client, users, clock):
    for _ in range(6):
        assert fail(client, "agent", 1)[0].status_code == 200
        clock.advance(minutes=4)
    assert login(client, "agent", PASSWORD).status_code == 302


def test_a_right_password_ends_the_run_of_failures(client, users, clock):
    fail(client, "agent", 4)
    assert login(client, "agent", PASSWORD).status_code == 302
    client.post("/logout")
    assert [page.status_code for page in fail(client, "agent", 4)] == [200] * 4
    assert attempts()[4] == ("agent", "10.0.0.1", True)


def test_a_guess_racing_the_lock_does_not_lift_it(db, clock):
    """A failure that passed the check just before the lock was stored is recorded after it."""
    with database.connection_context():
        for _ in range(6):
            logins.record("agent", "10.0.0.1", False)
        with pytest.raises(logins.LoginLocked, match="15 minutes"):
            logins.check("agent", "10.0.0.2")


@pytest.fixture
def strict(app):
    """Lower limits from the app's configuration, as an operator would set them."""
    app.config.update(LOGIN_MAX_FAILURES=3, LOGIN_IP_MAX_FAILURES=5, LOGIN_FAILURE_WINDOW=600, LOGIN_LOCKOUT=120)
    return app


def test_an_address_is_locked_across_usernames(client, users, clock, strict):
    pages = [*fail(client, "agent", 2, ip="10.6.6.6"), *fail(client, "wh1", 2, ip="10.6.6.6"),
             *fail(client, "someone", 1, ip="10.6.6.6")]
    assert [page.status_code for page in pages] == [200, 200, 200, 200, 429]
    assert "Too many failed logins. Try again in 2 minutes." in text(pages[-1])
    assert login(client, "fin1", PASSWORD, ip="10.6.6.6").status_code == 429
    assert login(client, "agent", PASSWORD, ip="10.7.7.7").status_code == 302


def test_successes_do_not_unlock_an_address(client, users, clock, strict):
    """One known account must not reset the count of guesses at the others."""
    for username in ("agent", "wh1", "fin1", "fin2"):
        assert fail(client, username, 1, ip="10.6.6.6")[0].status_code == 200
        assert login(client, "supervisor", PASSWORD, ip="10.6.6.6").status_code == 302
        client.post("/logout")
    assert fail(client, "wh2", 1, ip="10.6.6.6")[0].status_code == 429
    assert login(client, "supervisor", PASSWORD, ip="10.6.6.6").status_code == 429


def test_limits_come_from_the_configuration():
    assert logins.Limits.from_config({}) == logins.Limits(5, 20, timedelta(minutes=15), timedelta(minutes=15))
    limits = logins.Limits.from_config({"LOGIN_MAX_FAILURES": "3", "LOGIN_IP_MAX_FAILURES": 9,
                                        "LOGIN_FAILURE_WINDOW": 60, "LOGIN_LOCKOUT": 3600})
    assert limits == logins.Limits(3, 9, timedelta(minutes=1), timedelta(hours=1))
    assert limits.kept == timedelta(days=1)


def test_limits_can_be_set_from_the_environment(db_url, users, clock, monkeypatch):
    monkeypatch.setenv("LOGIN_MAX_FAILURES", "2")
    monkeypatch.setenv("LOGIN_LOCKOUT", "300")
    client = create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "s",
                         "WTF_CSRF_ENABLED": False}).test_client()
    assert [page.status_code for page in fail(client, "agent", 2)] == [200, 429]
    assert "Try again in 5 minutes." in text(login(client, "agent"))


def test_attempts_are_recorded_and_old_ones_pruned(client, users, clock):
    assert login(client, "agent", PASSWORD, ip="10.1.2.3").status_code == 302
    fail(client, " WH1", 1, ip="10.1.2.4")
    assert attempts() == [("agent", "10.1.2.3", True), ("wh1", "10.1.2.4", False)]
    clock.advance(days=1, seconds=1)
    fail(client, "fin1", 1)
    assert attempts() == [("fin1", "10.0.0.1", False)]


def test_api_tokens_are_not_affected_by_a_lockout(client, users, clock, strict):
    with database.connection_context():
        token = org.issue_token(users["agent"], "CRM")
    fail(client, "agent", 3, ip="10.0.0.1")
    fail(client, "x", 5, ip="127.0.0.1")
    assert login(client, "agent").status_code == 429
    response = client.get("/api/v1/notifications", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_password_logins_on_the_api_count_and_lock_alike(client, users, clock):
    """POST /api/v1/auth/token is a password login too: its failures count, and a locked name gets 429."""
    def token(password: str, ip: str = "10.0.0.1"):
        return client.post("/api/v1/auth/token", json={"username": "agent", "password": password}, headers=EN,
                           environ_base={"REMOTE_ADDR": ip})
    assert [token("wrong-password").status_code for _ in range(4)] == [401] * 4
    assert token(PASSWORD).status_code == 201  # a right password ends the run of failures
    fail(client, "agent", 5)  # the browser's fifth failure locks the API as well
    refused = token(PASSWORD, ip="10.7.7.7")
    assert refused.status_code == 429 and refused.json["error"] == "locked"
    assert refused.json["message"] == LOCKED_15 and refused.headers["Retry-After"] == "900"


# --- Password policy


@pytest.mark.parametrize(("password", "message"), [
    ("short1", "the password must have at least 8 characters"),
    ("1234567890", "the password must not be only digits"),
    ("newbie-2026", "the password must not contain the username"),
    ("NewBie", "the password must have at least 8 characters"),
    ("Password", "this password is too common: choose another"),
    ("qwerty123", "this password is too common: choose another"),
])
def test_the_password_policy_names_the_field(password, message):
    with pytest.raises(org.OrgError) as refused:
        org.check_password(password, "newbie")
    assert (refused.value.field, refused.value.msg.msgid) == ("password", message)


@pytest.mark.parametrize(("password", "username"), [
    ("long-enough", "newbie"), (PASSWORD, "admin"), ("password1", "sup"), ("a-b-c-d-e-f", "a"), ("x" * 8, None)])
def test_the_password_policy_accepts(password, username):
    """Names of one or two letters would rule out too many words; the test organisation's "password1" stays."""
    org.check_password(password, username)


def test_admin_user_creation_applies_the_policy(client, auth, users):
    auth.login("admin")
    data = {"username": "newbie", "name": "新人", "role": "agent", "department": "service", "password": "newbie123"}
    response = client.post("/admin/users/new", data=data, headers=EN)
    assert response.status_code == 422
    assert 'data-field="password">Password: the password must not contain the username' in text(response)
    with database.connection_context():
        assert User.get_or_none(User.username == "newbie") is None


def test_admin_password_reset_applies_the_policy(client, auth, users):
    auth.login("admin")
    response = client.post("/admin/users/agent/password", data={"password": "0123456789"}, headers=EN)
    assert response.status_code == 422 and "the password must not be only digits" in text(response)


@pytest.mark.parametrize(("args", "message"), [
    (["users", "create", "zhang", "--password", "zhang-2026", "--role", "agent"],
     "the password must not contain the username"),
    (["users", "create", "zhang", "--password", "12345678", "--role", "agent"], "the password must not be only digits"),
    (["users", "password", "agent", "--password", "iloveyou"], "this password is too common: choose another"),
    (["users", "password", "nobody", "--password", NEW_PASSWORD], "no user 'nobody'"),
])
def test_the_command_line_applies_the_policy(runner, users, args, message):
    result = runner.invoke(args=[*args, "--lang", "en"])
    assert (result.exit_code, result.stderr) == (1, message + "\n")


def test_the_command_line_sets_a_password(runner, users):
    result = runner.invoke(args=["users", "password", "agent"], input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n")
    assert result.exit_code == 0 and result.stdout.endswith("password of agent set\n")
    with database.connection_context():
        assert org.authenticate("agent", NEW_PASSWORD) is not None and org.authenticate("agent", PASSWORD) is None


# --- Changing one's own password on the profile page


def change(client, current: str = PASSWORD, new: str = NEW_PASSWORD, confirm: str | None = None):
    data = {"current_password": current, "password": new, "confirm": new if confirm is None else confirm}
    return client.post("/profile/password", data=data, headers=EN)


@pytest.mark.parametrize(("current", "new", "confirm", "field", "message"), [
    ("not-my-password", NEW_PASSWORD, None, "current_password", "The current password is wrong."),
    (PASSWORD, "short", None, "password", "the password must have at least 8 characters"),
    (PASSWORD, "agent-2026!", None, "password", "the password must not contain the username"),
    (PASSWORD, NEW_PASSWORD, "fresh-and-long-2", "confirm", "The new passwords differ."),
])
def test_a_refused_password_change_names_the_field(client, auth, current, new, confirm, field, message):
    auth.login("agent")
    response = change(client, current, new, confirm)
    assert response.status_code == 422
    assert f'data-field="{field}">{message}</div>' in text(response)
    with database.connection_context():
        assert org.authenticate("agent", PASSWORD) is not None


def test_guessing_the_current_password_counts_as_failed_logins(client, auth, clock):
    auth.login("agent")
    pages = [change(client, "guess-number-x") for _ in range(5)]
    assert "Too many failed logins. Try again in 15 minutes." in text(pages[-1])
    assert change(client).status_code == 422  # the right one too, while locked
    with database.connection_context():
        assert org.authenticate("agent", PASSWORD) is not None


# --- Logout everywhere, session fixation, logout


def test_a_password_change_logs_out_the_other_sessions(app, client, auth):
    other = app.test_client()
    auth.login("agent")
    login(other, "agent")
    assert logged_in(client) and logged_in(other)
    response = change(client)
    assert response.status_code == 302 and response.headers["Location"] == "/profile/"
    assert "Password changed. Your other sessions have been logged out." in text(client.get("/profile/", headers=EN))
    sent = other.get("/", headers=EN)
    assert sent.status_code == 302 and sent.headers["Location"].startswith("/login")
    assert login(other, "agent", PASSWORD).status_code == 200
    assert login(other, "agent", NEW_PASSWORD).status_code == 302 and logged_in(other)
    with database.connection_context():
        entry = User.get(User.username == "agent")
    assert entry.session_version == 1


def test_an_admin_reset_logs_out_every_session_of_the_user(app, client, auth):
    victim = app.test_client()
    login(victim, "agent")
    auth.login("admin")
    assert client.post("/admin/users/agent/password", data={"password": NEW_PASSWORD}).status_code == 302
    assert not logged_in(victim) and logged_in(client)


def test_admins_resetting_their_own_password_stay_logged_in(app, client, auth):
    other = app.test_client()
    login(other, "admin")
    auth.login("admin")
    assert client.post("/admin/users/admin/password", data={"password": NEW_PASSWORD}).status_code == 302
    assert logged_in(client) and not logged_in(other)


def session_cookie(client) -> str:
    return client.get_cookie("session").value


def test_a_cookie_taken_before_login_gives_nothing_after_it(app, client, users):
    """Session fixation: the attacker's copy of the victim's pre-login cookie stays anonymous."""
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    planted = session_cookie(client)
    assert login(client, "agent").status_code == 302 and logged_in(client)
    assert session_cookie(client) != planted
    attacker = app.test_client()
    attacker.set_cookie("session", planted)
    assert attacker.get("/").status_code == 302 and not logged_in(attacker)


def test_logout_ends_this_browser_session(client, users):
    login(client, "agent")
    with client.session_transaction() as session:
        session["planted"] = "anything"
    client.post("/logout")
    with client.session_transaction() as session:
        assert dict(session) == {}
    assert not logged_in(client)


def test_a_copied_cookie_outlives_logout_but_not_a_password_change(app, client, users):
    """Documented limit of signed-cookie sessions: logout cannot revoke a copy, a password change does."""
    login(client, "agent")
    copy = app.test_client()
    copy.set_cookie("session", session_cookie(client))
    client.post("/logout")
    assert logged_in(copy)
    with database.connection_context():
        org.set_password("agent", NEW_PASSWORD)
    assert not logged_in(copy)


def test_a_session_without_its_version_is_logged_out(client, users):
    """Sessions from before versions (or a remember cookie, which carries none) must log in again."""
    login(client, "agent")
    with client.session_transaction() as session:
        del session["_session_version"]
    assert not logged_in(client)


# --- Cookie flags


def set_cookie(app) -> str:
    """The Set-Cookie of the login page, which puts its CSRF token in the session."""
    response = app.test_client().get("/login")
    return response.headers["Set-Cookie"]


def test_the_session_cookie_is_http_only_and_same_site_lax(client, users):
    header = login(client, "agent").headers["Set-Cookie"]
    assert header.startswith("session=") and "; HttpOnly" in header and "; SameSite=Lax" in header
    assert "Secure" not in header  # TESTING speaks plain HTTP


@pytest.mark.parametrize(("env", "config", "secure"), [
    (None, {}, True), ("1", {}, True), ("0", {}, False), (None, {"TESTING": True}, False),
    ("1", {"TESTING": True}, True), (None, {"DEBUG": True}, False)])
def test_cookies_are_secure_by_default(db_url, db, monkeypatch, env, config, secure):
    if env is None:
        monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    else:
        monkeypatch.setenv("SESSION_COOKIE_SECURE", env)
    app = create_app({"DATABASE_URL": db_url, "SECRET_KEY": "s", **config})
    assert (app.config["SESSION_COOKIE_SECURE"], app.config["REMEMBER_COOKIE_SECURE"]) == (secure, secure)
    header = set_cookie(app)
    assert "HttpOnly" in header and "SameSite=Lax" in header and ("; Secure" in header) == secure


@pytest.mark.parametrize(("env", "secure"), [(None, False), ("1", True)])
def test_the_plain_http_demo_turns_secure_cookies_off(monkeypatch, env, secure):
    """``python app.py`` serves http://127.0.0.1: a Secure cookie would never come back."""
    if env is None:
        monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    else:
        monkeypatch.setenv("SESSION_COOKIE_SECURE", env)
    made = []
    monkeypatch.setattr(app_module, "_demo_secret", lambda instance: None)
    monkeypatch.setattr(app_module, "create_app", lambda config=None: made.append(config) or _Stop.now())
    with pytest.raises(_Stop):
        app_module.main()
    plain_http = {"SESSION_COOKIE_SECURE": False, "REMEMBER_COOKIE_SECURE": False}
    assert made == [None if secure else plain_http]


class _Stop(Exception):
    """Ends ``main()`` once it chose the app's configuration: no database, no server."""

    @classmethod
    def now(cls):
        raise cls
