"""The load tests' data: the session's databases emptied, seeded with the demo, more agents and tokens.

The server is another process, so it gets the URL, not the test's binding. Not a
conftest.py: other test modules import ``tests/conftest.py`` as ``conftest``.
"""

from __future__ import annotations

import functools

import pytest
from conftest import empty

from app import create_app
from workflows import demo
from workflows.people import org
from workflows.storage import db as lzdb

AGENTS = ("agent", "agent2", "agent3", "agent4")
HANDLERS = ("supervisor", "supervisor2", "wh_lead", "fin_lead", "wh1", "wh2", "fin1", "fin2")
_hash = functools.lru_cache(maxsize=4)(org.generate_password_hash)  # scrypt once, not once per user


def seed(url: str) -> dict[str, str]:
    """Migrate and empty ``url``, seed the demo organisation and process, add agents; a token per load user."""
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "load-test-secret"})
    lzdb.upgrade()
    empty(lzdb.database.obj)
    with pytest.MonkeyPatch.context() as patch, app.app_context(), lzdb.database.connection_context():
        patch.setattr(org, "generate_password_hash", _hash)
        demo.seed()
        for username in AGENTS[1:]:
            org.create_user(username, demo.PASSWORD, "agent", "service")
        return {username: org.issue_token(org.user_named(username), "load") for username in AGENTS + HANDLERS}


def people(tokens: dict[str, str], users: int) -> list[tuple[str, str, float]]:
    """``users`` simulated users: 30% agents (who mostly create), the rest handlers working their inbox."""
    agents = max(1, users * 3 // 10)
    plan = [(AGENTS[i % len(AGENTS)], 0.8) for i in range(agents)]
    plan += [(HANDLERS[i % len(HANDLERS)], 0.0) for i in range(users - agents)]
    return [(username, tokens[username], creates) for username, creates in plan]
