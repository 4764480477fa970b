"""The organisation's command line (departments, users, tokens) and the demo organisation."""

from __future__ import annotations

import pytest
from conftest import PASSWORD
from helpers import department, user

from workflows import demo
from workflows.people import org
from workflows.storage.db import database
from workflows.storage.models import ApiToken, Department, User


def run(runner, *args: str, input: str | None = None):
    return runner.invoke(args=[*args], input=input)


def counts() -> tuple[int, int, int]:
    with database.connection_context():
        return Department.select().count(), User.select().count(), ApiToken.select().count()


def test_departments_create_with_parent(runner):
    assert run(runner, "departments", "create", "service", "客服中心").output == "department service created\n"
    result = run(runner, "departments", "create", "service-north", "北区坐席", "--parent", "service")
    assert result.exit_code == 0
    child = department("service-north")
    assert (child.name, child.parent_id, child.manager_id) == ("北区坐席", department("service").id, None)


def test_departments_create_with_manager_then_set_manager(runner):
    run(runner, "users", "create", "wang", "--password", PASSWORD, "--role", "supervisor")
    run(runner, "users", "create", "li", "--password", PASSWORD, "--role", "supervisor")
    assert run(runner, "departments", "create", "service", "客服中心", "--manager", "wang").exit_code == 0
    assert department("service").manager_id == user("wang").id
    result = run(runner, "departments", "set-manager", "service", "li")
    assert result.exit_code == 0 and result.output == "department service: manager li\n"
    assert department("service").manager_id == user("li").id


def test_users_create_in_a_department(runner):
    run(runner, "departments", "create", "warehouse", "仓库")
    result = run(runner, "users", "create", "wh1", "--password", PASSWORD, "--role", "handler",
                 "--department", "warehouse", "--name", "仓管小陈")
    assert result.exit_code == 0 and result.output == "user wh1 created\n"
    row = user("wh1")
    assert (row.name, row.role, row.active) == ("仓管小陈", "handler", True)
    assert row.department_id == department("warehouse").id
    assert row.password_hash.startswith("scrypt:") and PASSWORD not in row.password_hash
    with database.connection_context():
        assert org.authenticate("wh1", PASSWORD).id == row.id


def test_users_create_asks_for_a_missing_password(runner):
    result = run(runner, "users", "create", "zhang", "--role", "agent", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0 and PASSWORD not in result.stdout
    assert user("zhang").name == "zhang"
    with database.connection_context():
        assert org.authenticate("zhang", PASSWORD) is not None


@pytest.mark.parametrize(("args", "message"), [
    (["users", "create", "x", "--password", PASSWORD, "--role", "boss"],
     "unknown role 'boss' (use admin, supervisor, agent or handler)"),
    (["users", "create", "agent", "--password", PASSWORD, "--role", "agent"], "user 'agent' already exists"),
    (["users", "create", "x", "--password", PASSWORD, "--role", "agent", "--department", "nosuch"],
     "no department 'nosuch'"),
    (["users", "create", "x", "--password", "short", "--role", "agent"],
     "the password must have at least 8 characters"),
    (["departments", "create", "service", "又一个客服中心"], "department 'service' already exists"),
    (["departments", "create", "x", "X", "--parent", "nosuch"], "no department 'nosuch'"),
    (["departments", "create", "x", "X", "--manager", "nobody"], "no user 'nobody'"),
    (["departments", "set-manager", "nosuch", "agent"], "no department 'nosuch'"),
    (["departments", "set-manager", "service", "nobody"], "no user 'nobody'"),
    (["users", "token", "nobody"], "no user 'nobody'"),
])
def test_refused_changes_exit_1_with_the_reason_and_change_nothing(runner, args, message):
    run(runner, "departments", "create", "service", "客服中心")
    run(runner, "users", "create", "agent", "--password", PASSWORD, "--role", "agent", "--department", "service")
    before = counts()
    result = run(runner, *args, "--lang", "en")
    assert result.exit_code == 1
    assert (result.stdout, result.stderr) == ("", message + "\n")
    assert counts() == before and department("service").manager_id is None


def test_refusals_in_chinese(runner):
    result = run(runner, "users", "create", "x", "--password", PASSWORD, "--role", "boss", "--lang", "zh")
    assert result.exit_code == 1
    assert result.stderr == "未知角色 'boss'（可用 admin、supervisor、agent 或 handler）\n"


def test_users_token_prints_only_a_working_token(runner):
    run(runner, "users", "create", "agent", "--password", PASSWORD, "--role", "agent")
    result = run(runner, "users", "token", "agent")
    assert result.exit_code == 0 and result.stderr == ""
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and result.stdout == lines[0] + "\n"
    with database.connection_context():
        assert org.user_for_token(lines[0]).username == "agent"
        assert org.user_for_token(lines[0] + "x") is None
    second = run(runner, "users", "token", "agent").stdout.strip()
    assert second != lines[0] and counts()[2] == 2


def test_demo_seeds_the_organisation_once(runner):
    first, second = run(runner, "demo", "--no-tickets"), run(runner, "demo", "--no-tickets")
    assert first.exit_code == 0 and second.exit_code == 0
    assert "user admin created" in first.output and "created" not in second.output
    assert counts() == (len(demo.DEPARTMENTS), len(demo.USERS), 0)
    managers = {code: manager for code, _, manager in demo.DEPARTMENTS}
    assert managers == {"service": "supervisor", "warehouse": "wh_lead", "finance": "fin_lead", "repair": "eng_lead",
                        "network": "net1", "dba": "dba1", "security": "sec1", "cab": "cab1", "itops": "ops_lead"}
    for code, manager in managers.items():
        assert department(code).manager_id == user(manager).id
    assert user("supervisor").department_id == department("service").id and user("admin").role == "admin"
    for output in (first.output, second.output):
        assert "Demo logins (username, role, password):" in output
        assert f"  fin_lead     supervisor  {PASSWORD}" in output.splitlines()
    with database.connection_context():
        assert org.authenticate("wh1", PASSWORD) is not None
