"""Bulk wait and resume from the workspace list (``POST /tickets/bulk``, docs/pending.md), on both databases.

Each selected ticket is one engine call and one transaction: a refused ticket is named with
the engine's reason and left as it was, the others are done.
"""

from __future__ import annotations

import pytest
from test_pending_pages import at_approval, at_warehouse, fresh, login, publish, wait

from workflows.storage.models import Ticket, TicketEvent


@pytest.fixture
def waiting(world):
    return publish(world)


def selection(*tickets: Ticket) -> list[str]:
    return [f"{t.number}:{t.version}" for t in tickets]


def outcomes(page: str) -> dict[str, str]:
    """number -> "done" or "refused", from the result page."""
    found = {}
    for part in page.split('data-lz-outcome="')[1:]:
        state, rest = part.split('"', 1)
        found[rest.split("</a>")[0].rsplit(">", 1)[1]] = state
    return found


def actions(ticket: Ticket) -> list[str]:
    return [e.action for e in TicketEvent.select().where(TicketEvent.ticket == ticket).order_by(TicketEvent.id)]


def test_bulk_wait_does_each_ticket_alone_and_names_the_refused_one(app, client, waiting):
    first, second, approval = at_warehouse(waiting), at_warehouse(waiting), at_approval(waiting)
    login(client, "admin")
    response = client.post("/tickets/bulk", data={"action": "wait", "comment": "等客户回电", "until": "",
                                                  "tickets": selection(first, second, approval), "next": "/?scope=all"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert outcomes(page) == {first.number: "done", second.number: "done", approval.number: "refused"}
    assert "This step does not allow waiting." in page and "2 of 3 tickets done." in page
    assert 'href="/?scope=all"' in page
    assert [fresh(t).status for t in (first, second, approval)] == ["pending", "pending", "open"]
    assert fresh(approval).version == approval.version and "wait" not in actions(approval)  # nothing half-saved
    assert TicketEvent.get(TicketEvent.ticket == first, TicketEvent.action == "wait").comment == "等客户回电"


def test_bulk_resume_refuses_a_stale_and_an_open_ticket(app, client, waiting):
    pending, stale, open_one = wait(at_warehouse(waiting)), wait(at_warehouse(waiting)), at_warehouse(waiting)
    old = selection(stale)
    fresh_stale = fresh(stale)
    Ticket.update(version=fresh_stale.version + 1).where(Ticket.id == stale.id).execute()  # changed since listed
    login(client, "admin", "zh")
    page = client.post("/tickets/bulk", data={"action": "resume", "tickets": selection(pending, open_one) + old}
                       ).get_data(as_text=True)
    assert outcomes(page) == {pending.number: "done", stale.number: "refused", open_one.number: "refused"}
    assert "工单已被他人修改：请重新加载后再试。" in page and "此操作不适用于状态为 open 的工单。" in page
    assert [fresh(t).status for t in (pending, stale, open_one)] == ["open", "pending", "open"]
    assert "共 3 个工单，已完成 1 个。" in page


def test_bulk_as_a_handler_refuses_someone_elses_ticket(app, client, waiting):
    tickets = [at_warehouse(waiting) for _ in range(3)]
    mine = tickets[0]
    theirs = next((t for t in tickets if t.assignee_id != mine.assignee_id), None)
    assert theirs is not None, "least loaded spreads the tickets over wh1 and wh2"
    login(client, mine.assignee.username)
    page = client.post("/tickets/bulk", data={"action": "wait", "comment": "x", "tickets": selection(mine, theirs)}
                       ).get_data(as_text=True)
    assert outcomes(page) == {mine.number: "done", theirs.number: "refused"}
    assert "You are not the handler of this ticket." in page
    assert (fresh(mine).status, fresh(theirs).status) == ("pending", "open")


def test_bulk_wait_needs_a_reason_and_reads_until_in_local_time(app, client, waiting):
    first, second = at_warehouse(waiting), at_warehouse(waiting)
    login(client, "admin")
    page = client.post("/tickets/bulk", data={"action": "wait", "tickets": selection(first)}).get_data(as_text=True)
    assert outcomes(page) == {first.number: "refused"} and "This field is required." in page
    client.post("/tickets/bulk", data={"action": "wait", "comment": "x", "until": "2099-01-02T08:30",
                                       "tickets": selection(second)})
    assert str(fresh(second).pending_until) == "2099-01-02 00:30:00"


def test_bulk_refuses_a_bad_request_naming_the_field(app, client, waiting):
    ticket = at_warehouse(waiting)
    login(client, "admin")
    none = client.post("/tickets/bulk", data={"action": "wait", "comment": "x"})
    assert none.status_code == 400 and "tickets" in none.get_data(as_text=True)
    bad = client.post("/tickets/bulk", data={"action": "explode", "tickets": selection(ticket)})
    assert bad.status_code == 400 and "action" in bad.get_data(as_text=True)
    many = client.post("/tickets/bulk", data={"action": "wait", "tickets": [f"X{i}:1" for i in range(101)]})
    assert many.status_code == 400
    unknown = client.post("/tickets/bulk", data={"action": "wait", "comment": "x", "tickets": ["NOPE:1"]})
    assert outcomes(unknown.get_data(as_text=True)) == {"NOPE": "refused"}
    assert fresh(ticket).status == "open"
    outside = client.post("/tickets/bulk", data={"action": "wait", "tickets": selection(ticket),
                                                 "comment": "x", "next": "//evil.example/"})
    assert 'href="//evil.example/"' not in outside.get_data(as_text=True)


def test_anonymous_bulk_goes_to_login(app, client, waiting):
    ticket = at_warehouse(waiting)
    response = client.post("/tickets/bulk", data={"action": "wait", "comment": "x", "tickets": selection(ticket)})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert fresh(ticket).status == "open"


@pytest.mark.parametrize("lang, words", [("en", ("Selected tickets", "Apply to selected", "Select all tickets")),
                                         ("zh", ("所选工单", "应用到所选工单", "全选本页工单"))])
def test_workspace_has_checkboxes_and_the_bulk_bar(app, client, waiting, lang, words):
    ticket = at_warehouse(waiting)
    login(client, "admin", lang)
    page = client.get("/?scope=all").get_data(as_text=True)
    assert f'form="lz-bulk" name="tickets" value="{ticket.number}:{ticket.version}"' in page
    assert 'id="lz-bulk"' in page and 'name="csrf_token"' in page.split('id="lz-bulk"')[1].split("</form>")[0]
    assert all(w in page for w in words)
    assert '<script src="/static/js/bulk.js"' in page and '<script src="/static/js/list.js"></script>' in page
    assert "<script>" not in page
    script = client.get("/static/js/bulk.js")
    script.close()
    assert script.status_code == 200
    empty = client.get("/?scope=all&status=closed").get_data(as_text=True)
    assert 'id="lz-bulk"' not in empty  # no rows, no bar
