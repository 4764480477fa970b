"""The application: factory, database settings, health, language, CSRF, admin access."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

import app as app_module
from app import create_app
from workflows.storage.db import make_database


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok", "database": "ok"}


def test_sqlite_runs_in_wal_with_immediate_writes(tmp_path):
    db = make_database(f"sqlite:///{tmp_path}/x.db")
    db.connect()
    assert db.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute_sql("PRAGMA busy_timeout").fetchone()[0] == 30000
    assert db.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db._lock_type == "IMMEDIATE"
    db.close()


def test_relative_sqlite_paths_live_under_the_app_root(tmp_path):
    db = make_database("sqlite:///instance/test.db", root=tmp_path)
    assert db.database == f"{tmp_path}/instance/test.db" and (tmp_path / "instance").is_dir()


def test_postgresql_is_pooled():
    from playhouse.pool import PooledPostgresqlDatabase

    assert isinstance(make_database("postgresql://u@127.0.0.1:5432/x"), PooledPostgresqlDatabase)


def test_unknown_database_scheme_is_named():
    with pytest.raises(ValueError, match="DATABASE_URL"):
        make_database("mysql://x")


def test_secret_key_is_required_outside_testing(db_url, db, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setattr(app_module, "_secret_key", lambda app: None)
    response = create_app({"DATABASE_URL": db_url}).test_client().get("/healthz")
    assert response.status_code == 500 and b"SECRET_KEY" in response.data


def test_the_demo_secret_under_instance_is_used(db_url, db, monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    app_module._demo_secret(tmp_path)
    monkeypatch.setattr(app_module.Flask, "auto_find_instance_path", lambda self: str(tmp_path))
    app = create_app({"DATABASE_URL": db_url})
    assert app.config["SECRET_KEY"] == (tmp_path / "secret_key").read_text()
    assert app.test_client().get("/healthz").status_code == 200


@pytest.mark.parametrize(("header", "word"), [
    ("zh-CN,zh;q=0.9", "用户名"), ("en-US,en;q=0.8", "Username"), (None, "用户名")])
def test_language_follows_accept_language(client, header, word):
    headers = {"Accept-Language": header} if header else {}
    assert word in client.get("/login", headers=headers).get_data(as_text=True)


def test_language_switch_is_remembered(client):
    response = client.get("/lang/en", headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 302
    assert "Username" in client.get("/login", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)


def test_forms_need_a_csrf_token(seeded, db_url):
    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "s", "WTF_CSRF_ENABLED": True})
    response = app.test_client().post("/admin/processes/return_goods/1/approve", data={"approval": "approve"})
    assert response.status_code == 400 and b"CSRF" in response.data


ADMIN_PAGES = ("/admin/", "/admin/processes/", "/admin/processes/return_goods/1/approve")


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_admin_sends_anonymous_visitors_to_login(client, seeded, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?" + urlencode({"next": url})


@pytest.mark.parametrize("url", ADMIN_PAGES)
@pytest.mark.parametrize(("username", "status"), [
    ("agent", 403), ("supervisor", 403), ("wh1", 403), ("admin", 200)])
def test_admin_answers_only_admins(client, auth, seeded, url, username, status):
    auth.login(username)
    assert client.get(url).status_code == status


def test_the_local_demo_no_longer_opens_the_admin(client, seeded):
    """Not even to 127.0.0.1: the admin asks everyone to log in."""
    response = client.get("/admin/processes/", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?")


def test_python_app_py_seeds_and_prints_the_demo_logins(db_url, db, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("SECRET_KEY", "s")
    monkeypatch.delenv("PORT", raising=False)
    monkeypatch.setattr(app_module, "_demo_secret", lambda instance: None)
    served = []
    monkeypatch.setattr(app_module.Flask, "run", lambda self, **options: served.append(options))
    app_module.main()
    lines = capsys.readouterr().out.splitlines()
    assert "Demo logins (username, role, password):" in lines
    assert "  admin        admin       demo12345" in lines and "  agent        agent       demo12345" in lines
    assert not any("none yet" in line for line in lines)
    assert served == [{"host": "127.0.0.1", "port": 5000}]
