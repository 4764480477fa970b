"""Fixtures: ``db`` (parametrized over SQLite and PostgreSQL), ``app``, ``client``,
``runner``, example documents, the demo organisation (``users``) with an ``auth``
helper that logs the client in and out, and a live server with Chromium for
browser tests.

Under ``LZ_REQUIRE_ALL=1`` (set by ``.ci/run``) a skipped test fails the run:
PostgreSQL and browser tests are required there, not optional.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import threading
import uuid
from pathlib import Path

import psycopg
import pytest
from peewee import PostgresqlDatabase

from app import create_app
from formbuilder import DictionaryIndex, cache
from workflows import demo
from workflows.people import org
from workflows.storage import db as lzdb
from workflows.storage.models import MODELS, User

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
EXAMPLES = SHARED / "examples"
PG_ADMIN_URL = os.environ.get("LZ_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
pytest_plugins = ["strictskips"]  # under LZ_REQUIRE_ALL=1 any skip fails the run
CHROMIUM = os.environ.get("LZ_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = ROOT / "tests" / "screenshots"


def example(name: str) -> dict:
    """A document of ``../shared/examples``, made to pass today's static checks (see :func:`meets_check_9`)."""
    document = json.loads((EXAMPLES / name).read_text("utf-8"))
    return meets_check_9(document) if name == "return_goods.process.json" else document


def meets_check_9(document: dict) -> dict:
    """The shared example predates static check 9: its finance step shows ``model`` but hides its cascade
    parent ``category``. Like the product's demo copy, show the parent read-only there too."""
    finance = next(s for s in document["steps"] if s["key"] == "finance")
    fields = {}
    for key, mode in finance["fields"].items():
        fields.update({"category": "readonly"} if key == "model" else {})
        fields[key] = mode
    finance["fields"] = fields
    return document


@pytest.fixture
def process_doc() -> dict:
    """A fresh copy of the return-goods example, free to mutate."""
    return example("return_goods.process.json")


@pytest.fixture(scope="session")
def dictionaries() -> dict[str, DictionaryIndex]:
    return {c: DictionaryIndex.from_document(example(f"{c}.dictionary.json")) for c in ("channel", "product")}


@contextlib.contextmanager
def postgres_database(prefix: str):
    """The URL of a new PostgreSQL database; the bound database is closed and the new one dropped after."""
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {error}")
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        if lzdb.database.obj is not None:
            obj = lzdb.database.obj
            obj.close_all() if hasattr(obj, "close_all") else obj.close()
        lzdb._bound.clear()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(scope="session")
def pg_url():
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    with postgres_database("lz_test") as url:
        yield url


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('sqlite')}/liuzhuan.db"


_migrated: set[str] = set()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request) -> str:
    return request.getfixturevalue(f"{'pg' if request.param == 'postgresql' else 'sqlite'}_url")


@pytest.fixture
def db(db_url):
    """The bound database, migrated once per session and emptied after each test."""
    lzdb.bind(db_url)
    if db_url not in _migrated:
        lzdb.upgrade()
        _migrated.add(db_url)
    yield lzdb.database
    empty(lzdb.database.obj)
    cache.clear()


def empty(database) -> None:
    """Delete every row; users and departments reference each other, so constraints wait."""
    tables = ", ".join(f'"{m._meta.table_name}"' for m in MODELS)
    with database.connection_context():
        if isinstance(database, PostgresqlDatabase):
            database.execute_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
            return
        database.execute_sql("PRAGMA foreign_keys = OFF")
        for model in MODELS:
            model.delete().execute()
        database.execute_sql("PRAGMA foreign_keys = ON")


@pytest.fixture
def app(db, db_url, tmp_path):
    return create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "test-secret",
                       "WTF_CSRF_ENABLED": False, "UPLOAD_DIR": str(tmp_path / "uploads")})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def seeded(app):
    """The example dictionaries imported and the return-goods process published."""
    with app.app_context(), lzdb.database.connection_context():
        from workflows.processes import documents as docs

        for code in ("channel", "product"):
            docs.import_dictionary(example(f"{code}.dictionary.json"))
        _, version = docs.save_process(example("return_goods.process.json"), publish=True)
    return version


PASSWORD = demo.PASSWORD
# A real scrypt hash, computed once per password for the session: hashing is
# deliberately slow (~80 ms), and every test of a logged-in page seeds users.
_session_hash = functools.lru_cache(maxsize=8)(org.generate_password_hash)


@pytest.fixture
def users(app, monkeypatch) -> dict[str, User]:
    """The demo organisation (``workflows.demo.USERS``), every password ``PASSWORD``; rows by username."""
    monkeypatch.setattr(org, "generate_password_hash", _session_hash)
    with app.app_context(), lzdb.database.connection_context():
        demo.seed_org()
        return {user.username: user for user in User.select()}


class AuthActions:
    """Log the test client in and out through the real forms, as in Flask's tutorial."""

    def __init__(self, client):
        self._client = client

    def login(self, username: str = "admin", password: str = PASSWORD, next: str | None = None):
        query = {"next": next} if next is not None else None
        return self._client.post("/login", data={"username": username, "password": password}, query_string=query)

    def logout(self):
        return self._client.post("/logout")


@pytest.fixture
def auth(client, users) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def admin(auth, client):
    """The test client, logged in as the admin."""
    assert auth.login("admin").status_code == 302
    return client


@pytest.fixture
def live_server(app):
    """The app served on a free loopback port in a background thread."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright; never a downloaded browser."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"Chromium not installed at {CHROMIUM} (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    yield page
    context.close()


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


ENGINE_PEOPLE = [  # username, role, department
    ("admin", "admin", None), ("sup", "supervisor", "service"), ("sup2", "supervisor", "service"),
    ("agent", "agent", "service"), ("agent2", "agent", "service"), ("wh1", "handler", "warehouse"),
    ("wh2", "handler", "warehouse"), ("wh_lead", "supervisor", "warehouse"), ("fin1", "handler", "finance"),
    ("fin2", "handler", "finance"), ("fin_lead", "supervisor", "finance"),
]


@pytest.fixture
def world(db, monkeypatch):
    """Dictionaries, the published return-goods process and a small organisation (password "password1")."""
    from workflows.people import org
    from workflows.processes import documents as docs

    monkeypatch.setattr(org, "generate_password_hash", _session_hash)
    lzdb.database.connect(reuse_if_open=True)
    for code in ("channel", "product"):
        docs.import_dictionary(example(f"{code}.dictionary.json"))
    docs.save_process(example("return_goods.process.json"), publish=True)
    for code, name in (("service", "客服中心"), ("warehouse", "仓库"), ("finance", "财务")):
        org.create_department(code, name)
    users = {u: org.create_user(u, "password1", role, dept) for u, role, dept in ENGINE_PEOPLE}
    for code, manager in (("service", "sup"), ("warehouse", "wh_lead"), ("finance", "fin_lead")):
        org.set_manager(code, manager)
    yield users
    lzdb.database.close()


def browser_login(context, username: str, password: str = PASSWORD):
    """A new page of ``context`` (with a base_url), logged in through the form as a person would."""
    page = context.new_page()
    page.goto("/login")
    page.get_by_label(re.compile(r"^(用户名|Username)$")).fill(username)
    page.get_by_label(re.compile(r"^(密码|Password)$")).fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name=re.compile(r"^(登录|Log in)$")).click()
    assert not page.url.split("?")[0].endswith("/login"), f"{username} could not log in: {page.url}"
    return page
