"""The organisation screens: users, departments and API tokens, with their audit entries."""

from __future__ import annotations

import hashlib
import json
from html.parser import HTMLParser

import pytest
from conftest import PASSWORD
from helpers import department, routes, sent_to_login, user

from app import create_app
from workflows.people import org
from workflows.storage.db import database
from workflows.storage.models import ApiToken, AuditEntry, User

EN = {"Accept-Language": "en"}
NEW_PASSWORD = "brand-new-pass"


@pytest.fixture
def admin(auth, client):
    assert auth.login("admin").status_code == 302
    return client


def entries(action: str | None = None) -> list[AuditEntry]:
    with database.connection_context():
        query = AuditEntry.select().order_by(AuditEntry.id)
        return list(query.where(AuditEntry.action == action) if action else query)


def tokens(username: str) -> list[ApiToken]:
    with database.connection_context():
        return list(ApiToken.select().join(User).where(User.username == username).order_by(ApiToken.id))


def token_for(username: str) -> str:
    with database.connection_context():
        return org.issue_token(User.get(User.username == username), "test")


def can_log_in(app, username: str, password: str) -> bool:
    response = app.test_client().post("/login", data={"username": username, "password": password})
    return response.status_code == 302


def api_status(client, token: str) -> int:
    return client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {token}"}).status_code


def new_user(admin, **fields):
    data = {"username": "newbie", "name": "新人", "role": "agent", "department": "service", "password": "long-enough"}
    return admin.post("/admin/users/new", data={**data, **fields}, headers=EN)


def edit_user(admin, username: str, **fields):
    current = user(username)
    data = {"name": current.name, "role": current.role, "active": "y" if current.active else "",
            "department": department_code(current)}
    data.update(fields)
    if not data["active"]:
        del data["active"]  # an unticked checkbox is not sent
    return admin.post(f"/admin/users/{username}/", data=data, headers=EN)


def department_code(row: User) -> str:
    with database.connection_context():
        return row.department.code if row.department_id else ""


# --- users


def test_users_list_shows_role_department_and_token_count(admin, users):
    token_for("agent")
    html = admin.get("/admin/users/", headers=EN).get_data(as_text=True)
    assert "坐席小张" in html and "客服中心" in html and "Agent" in html
    row = html.split('data-username="agent"')[1].split("</tr>")[0]
    assert "<td>1</td>" in row
    filtered = admin.get("/admin/users/?q=wh", headers=EN).get_data(as_text=True)
    assert 'data-username="wh1"' in filtered and 'data-username="agent"' not in filtered


def test_creating_a_user_lets_them_log_in(admin, app, users):
    response = new_user(admin)
    assert response.status_code == 302 and response.headers["Location"] == "/admin/users/newbie/"
    created = user("newbie")
    assert (created.name, created.role, department_code(created), created.active) == ("新人", "agent", "service", True)
    assert created.password_hash.startswith("scrypt:")
    assert can_log_in(app, "newbie", "long-enough")
    [entry] = entries("user.create")
    assert (entry.target, entry.actor_id, entry.before) == ("user:newbie", users["admin"].id, None)
    assert entry.after == {"username": "newbie", "name": "新人", "role": "agent", "department": "service",
                           "active": True}


def test_a_duplicate_username_is_422_and_saves_nothing(admin, users):
    before = user("agent")
    response = new_user(admin, username="agent", name="someone else")
    assert response.status_code == 422
    assert "Username: user &#39;agent&#39; already exists" in response.get_data(as_text=True)
    assert user("agent").name == before.name and entries() == []


def test_a_short_password_is_422_naming_the_password_field(admin, users):
    response = new_user(admin, password="short")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'data-field="password">Password: the password must have at least 8 characters' in html
    assert 'value="newbie"' in html  # the rest of the form is kept
    assert user("newbie") is None and entries() == []


def test_an_unknown_role_or_bad_username_is_refused(admin, users):
    assert new_user(admin, role="root").status_code == 422
    response = new_user(admin, username="a/b")
    assert response.status_code == 422 and 'data-field="username"' in response.get_data(as_text=True)
    assert user("newbie") is None and user("a/b") is None


def test_editing_role_and_department(admin, users):
    response = edit_user(admin, "wh1", role="supervisor", department="finance", name="陈主管")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/users/wh1/"
    changed = user("wh1")
    assert (changed.role, department_code(changed), changed.name) == ("supervisor", "finance", "陈主管")
    [entry] = entries("user.update")
    assert entry.target == "user:wh1"
    assert (entry.before["role"], entry.before["department"]) == ("handler", "warehouse")
    assert (entry.after["role"], entry.after["department"]) == ("supervisor", "finance")


def test_saving_an_unchanged_user_records_nothing(admin, users):
    assert edit_user(admin, "wh1").status_code == 302
    assert entries() == []


def test_a_disabled_user_cannot_log_in_nor_use_a_token(admin, app, client, users):
    token = token_for("agent")
    assert api_status(client, token) == 200
    assert edit_user(admin, "agent", active="").status_code == 302
    assert user("agent").active is False
    assert not can_log_in(app, "agent", PASSWORD)
    assert api_status(client, token) == 401
    [entry] = entries("user.update")
    assert (entry.before["active"], entry.after["active"]) == (True, False)


def test_disabling_logs_out_an_open_session(admin, app, users):
    other = app.test_client()
    other.post("/login", data={"username": "agent", "password": PASSWORD})
    assert other.get("/").status_code == 200
    edit_user(admin, "agent", active="")
    assert other.get("/").status_code == 302


def test_an_admin_cannot_disable_themself_nor_drop_their_admin_role(admin, app, users):
    response = edit_user(admin, "admin", active="")
    assert response.status_code == 422
    assert "you cannot disable your own account" in response.get_data(as_text=True)
    response = edit_user(admin, "admin", role="agent")
    assert response.status_code == 422
    assert 'data-field="role">Role: you cannot remove your own admin role' in response.get_data(as_text=True)
    assert (user("admin").active, user("admin").role) == (True, "admin")
    assert entries() == []
    assert can_log_in(app, "admin", PASSWORD)


def test_resetting_a_password(admin, app, users):
    response = admin.post("/admin/users/fin1/password", data={"password": NEW_PASSWORD}, headers=EN)
    assert response.status_code == 302
    assert not can_log_in(app, "fin1", PASSWORD)
    assert can_log_in(app, "fin1", NEW_PASSWORD)
    [entry] = entries("user.password")
    assert (entry.target, entry.before, entry.after) == ("user:fin1", None, {"password": "reset"})


def test_a_short_new_password_is_refused(admin, app, users):
    response = admin.post("/admin/users/fin1/password", data={"password": "short"}, headers=EN)
    assert response.status_code == 422
    assert "New password: the password must have at least 8 characters" in response.get_data(as_text=True)
    assert can_log_in(app, "fin1", PASSWORD) and entries() == []


def test_an_issued_token_is_shown_once_and_stored_hashed(admin, client, users):
    response = admin.post("/admin/users/wh2/tokens", data={"token-name": "scanner"}, headers=EN)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    token = html.split('id="lz-new-token" class="form-control text-monospace" value="')[1].split('"')[0]
    [row] = tokens("wh2")
    assert row.name == "scanner" and row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in admin.get("/admin/users/wh2/").get_data(as_text=True)
    assert token not in admin.get("/admin/tokens/").get_data(as_text=True)
    [entry] = entries("token.issue")
    assert entry.target == f"token:{row.id}" and entry.after["user"] == "wh2" and token not in json.dumps(entry.after)
    admin.post("/logout")
    assert api_status(client, token) == 200


@pytest.mark.parametrize("where", ["user", "tokens"])
def test_a_revoked_token_is_refused_at_once(admin, client, users, where):
    token = token_for("wh2")
    [row] = tokens("wh2")
    assert api_status(client, token) == 200
    url = f"/admin/users/wh2/tokens/{row.id}/revoke" if where == "user" else f"/admin/tokens/{row.id}/revoke"
    assert admin.post(url).status_code == 302
    assert tokens("wh2") == [] and api_status(client, token) == 401
    [entry] = entries("token.revoke")
    assert (entry.target, entry.before["name"], entry.after) == (f"token:{row.id}", "test", None)


def test_a_token_is_revoked_only_from_its_owners_page(admin, users):
    token_for("wh2")
    [row] = tokens("wh2")
    assert admin.post(f"/admin/users/wh1/tokens/{row.id}/revoke").status_code == 404
    assert admin.post("/admin/tokens/9999/revoke").status_code == 404
    assert len(tokens("wh2")) == 1 and entries() == []


def test_tokens_list_shows_every_token(admin, users):
    token_for("wh1")
    token_for("fin2")
    html = admin.get("/admin/tokens/", headers=EN).get_data(as_text=True)
    assert ">wh1</a>" in html and ">fin2</a>" in html and html.count('id="lz-revoke-') == 2


# --- departments


class Tree(HTMLParser):
    """Each department ``li`` of the tree page with the codes of the ``li`` it sits in."""

    def __init__(self):
        super().__init__()
        self.stack, self.paths = [], {}

    def handle_starttag(self, tag, attrs):
        if tag == "li":
            code = dict(attrs).get("data-code")
            self.paths[code] = list(self.stack)
            self.stack.append(code)

    def handle_endtag(self, tag):
        if tag == "li":
            self.stack.pop()


def tree(admin) -> dict[str, list[str]]:
    parser = Tree()
    parser.feed(admin.get("/admin/departments/").get_data(as_text=True))
    return parser.paths


def new_department(admin, data: dict):
    """Post the new-department form as a browser does: both selects always sent, "" for none."""
    return admin.post("/admin/departments/new", data={"parent": "", "manager": "", **data}, headers=EN)


def test_creating_a_department_with_parent_and_manager(admin, users):
    data = {"code": "north", "name": "北区", "parent": "service", "manager": "agent"}
    response = new_department(admin, data)
    assert response.status_code == 302
    created = department("north")
    assert (created.name, created.parent_id, created.manager_id) == ("北区", department("service").id,
                                                                     users["agent"].id)
    [entry] = entries("department.create")
    assert entry.target == "department:north"
    assert entry.after == {"code": "north", "name": "北区", "parent": "service", "manager": "agent"}
    assert tree(admin)["north"] == ["service"]
    assert "Manager: 坐席小张" in admin.get("/admin/departments/", headers=EN).get_data(as_text=True)


def test_a_duplicate_department_is_refused(admin, users):
    response = new_department(admin, {"code": "service", "name": "x"})
    assert response.status_code == 422 and 'data-field="code"' in response.get_data(as_text=True)
    assert department("service").name == "客服中心" and entries() == []


def test_editing_moves_renames_and_changes_the_manager(admin, users):
    assert new_department(admin, {"code": "north", "name": "北区", "parent": "service"}).status_code == 302
    data = {"name": "北区仓", "parent": "warehouse", "manager": "wh1"}
    assert admin.post("/admin/departments/north/", data=data).status_code == 302
    moved = department("north")
    assert (moved.name, moved.parent_id, moved.manager_id) == ("北区仓", department("warehouse").id, users["wh1"].id)
    assert tree(admin)["north"] == ["warehouse"]
    [entry] = entries("department.update")
    assert entry.before == {"code": "north", "name": "北区", "parent": "service", "manager": None}
    assert entry.after == {"code": "north", "name": "北区仓", "parent": "warehouse", "manager": "wh1"}


def test_the_tree_nests_three_levels(admin, users):
    assert new_department(admin, {"code": "north", "name": "北区", "parent": "service"}).status_code == 302
    assert new_department(admin, {"code": "north-1", "name": "北一组", "parent": "north"}).status_code == 302
    paths = tree(admin)
    assert paths["service"] == [] and paths["north"] == ["service"] and paths["north-1"] == ["service", "north"]


@pytest.mark.parametrize("parent", ["service", "north"])
def test_a_cycle_is_refused(admin, users, parent):
    assert new_department(admin, {"code": "north", "name": "北区", "parent": "service"}).status_code == 302
    response = admin.post("/admin/departments/service/", data={"name": "客服中心", "parent": parent,
                                                               "manager": "supervisor"}, headers=EN)
    assert response.status_code == 422
    assert 'data-field="parent">Parent department: department &#39;service&#39; cannot be placed under itself' \
        in response.get_data(as_text=True)
    assert department("service").parent_id is None and entries("department.update") == []


def test_a_disabled_user_cannot_become_a_manager(admin, users):
    edit_user(admin, "wh2", active="")
    data = {"name": "仓库", "parent": "", "manager": "wh2"}
    response = admin.post("/admin/departments/warehouse/", data=data, headers=EN)
    assert response.status_code == 422
    assert department("warehouse").manager_id == users["wh_lead"].id


def test_org_functions_refuse_cycles_and_name_fields(users, app):
    with app.app_context(), database.connection_context():
        org.create_department("north", "北区", parent="service")
        with pytest.raises(org.OrgError) as error:
            org.move_department("service", "north")
        assert error.value.field == "parent"
        with pytest.raises(org.OrgError) as error:
            org.set_password("agent", "1234567")
        assert error.value.field == "password"
        assert org.rename_department("north", " 北 ").name == "北"


# --- audit, escaping, access


def test_no_password_hash_reaches_the_audit_log(admin, users):
    new_user(admin)
    edit_user(admin, "newbie", role="handler")
    admin.post("/admin/users/newbie/password", data={"password": NEW_PASSWORD})
    admin.post("/admin/users/newbie/tokens", data={"token-name": "x"})
    actions = [entry.action for entry in entries()]
    assert actions == ["user.create", "user.update", "user.password", "token.issue"]
    with database.connection_context():
        hashes = [u.password_hash for u in User.select()] + [t.token_hash for t in ApiToken.select()]
    dumped = json.dumps([[e.before, e.after] for e in entries()], ensure_ascii=False)
    assert "scrypt" not in dumped and not any(h in dumped for h in hashes)
    detail = admin.get(f"/admin/audit/{entries()[2].id}").get_data(as_text=True)
    assert "reset" in detail and "scrypt" not in detail


def test_names_are_escaped(admin, users):
    assert new_user(admin, username="evil", name="<script>alert(1)</script>").status_code == 302
    assert new_department(admin, {"code": "x", "name": "<b>dept</b>", "manager": "evil"}).status_code == 302
    pages = [admin.get(url).get_data(as_text=True) for url in
             ("/admin/users/", "/admin/users/evil/", "/admin/departments/", "/admin/departments/x/")]
    for html in pages:
        assert "<script>alert(1)</script>" not in html and "<b>dept</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[0] and "&lt;b&gt;dept&lt;/b&gt;" in pages[2]


GETS = ["/admin/users/", "/admin/users/new", "/admin/users/agent/", "/admin/departments/",
        "/admin/departments/new", "/admin/departments/service/", "/admin/tokens/"]
POSTS = ["/admin/users/new", "/admin/users/agent/", "/admin/users/agent/password", "/admin/users/agent/tokens",
         "/admin/users/agent/tokens/1/revoke", "/admin/departments/new", "/admin/departments/service/",
         "/admin/tokens/1/revoke"]


test_anonymous_visitors_are_sent_to_login = sent_to_login(GETS, POSTS, "users")


@pytest.mark.parametrize(("method", "url"), routes(GETS, POSTS))
def test_agents_and_supervisors_are_refused(client, auth, method, url):
    token_for("agent")
    for username in ("agent", "supervisor"):
        auth.login(username)
        data = {"username": "x", "name": "x", "role": "admin", "password": "long-enough", "code": "x"}
        assert getattr(client, method)(url, data=data).status_code == 403
        auth.logout()
    assert user("x") is None and department("x") is None and len(tokens("agent")) == 1
    assert user("agent").role == "agent" and entries() == []


def csrf_client(db_url):
    """A client of an app with CSRF checks on, logged in as admin through the real form."""
    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "s", "WTF_CSRF_ENABLED": True})
    client = app.test_client()
    login = client.get("/login").get_data(as_text=True)
    csrf = login.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    response = client.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": csrf})
    assert response.status_code == 302
    return client


@pytest.mark.parametrize("url", POSTS)
def test_posts_need_a_csrf_token(users, db_url, url):
    token_for("agent")
    client = csrf_client(db_url)
    response = client.post(url, data={"username": "x", "name": "x", "role": "agent", "password": "long-enough",
                                      "code": "x", "department": "", "parent": "", "manager": ""})
    assert response.status_code == 400 and b"CSRF" in response.data
    assert user("x") is None and department("x") is None and len(tokens("agent")) == 1 and entries() == []


def test_forms_carry_a_csrf_token(users, db_url):
    client = csrf_client(db_url)
    page = client.get("/admin/users/new").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    data = {"username": "newbie", "role": "agent", "department": "", "password": "long-enough", "csrf_token": token}
    assert client.post("/admin/users/new", data=data).status_code == 302
    assert user("newbie") is not None
