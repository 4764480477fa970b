"""Chat-robot notices on both databases: one local fake server per platform (WeCom, DingTalk, Feishu) checks
the documented body and verifies the DingTalk and Feishu signatures with its own code, refusing a wrong one.

Checked: each platform's format and signing, retries after a 500 or a non-zero errcode/code, the queue
written in the action's transaction (a rolled-back action queues nothing), which robots a notice reaches
(events, department subtree, process and step), the four hooks (assignment, overdue, escalation, mention),
no field value in any payload (a canary in a field only finance may read, and in the note), Markdown
escaping, and the admin pages (admins only, CSRF, form errors naming the field, the URL masked and the
secret never shown nor audited, the test message, the deliveries log's retry).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import PASSWORD
from helpers import assert_retried_now
from test_engine import REGISTER, fresh, new_ticket, to_warehouse
from test_sla_clock import MONDAY, Clock, flow, publish

from app import create_app
from workflows.people import org
from workflows.storage.models import AuditEntry, Department, RobotDelivery, RobotTarget, Ticket, TicketEvent, utcnow
from workflows.subscribers import robotformat, robots, webhooks
from workflows.tickets import collab, engine, sla

SECRET = "SEC0123456789abcdef-robot-secret"
CANARY = "CANARY-7f3a-不应外传"
PATHS = {"wecom": "/cgi-bin/webhook/send?key=693a91f6-7aoc-4bc4-97a0-0ec2sifa5aaa",
         "dingtalk": "/robot/send?access_token=1f0b5c2e9d8a7b6c5d4e3f2a1b0c9d8e",
         "feishu": "/open-apis/bot/v2/hook/0f4c8a9e-1234-4bcd-9abc-0123456789ab"}
KEYS = ("693a91f6-7aoc-4bc4-97a0-0ec2sifa5aaa", "1f0b5c2e9d8a7b6c5d4e3f2a1b0c9d8e",
        "0f4c8a9e-1234-4bcd-9abc-0123456789ab")
OK = {"wecom": {"errcode": 0, "errmsg": "ok"}, "dingtalk": {"errcode": 0, "errmsg": "ok"},
      "feishu": {"code": 0, "msg": "success", "data": {}}}
REFUSED = {"wecom": {"errcode": 93000, "errmsg": "invalid webhook url"},
           "dingtalk": {"errcode": 310000, "errmsg": "sign not match"},
           "feishu": {"code": 19021, "msg": "sign match fail or timestamp is not within one hour"}}


def b64_hmac(key: str, message: str) -> str:
    return base64.b64encode(hmac.new(key.encode(), message.encode(), hashlib.sha256).digest()).decode()


class FakeRobot:
    """What one platform's server got and thought of it: (query, body, refusal or None), in order."""

    def __init__(self, platform: str, secret: str | None):
        self.platform, self.secret = platform, secret
        self.lock = threading.Lock()
        self.received: list[tuple[dict, dict, str | None]] = []
        self.codes: list[int] = []  # HTTP statuses to answer first; then the platform's JSON
        self.url = ""

    def refusal(self, path: str, query: dict, body: dict) -> str | None:
        """The platform's checks, written here from its documentation, not from our code."""
        if path != urlsplit(PATHS[self.platform]).path:
            return "wrong path"
        return getattr(self, f"check_{self.platform}")(query, body)

    def check_wecom(self, query: dict, body: dict) -> str | None:
        if set(body) != {"msgtype", "markdown"} or body["msgtype"] != "markdown" or set(body["markdown"]) != {
                "content"} or len(body["markdown"]["content"].encode()) > 4096:
            return "format"
        return None if query == {"key": [KEYS[0]]} else "key"

    def check_dingtalk(self, query: dict, body: dict) -> str | None:
        if body.get("msgtype") != "markdown" or set(body["markdown"]) != {"title", "text"}:
            return "format"
        if query.get("access_token") != [KEYS[1]]:
            return "token"
        if self.secret is None:
            return None if set(query) == {"access_token"} else "unexpected sign"
        stamp = int(query["timestamp"][0])
        if abs(time.time() * 1000 - stamp) > 3_600_000:
            return "stale"
        return None if hmac.compare_digest(query["sign"][0], b64_hmac(self.secret, f"{stamp}\n{self.secret}")) \
            else "sign"

    def check_feishu(self, query: dict, body: dict) -> str | None:
        if body.get("msg_type") not in ("text", "post", "interactive") or "content" not in body:
            return "format"
        if self.secret is None:
            return None if not {"timestamp", "sign"} & set(body) else "unexpected sign"
        stamp = int(body["timestamp"])
        if abs(time.time() - stamp) > 3600:
            return "stale"
        return None if hmac.compare_digest(body["sign"], b64_hmac(f"{stamp}\n{self.secret}", "")) else "sign"

    def answer(self, path: str, query: dict, body: dict) -> tuple[int, dict | None]:
        with self.lock:
            refusal = self.refusal(path, query, body)
            self.received.append((query, body, refusal))
            if self.codes:
                return self.codes.pop(0), None
            return 200, REFUSED[self.platform] if refusal else OK[self.platform]

    def bodies(self) -> list[dict]:
        return [body for _, body, _ in self.received]


def serve(platform: str, secret: str | None):
    got = FakeRobot(platform, secret)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            parts = urlsplit(self.path)
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            assert self.headers["Content-Type"].startswith("application/json")
            code, answer = got.answer(parts.path, parse_qs(parts.query), body)
            data = json.dumps(answer).encode() if answer is not None else b"server error"
            self.send_response(code)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    got.url = f"http://127.0.0.1:{server.server_port}{PATHS[platform]}"
    return got, server


@pytest.fixture
def fakes():
    """A fake server per platform; DingTalk and Feishu check signatures with SECRET."""
    started = {p: serve(p, None if p == "wecom" else SECRET) for p in robotformat.PLATFORMS}
    yield {p: got for p, (got, _) in started.items()}
    for _, server in started.values():
        server.shutdown()
        server.server_close()


def target(fake: FakeRobot, events=robots.KINDS, secret: str | None = SECRET, **scope) -> RobotTarget:
    return RobotTarget.create(name=fake.platform, platform=fake.platform, url=fake.url,
                              secret=secret if fake.platform in robotformat.SIGNED else None,
                              events=list(events), **scope)


def deliveries(**where) -> list[RobotDelivery]:
    query = RobotDelivery.select().order_by(RobotDelivery.id)
    return [d for d in query if all(getattr(d, k) == v for k, v in where.items())]


# -- formats and signatures ----------------------------------------------------------------------------------

@pytest.mark.parametrize("platform", robotformat.PLATFORMS)
def test_each_platform_gets_its_documented_format_signed(world, fakes, platform, app):
    fake = fakes[platform]
    robot = target(fake)
    with app.app_context():
        ticket = fresh(new_ticket(world))
    assert robots.deliver_due("w1") == {"delivered": 1, "pending": 0, "failed": 0}
    [(query, body, refusal)] = fake.received
    assert refusal is None
    row = RobotDelivery.get()
    assert (row.target_id, row.kind, row.ticket_id, row.status, row.attempts) == (
        robot.id, "assignment", ticket.id, "delivered", 1)
    text = json.dumps(body, ensure_ascii=False)
    link = f"http://127.0.0.1:5000/tickets/{ticket.number}"
    for shown in (ticket.number, "退货申请", "主管审批", ticket.assignee.name, link):
        assert shown in text
    if platform == "feishu":
        post = body["content"]["post"]["zh_cn"]
        assert post["content"][-1] == [{"tag": "a", "text": post["content"][-1][0]["text"], "href": link}]


def test_the_link_uses_base_url(world, fakes, app):
    target(fakes["wecom"])
    app.config["BASE_URL"] = "https://gd.example.cn/"
    with app.app_context():
        ticket = new_ticket(world)
    assert f"(https://gd.example.cn/tickets/{ticket.number})" in json.loads(RobotDelivery.get().payload)[
        "markdown"]["content"]


@pytest.mark.parametrize("platform", robotformat.SIGNED)
def test_a_wrong_signature_is_refused_and_retried(world, fakes, platform):
    target(fakes[platform], secret="SEC-not-the-one-the-group-has")
    new_ticket(world)
    assert robots.deliver_due("w1") == {"delivered": 0, "pending": 1, "failed": 0}
    assert fakes[platform].received[0][2] == "sign"
    row = RobotDelivery.get()
    code = "code 19021" if platform == "feishu" else "errcode 310000"
    assert row.status == "pending" and row.last_status_code == 200 and row.last_error.startswith(code)
    RobotTarget.update(secret=SECRET).execute()  # the admin fixes the secret: the retry is signed afresh
    assert robots.deliver_due("w1", now=row.next_attempt_at)["delivered"] == 1
    assert [r for _, _, r in fakes[platform].received] == ["sign", None]


def test_unsigned_robots_send_no_signature(world, fakes):
    for platform in robotformat.SIGNED:
        fakes[platform].secret = None
        target(fakes[platform], secret=None)
    new_ticket(world)
    assert robots.deliver_due("w1")["delivered"] == 2


def test_a_500_and_a_non_zero_errcode_are_retried_with_back_off(world, fakes):
    fake = fakes["wecom"]
    target(fake)
    new_ticket(world)
    fake.codes = [500]
    start = utcnow()
    assert robots.deliver_due("w1", now=start) == {"delivered": 0, "pending": 1, "failed": 0}
    row = RobotDelivery.get()
    assert (row.status, row.last_status_code, row.last_error) == ("pending", 500, "HTTP 500: server error")
    assert 24 <= (row.next_attempt_at - start).total_seconds() <= 36
    assert robots.deliver_due("w1", now=start + timedelta(seconds=20))["pending"] == 0  # not due yet
    RobotTarget.update(url=fake.url.replace("key=", "key=y")).execute()  # answered with errcode 93000
    assert robots.deliver_due("w1", now=row.next_attempt_at)["pending"] == 1
    row = RobotDelivery.get()
    assert row.attempts == 2 and row.last_error == "errcode 93000: invalid webhook url"
    RobotDelivery.update(attempts=webhooks.MAX_ATTEMPTS - 1, next_attempt_at=utcnow()).execute()
    assert robots.deliver_due("w1")["failed"] == 1 and RobotDelivery.get().status == "failed"
    assert robots.retry_now(row.id) and RobotDelivery.get().status == "pending"


def test_a_rolled_back_action_queues_nothing(world, fakes, monkeypatch):
    target(fakes["wecom"])
    ticket = new_ticket(world)
    assert RobotDelivery.select().count() == 1

    def boom(**fields):
        raise RuntimeError("disk full")

    monkeypatch.setattr(TicketEvent, "create", boom)  # fails after the delivery row was written
    with pytest.raises(RuntimeError):
        new_ticket(world)
    with pytest.raises(RuntimeError):
        engine.act(fresh(ticket).assignee, ticket.number, "advance", version=fresh(ticket).version,
                   data={"approval": "approve"}, transition="warehouse")
    assert RobotDelivery.select().count() == 1 and Ticket.select().count() == 1


# -- who hears what -------------------------------------------------------------------------------------------

def test_scope_by_event_department_subtree_process_and_step(world, fakes):
    fake = fakes["wecom"]
    warehouse = Department.get(Department.code == "warehouse")
    finance = Department.get(Department.code == "finance")
    org.create_department("ops", "运营")
    org.move_department("warehouse", "ops")
    names = {"everything": {}, "warehouse": {"department": warehouse}, "finance": {"department": finance},
             "ops": {"department": Department.get(Department.code == "ops")},
             "step": {"process": "return_goods", "step": "warehouse"},
             "other process": {"process": "it_change"}, "approve": {"process": "return_goods", "step": "approve"},
             "step+finance": {"process": "return_goods", "step": "warehouse", "department": finance}}
    ids = {target(fake, **scope).id: name for name, scope in names.items()}
    target(fake, events=["overdue"])  # not for assignments
    RobotTarget.create(name="off", platform="wecom", url=fake.url, events=list(robots.KINDS), active=False)
    ticket = new_ticket(world)
    first = {ids[d.target_id] for d in deliveries()}
    assert first == {"everything", "approve"}  # the supervisor is in service, no robot of that department
    RobotDelivery.delete().execute()
    engine.act(fresh(ticket).assignee, ticket.number, "advance", version=fresh(ticket).version,
               data={"approval": "approve"}, transition="warehouse")
    assert {ids[d.target_id] for d in deliveries()} == {"everything", "warehouse", "ops", "step"}


def test_overdue_and_the_managers_escalation(world, fakes, monkeypatch):
    Clock(monkeypatch, MONDAY)
    publish(flow(warehouse={"sla": {"minutes": 60, "escalate": {"notify": "manager"}}}), calendar=False)
    warehouse = Department.get(Department.code == "warehouse")
    target(fakes["dingtalk"], events=["overdue", "escalation"], department=warehouse)
    ticket = fresh(to_warehouse(world))
    sla.sweep(ticket.due_at)
    assert [d.kind for d in deliveries()] == ["overdue", "escalation"]
    assert robots.deliver_due("w1")["delivered"] == 2
    texts = [b["markdown"]["text"] for b in fakes["dingtalk"].bodies()]
    assert "2026-12-07" in texts[0] and robotformat.escape_markdown(world["wh_lead"].name) in texts[1]


def test_escalation_to_a_step(world, fakes, monkeypatch):
    Clock(monkeypatch, MONDAY)
    publish(flow({"sla": {"minutes": 60, "escalate": {"to": "warehouse"}}}), calendar=False)
    target(fakes["feishu"], events=["escalation"], process="return_goods", step="warehouse")
    ticket = fresh(new_ticket(world))
    sla.sweep(ticket.due_at + timedelta(seconds=30))
    assert [d.kind for d in deliveries()] == ["escalation"]
    assert "仓库收货" in deliveries()[0].payload


def test_a_mention_and_no_field_value_in_any_payload(world, fakes, app):
    doc = flow()
    doc["schema"]["properties"]["defect"]["x-readers"] = {"roles": ["agent"], "departments": ["finance"]}
    doc["steps"][0]["fields"]["defect"] = "editable"  # a field some may not read cannot be required
    publish(doc, calendar=False)
    for fake in fakes.values():
        target(fake)
    with app.app_context():
        ticket = engine.create(world["agent"], "return_goods", {**REGISTER, "defect": CANARY, "order_no": "SO77777777"})
        collab.add_note(fresh(ticket).assignee, ticket.number, f"@wh1 看一下 {CANARY} **urgent**")
    assert sorted(d.kind for d in deliveries()) == ["assignment"] * 3 + ["mention"] * 3
    assert robots.deliver_due("w1")["delivered"] == 6
    stored = json.dumps([d.payload for d in deliveries()], ensure_ascii=False)
    sent = json.dumps([f.bodies() for f in fakes.values()], ensure_ascii=False)
    for text in (stored, sent):
        assert CANARY not in text and "SO7777" not in text and "urgent" not in text
    assert world["wh1"].name in sent


def test_markdown_specials_in_names_are_escaped(world, fakes):
    org.update_user("wh1", name="**粗**[点我](http://evil.example)<font color=\"warning\">x</font>\n# 标题")
    target(fakes["wecom"])
    to_warehouse(world)
    content = json.loads(deliveries()[-1].payload)["markdown"]["content"]
    assert ('\\*\\*粗\\*\\*\\[点我\\]\\(http://evil.example\\)'
            '&lt;font color="warning"&gt;x&lt;/font&gt; \\# 标题') in content
    assert "](http://evil" not in content and "<font" not in content and "\n#" not in content
    assert robotformat.escape_markdown("a_b `c` |d| ~e~ !f\\") == r"a\_b \`c\` \|d\| \~e\~ \!f\\"


def test_a_queued_notice_reaches_no_inactive_robot(world, fakes):
    robot = target(fakes["wecom"])
    new_ticket(world)
    RobotTarget.update(active=False).where(RobotTarget.id == robot.id).execute()
    assert robots.deliver_due("w1")["delivered"] == 0 and fakes["wecom"].received == []


def test_the_worker_command_reports_robots(world, fakes, runner):
    target(fakes["wecom"])
    new_ticket(world)
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "robots: 1 delivered, 0 to retry, 0 failed" in result.output


# -- admin ---------------------------------------------------------------------------------------------------

FORM = {"name": "仓库群", "platform": "dingtalk", "url": "https://oapi.dingtalk.com" + PATHS["dingtalk"],
        "secret": SECRET, "department": "", "process_code": "", "step_key": "", "events": ["assignment", "overdue"],
        "active": "y"}


@pytest.mark.parametrize("path", ["/admin/robots/", "/admin/robots/new", "/admin/robots/deliveries"])
def test_admin_robot_pages_are_for_admins_only(client, auth, path):
    assert client.get(path).status_code == 302
    auth.login("agent")
    assert client.get(path).status_code == 403
    assert client.post("/admin/robots/new", data=FORM).status_code == 403
    assert RobotTarget.select().count() == 0


def test_admin_creates_and_edits_with_the_url_masked_and_the_secret_never_shown(client, auth, seeded):
    auth.login("admin")
    created = client.post("/admin/robots/new", data={**FORM, "process_code": "return_goods", "step_key": "warehouse"})
    assert created.status_code == 302
    robot = RobotTarget.get()
    assert (robot.url, robot.secret, robot.events, robot.step) == (FORM["url"], SECRET, ["assignment", "overdue"],
                                                                   "warehouse")
    pages = [client.get(p).get_data(as_text=True) for p in ("/admin/robots/", f"/admin/robots/{robot.id}/")]
    for page in pages:
        assert KEYS[1] not in page and SECRET not in page
        assert "https://oapi.dingtalk.com/robot/send?access_token=1f0b****" in page
    kept = client.post(f"/admin/robots/{robot.id}/", data={**FORM, "url": "", "secret": "", "events": ["mention"]})
    assert kept.status_code == 302
    robot = RobotTarget.get()
    assert (robot.url, robot.secret, robot.events, robot.process) == (FORM["url"], SECRET, ["mention"], None)
    client.post(f"/admin/robots/{robot.id}/", data={**FORM, "url": "", "secret": "", "clear_secret": "y"})
    assert RobotTarget.get().secret is None
    entries = list(AuditEntry.select().order_by(AuditEntry.id))
    assert [e.action for e in entries] == ["robot.create", "robot.update", "robot.update"]
    logged = json.dumps([(e.before, e.after) for e in entries])
    assert KEYS[1] not in logged and SECRET not in logged and entries[0].after["signed"] is True


@pytest.mark.parametrize(("changes", "field"), [
    ({"url": "ftp://oapi.dingtalk.com/x"}, "url"), ({"url": "oapi.dingtalk.com"}, "url"), ({"url": ""}, "url"),
    ({"events": []}, "events"), ({"platform": "slack"}, "platform"), ({"name": ""}, "name"),
    ({"department": "999"}, "department"), ({"process_code": "nope"}, "process_code"),
    ({"step_key": "warehouse"}, "process_code"), ({"process_code": "return_goods", "step_key": "nowhere"}, "step_key"),
    ({"platform": "wecom"}, "secret")])
def test_admin_form_errors_name_the_field(client, auth, seeded, changes, field):
    auth.login("admin")
    data = {**FORM, **changes}
    refused = client.post("/admin/robots/new", data=data)
    assert refused.status_code == 422 and f'data-field="{field}"' in refused.get_data(as_text=True)
    assert RobotTarget.select().count() == 0 and AuditEntry.select().count() == 0


def test_admin_posts_need_a_csrf_token(users, db_url):
    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "s", "WTF_CSRF_ENABLED": True})
    client = app.test_client()
    login = client.get("/login").get_data(as_text=True)
    csrf = login.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    assert client.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": csrf}
                       ).status_code == 302
    robot = RobotTarget.create(name="x", platform="wecom", url=FORM["url"], events=["assignment"])
    for url in ("/admin/robots/new", f"/admin/robots/{robot.id}/", f"/admin/robots/{robot.id}/delete",
                f"/admin/robots/{robot.id}/test"):
        response = client.post(url, data=FORM)
        assert response.status_code == 400 and b"CSRF" in response.data, url
    assert RobotTarget.select().count() == 1 and RobotDelivery.select().count() == 0


def test_admin_test_message_delete_and_retry(client, auth, fakes):
    auth.login("admin")
    robot = target(fakes["feishu"])
    assert client.post(f"/admin/robots/{robot.id}/test").status_code == 302
    assert robots.deliver_due("w1")["delivered"] == 1
    [(_, body, refusal)] = fakes["feishu"].received
    assert refusal is None and body["msg_type"] == "post"
    failed = RobotDelivery.create(target=robot, uuid="0" * 36, kind="overdue", payload="{}", status="failed",
                                  attempts=webhooks.MAX_ATTEMPTS, last_status_code=200,
                                  last_error="code 19021: sign match fail", next_attempt_at=utcnow())
    AuditEntry.delete().execute()
    RobotDelivery.delete().where(RobotDelivery.id != failed.id).execute()
    assert_retried_now(client, "/admin/robots/deliveries", failed, "code 19021: sign match fail",
                       f"lz-retry-{failed.id}", "robot.retry")
    assert client.post(f"/admin/robots/{robot.id}/delete").status_code == 302
    assert RobotTarget.select().count() == 0 and RobotDelivery.select().count() == 0
    assert AuditEntry.select().order_by(AuditEntry.id.desc()).get().action == "robot.delete"
    assert client.post("/admin/robots/x1/delete").status_code == 404


def test_admin_pages_escape_names_and_logs(client, auth):
    auth.login("admin")
    hostile = '<script>alert("x")</script>'
    robot = RobotTarget.create(name=hostile, platform="wecom", url=FORM["url"] + "&x=" + hostile, events=["mention"])
    RobotDelivery.create(target=robot, uuid="1" * 32, kind="mention", payload=hostile, last_error=hostile,
                         status="failed")
    for path in ("/admin/robots/", f"/admin/robots/{robot.id}/", "/admin/robots/deliveries"):
        page = client.get(path).get_data(as_text=True)
        assert "<script>alert" not in page and "&lt;script&gt;" in page, path
