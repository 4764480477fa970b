"""No IDOR: someone else's ticket number, file key, token id, notification id or customer link gets nothing.

The world is the permission matrix's (``test_permission_matrix``): ticket T at the
warehouse step with ``wh1``, created by ``agent``, ``fin2`` CC'd. The outsiders are
``wh2`` (same team), ``fin1`` (another team) and ``fin_lead`` (supervisor of an
unrelated department). Every refused request must also change nothing and
return none of the ticket's data.
"""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from test_engine import REGISTER, WAREHOUSE
from test_permission_matrix import PHONE, PRINCIPALS, READERS, World, login, world_factory

from workflows.storage import db as lzdb
from workflows.storage.models import (
    ApiToken,
    Notification,
    Rating,
    Ticket,
    TicketCC,
    TicketEvent,
    TicketTag,
    User,
)
from workflows.tickets import engine, feedback

EN = {"Accept-Language": "en"}
OUTSIDERS = ["colleague", "other_team", "unrelated_supervisor"]
SECRETS = ("王先生", "TH-1", PHONE)  # T's customer, order number and phone


@pytest.fixture
def world_of(app, monkeypatch):
    """The permission matrix's world, built when the test asks for it."""
    return world_factory(app, monkeypatch)


def as_user(client, principal: str) -> None:
    """Switch the test client's session to ``principal``."""
    client.post("/logout")
    login(client, PRINCIPALS[principal])


def api_headers(world: World, principal: str) -> dict:
    return {**EN, "Authorization": f"Bearer {world.tokens[PRINCIPALS[principal]]}"}


def snapshot(app, number: str) -> tuple:
    """Everything a write on T could change."""
    with app.app_context(), lzdb.database.connection_context():
        ticket = Ticket.get(Ticket.number == number)
        rows = tuple(model.select().where(model.ticket == ticket).count()
                     for model in (TicketEvent, TicketCC, TicketTag, Notification))
        return ticket.step, ticket.assignee_id, ticket.status, ticket.version, ticket.data, rows


def ticket_requests(world: World) -> list[tuple[str, str, dict]]:
    """Real reads and writes of T, page and API, each of which would work for its handler."""
    n, v, api = world.number, world.version, f"/api/v1/tickets/{world.number}"
    transfer = {"action": "transfer", "version": v, "assignee": "wh2", "comment": "mine now"}
    back = {"action": "return", "version": v, "comment": "back"}
    advance = {"action": "advance", "version": v, "data": WAREHOUSE, "transition": "finance", "assignee": "fin1"}
    return [
        ("GET", f"/tickets/{n}", {}), ("POST", f"/tickets/{n}/act", {"data": transfer}),
        ("POST", f"/tickets/{n}/act", {"data": back}), ("POST", f"/tickets/{n}/notes", {"data": {"note": "hi"}}),
        ("POST", f"/tickets/{n}/cc", {"data": {"cc": "wh2"}}), ("POST", f"/tickets/{n}/tags", {"data": {"tag": "vip"}}),
        ("POST", f"/tickets/{n}/tags/remove", {"data": {"tag": "matrix"}}),
        ("GET", f"/attachments/{world.key}", {}), ("GET", api, {}), ("GET", f"{api}/notes", {}),
        ("POST", f"{api}/notes", {"json": {"text": "hi @wh2"}}), ("POST", f"{api}/actions", {"json": transfer}),
        ("POST", f"{api}/actions", {"json": back}), ("POST", f"{api}/actions", {"json": advance}),
        ("POST", f"{api}/actions", {"json": {"action": "close", "version": v}}),
        ("GET", f"/api/v1/attachments/{world.key}", {}),
    ]


def test_another_users_ticket_number_is_refused_on_every_ticket_route(app, client, world_of, subtests):
    world = world_of()
    before = snapshot(app, world.number)
    for principal in OUTSIDERS:
        as_user(client, principal)
        for method, url, body in ticket_requests(world):
            headers = api_headers(world, principal) if url.startswith("/api/") else EN
            response = client.open(url, method=method, headers=headers, **body)
            text = response.get_data(as_text=True)
            response.close()
            with subtests.test(principal=principal, method=method, url=url):
                assert response.status_code == 403
                assert not any(secret in text for secret in SECRETS), "the refusal shows T's data"
    assert snapshot(app, world.number) == before


def test_the_handler_can_do_what_the_outsiders_cannot(app, client, world_of):
    """The same requests are real: for wh1 they read T and change it."""
    world = world_of()
    login(client, "wh1")
    before = snapshot(app, world.number)
    assert client.get(f"/tickets/{world.number}", headers=EN).status_code == 200
    response = client.post(f"/tickets/{world.number}/act", headers=EN, data=ticket_requests(world)[1][2]["data"])
    assert response.status_code == 302
    assert snapshot(app, world.number)[1] != before[1]  # transferred to wh2


def download(client, url: str, headers: dict) -> tuple[int, bytes]:
    response = client.get(url, headers=headers)
    body = response.get_data()
    response.close()
    return response.status_code, body


def downloads(client, world: World, principal: str, key: str) -> set[int]:
    """The statuses of the page and API downloads of ``key``; a refusal never carries the file."""
    statuses = set()
    for url, headers in ((f"/attachments/{key}", EN), (f"/api/v1/attachments/{key}", api_headers(world, principal))):
        status, body = download(client, url, headers)
        assert status == 200 or not body.startswith(b"\xff\xd8\xff"), url
        statuses.add(status)
    return statuses


LOOSE = {"other_team": 200, "admin": 403, "creator": 403, "assignee": 403, "colleague": 403}  # fin1's upload
AT_FINANCE = {"creator": 200, "assignee": 200, "cc": 403, "other_team": 403, "unrelated_supervisor": 200,
              "admin": 200}


def test_someone_elses_attachment_key_is_refused(client, world_of, subtests):
    """T's photo for outsiders, fin1's upload (linked to no ticket) for anyone but fin1, even admins."""
    world = world_of()
    for principal in sorted(set(OUTSIDERS) | set(LOOSE)):
        as_user(client, principal)
        with subtests.test(principal=principal):
            if principal in OUTSIDERS:
                assert downloads(client, world, principal, world.key) == {403}
            assert downloads(client, world, principal, world.loose_key) == {LOOSE.get(principal, 403)}
            assert downloads(client, world, principal, "no-such-key") == {404}


def test_someone_elses_file_key_cannot_be_claimed_into_ones_own_ticket(client, world_of):
    """Naming fin1's upload (or T's photo) in a new ticket would make it the creator's to download: refused."""
    world = world_of()
    login(client, "agent")
    for key in (world.loose_key, world.key):
        body = {"process": "return_goods", "data": {**REGISTER, "photos": [key]}}
        response = client.post("/api/v1/tickets", json=body, headers=api_headers(world, "creator"))
        assert response.status_code == 422 and list(response.json["fields"]) == ["photos"], key
    assert downloads(client, world, "creator", world.loose_key) == {403}


def test_a_reader_downloads_only_the_files_of_fields_they_see(app, client, world_of, subtests):
    """At the finance step the photos are hidden from its handler fin1 and the CC'd fin2; fin_lead now oversees."""
    world = world_of()
    with app.app_context(), lzdb.database.connection_context():
        wh1 = User.get(User.username == "wh1")
        engine.act(wh1, world.number, "advance", version=world.version, data=WAREHOUSE, transition="finance",
                   assignee="fin1")
    for principal, status in AT_FINANCE.items():
        as_user(client, principal)
        with subtests.test(principal=principal):
            assert client.get(f"/tickets/{world.number}", headers=EN).status_code == 200
            assert downloads(client, world, principal, world.key) == {status}


def token_works(client, token: str) -> bool:
    return client.get("/api/v1/processes", headers={**EN, "Authorization": f"Bearer {token}"}).status_code == 200


def test_the_admin_revokes_a_token_only_under_its_owner(client, world_of):
    """Not from anyone's profile (the admin's included), nor under another user's name in the admin."""
    world = world_of()
    for principal in ("other_team", "admin"):
        as_user(client, principal)
        assert client.post(f"/profile/tokens/{world.token_id}/revoke", headers=EN).status_code == 404, principal
        assert token_works(client, world.token)
    assert client.post(f"/admin/users/fin1/tokens/{world.token_id}/revoke", headers=EN).status_code == 404
    assert token_works(client, world.token)
    assert client.post(f"/admin/users/wh1/tokens/{world.token_id}/revoke", headers=EN).status_code == 302
    assert not token_works(client, world.token)


def test_the_owner_revokes_their_own_token(app, client, world_of):
    world = world_of()
    login(client, "wh1")
    assert client.post(f"/profile/tokens/{world.token_id}/revoke", headers=EN).status_code == 302
    assert not token_works(client, world.token)
    with app.app_context(), lzdb.database.connection_context():
        assert ApiToken.get_or_none(ApiToken.id == world.token_id) is None


def csv_numbers(client, query: dict) -> tuple[int, set[str]]:
    response = client.get("/tickets/export.csv", query_string=query, headers=EN)
    if response.status_code != 200:
        return response.status_code, set()
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    return 200, {row[0] for row in rows[1:]}


def xlsx_numbers(client, query: dict) -> set[str]:
    response = client.get("/tickets/export.xlsx", query_string=query, headers=EN)
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.get_data()), read_only=True).active
    return {row[0] for row in list(sheet.iter_rows(values_only=True))[1:]}


def api_numbers(client, world: World, principal: str, query: dict) -> set[str]:
    response = client.get("/api/v1/tickets", query_string=query, headers=api_headers(world, principal))
    assert response.status_code == 200
    return {item["number"] for item in response.json["items"]}


EXPORTS = [  # principal, scope, which of T (open) and T2 (closed) the list and its exports hold; None: 403
    ("creator", "mine", "T T2"), ("assignee", "mine", "T"), ("cc", "mine", "T"), ("colleague", "mine", ""),
    ("other_team", "mine", ""), ("unrelated_supervisor", "mine", ""), ("supervisor", "team", "T"),
    ("chief", "team", "T T2"), ("unrelated_supervisor", "team", ""), ("admin", "all", "T T2"),
    ("colleague", "team", None), ("supervisor", "all", None), ("creator", "all", None),
]


def check_export(client, world: World, principal: str, scope: str, holds: str | None) -> None:
    query = {"scope": scope, "type": "return_goods", "status": ""}  # any status: T2 is closed
    status, numbers = csv_numbers(client, query)
    if holds is None:
        assert status == 403
        return
    expected = {{"T": world.number, "T2": world.closed}[n] for n in holds.split()}
    assert status == 200 and numbers == expected
    assert xlsx_numbers(client, query) == expected
    assert api_numbers(client, world, principal, {"scope": scope}) == expected
    assert csv_numbers(client, {"scope": scope, "status": "", "q": world.number})[1] == expected & {world.number}


def test_exports_and_lists_hold_only_tickets_one_may_read(client, world_of, subtests):
    world = world_of()
    for principal, scope, holds in EXPORTS:
        as_user(client, principal)
        with subtests.test(principal=principal, scope=scope):
            check_export(client, world, principal, scope, holds)


REPORTED = {"unrelated_supervisor": 0, "supervisor": 1, "chief": 2, "admin": 2}  # tickets created in the report


def reported(client, query: dict) -> tuple[int, str]:
    """The report export's total of tickets created, and its text."""
    text = client.get("/reports/export.csv", query_string=query, headers=EN).get_data(as_text=True)
    total = next(line for line in text.splitlines() if line.startswith("Total,"))
    return int(total.split(",")[1]), text


def test_a_report_export_counts_only_the_supervisors_team(client, world_of, subtests):
    """fin_lead's report holds neither T nor T2, even filtered to the warehouse: a filter narrows, never widens."""
    world_of()
    for principal, created in REPORTED.items():
        as_user(client, principal)
        with subtests.test(principal=principal):
            total, text = reported(client, {})
            assert total == created and ("wh1" in text) is (created > 0)
            assert reported(client, {"department": "warehouse"})[0] <= created


def test_an_export_blanks_the_fields_its_reader_may_not_see(client, world_of):
    """The creator's own ticket, at the warehouse step: the approval (not on the first step) stays blank."""
    world = world_of()
    login(client, "agent")
    creator = client.get("/tickets/export.csv", query_string={"type": "return_goods"}, headers=EN).get_data(
        as_text=True)
    client.post("/logout")
    login(client, "admin")
    admin = client.get("/tickets/export.csv", query_string={"scope": "all", "type": "return_goods"},
                       headers=EN).get_data(as_text=True)
    assert "同意退货" in admin and "同意退货" not in creator and world.number in creator


def test_a_note_or_a_cc_does_not_widen_the_fields_one_sees(client, world_of):
    """The creator CC'd fin2 at the warehouse step (in the world) and now writes a note there: still no approval."""
    world = world_of()
    headers, url = api_headers(world, "creator"), f"/api/v1/tickets/{world.number}"
    assert "approval" not in client.get(url, headers=headers).json["data"]
    assert client.post(f"{url}/notes", json={"text": "any news?"}, headers=headers).status_code == 201
    assert "approval" not in client.get(url, headers=headers).json["data"]
    assert client.get(url, headers=api_headers(world, "admin")).json["data"]["approval"] == "approve"


def forged_links(app, world: World) -> list[tuple[str, str]]:
    """Links that must find nothing: tampered, crossed between rating and progress, other secret, no ticket."""
    rate, progress = world.ids["rate_token"], world.ids["progress_token"]
    with app.app_context(), lzdb.database.connection_context():
        closed = engine.load(world.closed)
        other_secret = feedback.rating_link_token(closed, secret="not-the-app-secret")
        missing = feedback._serializer(feedback.RATING).dumps(10**6)
        missing_progress = feedback._serializer(feedback.PROGRESS).dumps(10**6)
    flipped = rate[:-1] + ("A" if rate[-1] != "A" else "B")
    return [("/rate/", flipped), ("/rate/", progress), ("/p/", rate), ("/rate/", other_secret), ("/rate/", missing),
            ("/p/", missing_progress), ("/p/", progress[:-1] + ("A" if progress[-1] != "A" else "B")),
            ("/rate/", "x"), ("/p/", str(world.closed))]


def test_forged_or_crossed_customer_links_find_nothing(app, client, world_of):
    world = world_of()
    for prefix, token in forged_links(app, world):
        assert client.get(prefix + token, headers=EN).status_code == 404, (prefix, token)
        if prefix == "/rate/":
            assert client.post(prefix + token, data={"score": "1"}, headers=EN).status_code == 404
    with app.app_context(), lzdb.database.connection_context():
        assert Rating.select().count() == 0


def test_a_rating_link_rates_its_own_ticket_once_and_no_other(app, client, world_of):
    world = world_of()
    with app.app_context(), lzdb.database.connection_context():
        open_link = feedback.rating_link_token(engine.load(world.number))  # signed, but T is still open
    assert client.post(f"/rate/{open_link}", data={"score": "1"}, headers=EN).status_code == 409
    rate = f"/rate/{world.ids['rate_token']}"
    assert client.post(rate, data={"score": "5"}, headers=EN).status_code == 200
    assert client.post(rate, data={"score": "1"}, headers=EN).status_code == 409
    with app.app_context(), lzdb.database.connection_context():
        assert [(r.ticket.number, r.score) for r in Rating.select()] == [(world.closed, 5)]


def test_a_progress_link_shows_its_ticket_only(client, world_of):
    world = world_of()
    page = client.get(f"/p/{world.ids['progress_token']}", headers=EN).get_data(as_text=True)
    assert world.number in page and world.closed not in page and "TH-1" not in page


def test_another_users_notification_cannot_be_marked(app, client, world_of, subtests):
    world = world_of()
    number, headers = world.notification_id, {}
    for principal in ("colleague", "other_team", "admin"):
        as_user(client, principal)
        headers = api_headers(world, principal)
        with subtests.test(principal=principal):
            assert client.post(f"/inbox/{number}/read", headers=EN).status_code == 404
            assert client.post(f"/api/v1/notifications/{number}/read", headers=headers).status_code == 404
            listed = client.get("/api/v1/notifications", headers=headers).json["items"]
            assert number not in {n["id"] for n in listed}
    with app.app_context(), lzdb.database.connection_context():
        assert Notification.get_by_id(number).read_at is None


LOOKUP = {"colleague": False, "other_team": False, "assignee": True, "creator": True, "unrelated_supervisor": True}


def test_the_caller_lookup_shows_only_customers_one_may_see(client, world_of, subtests):
    """Handlers see the customers of tickets they read; whoever registers calls looks anyone up, but the
    caller's history lists only tickets they may open (issue 16, defect 7: the rule of /customers/ID)."""
    world = world_of()
    for principal, sees in LOOKUP.items():
        as_user(client, principal)
        page = client.get(f"/call?phone={PHONE}", headers=EN).get_data(as_text=True)
        found = client.get(f"/api/v1/customers?phone={PHONE}", headers=api_headers(world, principal)).json
        with subtests.test(principal=principal):
            assert ("王先生" in page) is sees and (world.number in page) is (principal in READERS)
            assert [c["name"] for c in found] == (["王先生"] if sees else [])
            assert client.get(f"/customers/{world.customer_id}", headers=EN).status_code == (200 if sees else 404)
