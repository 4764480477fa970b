"""What a deployment relies on: /healthz, pooled connections handed back, pool settings, proxy headers."""

from __future__ import annotations

import socket

import psycopg
import pytest
from flask import request
from playhouse.pool import PooledPostgresqlDatabase

from app import create_app
from workflows.storage import db as lzdb
from workflows.storage.db import make_database, pool_options


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_healthz_answers_ok_when_the_database_does(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_healthz_is_503_without_details_when_the_database_is_unreachable():
    port = closed_port()
    app = create_app({"TESTING": True, "SECRET_KEY": "s", "DATABASE_URL": f"postgresql://lz@127.0.0.1:{port}/lz"})
    try:
        response = app.test_client().get("/healthz")
    finally:
        lzdb.database.obj.close_all()
        lzdb._bound.clear()  # the next test binds its own database again
    assert response.status_code == 503
    assert response.json == {"status": "error", "database": "unreachable"}
    body = response.get_data(as_text=True)
    assert str(port) not in body and "127.0.0.1" not in body and "refused" not in body.lower()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_request_returns_its_pooled_connection(client, db):
    pool = db.obj
    assert isinstance(pool, PooledPostgresqlDatabase)
    pool.close()
    assert client.get("/login").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert pool._in_use == {} and len(pool._connections) == 1  # back in the pool, and reused by the second request


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_connection_back_a_moment_ago_is_not_pinged_an_older_one_is_and_a_dead_one_replaced(client, db, db_url,
                                                                                               monkeypatch):
    """peewee's pool sent ``SELECT 1`` at every check-out; now only for a connection idle over ``recent``
    seconds, which is how a connection the server dropped is still found and replaced before use."""
    pool, pings = db.obj, []
    ping = pool._adapter.is_connection_closed
    monkeypatch.setattr(pool._adapter, "is_connection_closed", lambda conn: pings.append(conn) or ping(conn))
    pool.close()
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    assert pings == []  # each check-out followed a check-in within the second
    monkeypatch.setattr(pool, "recent", 0.0)
    connection = pool._connections[0][2]
    with psycopg.connect(db_url, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", (connection.info.backend_pid,))
    assert client.get("/healthz").status_code == 200  # the dead one was pinged, dropped, and a new one used
    assert len(pings) == 1 and connection.closed and pool._connections[0][2] is not connection


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_request_closes_its_sqlite_connection(client, db):
    db.close()
    assert client.get("/login").status_code == 200
    assert db.is_closed()


def test_pool_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("DB_POOL_SIZE", "8")
    monkeypatch.setenv("DB_POOL_STALE_TIMEOUT", "60")
    monkeypatch.setenv("DB_POOL_TIMEOUT", "3")
    monkeypatch.setenv("DB_CONNECT_TIMEOUT", "2")
    pool = make_database("postgresql://u@127.0.0.1:5432/x")
    assert (pool._max_connections, pool._stale_timeout, pool._wait_timeout) == (8, 60, 3)
    assert pool.connect_params["connect_timeout"] == 2


def test_pool_defaults_and_a_bad_setting_is_named():
    assert pool_options({}) == {"max_connections": 32, "stale_timeout": 300, "timeout": 10, "connect_timeout": 5}
    with pytest.raises(ValueError, match="DB_POOL_SIZE"):
        pool_options({"DB_POOL_SIZE": "many"})


def probe(app):
    """A page that shows what the app believes about the client."""
    app.add_url_rule("/probe", "probe", lambda: {"ip": request.remote_addr, "scheme": request.scheme})
    return app.test_client()


FORWARDED = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}


def test_forwarded_headers_are_ignored_unless_proxies_are_trusted(db_url, db):
    client = probe(create_app({"TESTING": True, "SECRET_KEY": "s", "DATABASE_URL": db_url}))
    response = client.get("/probe", headers=FORWARDED, environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert response.json == {"ip": "10.0.0.2", "scheme": "http"}


def test_a_trusted_proxy_gives_the_client_address_and_scheme(db_url, db, monkeypatch):
    monkeypatch.setenv("TRUSTED_PROXIES", "1")
    client = probe(create_app({"TESTING": True, "SECRET_KEY": "s", "DATABASE_URL": db_url}))
    response = client.get("/probe", headers=FORWARDED, environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert response.json == {"ip": "203.0.113.7", "scheme": "https"}
    spoofed = client.get("/probe", headers={"X-Forwarded-For": "1.2.3.4, 203.0.113.7"},
                         environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert spoofed.json["ip"] == "203.0.113.7"  # only the hop our proxy added is believed
