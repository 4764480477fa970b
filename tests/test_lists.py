"""Ticket lists on both databases: scopes per role, filters, keyset pages, counts, and the workspace page."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from html.parser import HTMLParser

import pytest
from helpers import plan_nodes, recorded_sql
from test_engine import advance, new_ticket

import web.common.lists
from workflows.reporting import queries
from workflows.reporting.queries import Filters, counts, ticket_list
from workflows.storage.models import Ticket, TicketCC, utcnow
from workflows.tickets.access import can_read
from workflows.tickets.errors import EngineError, Forbidden


def login(client, username: str):
    response = client.post("/login", data={"username": username, "password": "password1"})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return client


def numbers(page) -> list[str]:
    return [t.number for t in page.tickets]


def listed(world, who: str, scope: str = "mine", **filters) -> set[str]:
    return set(numbers(ticket_list(world[who], scope, Filters(**filters))))


@pytest.fixture
def three(world):
    """Agent's ticket (to sup), agent2's (to sup2), sup's own (to wh_lead by round robin), fin1 CC'd on agent2's."""
    mine = new_ticket(world, customer={"name": "王先生", "phone": "13800000001"})
    other = new_ticket(world, "agent2", customer={"name": "李女士", "phone": "13900000002"}, priority="urgent")
    own = new_ticket(world, "sup", priority="low")
    TicketCC.create(ticket=other, user=world["fin1"])
    assert [Ticket.get_by_id(t.id).assignee.username for t in (mine, other, own)] == ["sup", "sup2", "wh_lead"]
    return mine.number, other.number, own.number


def test_each_scope_holds_what_the_role_may_list(world, three):
    mine, other, own = three
    assert listed(world, "agent") == {mine}
    assert listed(world, "agent2") == {other}
    assert listed(world, "fin1") == {other}  # CC'd
    assert listed(world, "sup") == {mine, own}  # assigned to, created by
    assert listed(world, "sup", "team") == {mine, other, own}
    assert listed(world, "wh_lead", "team") == {own}
    assert listed(world, "admin", "all") == {mine, other, own}
    for who, scope in (("agent", "team"), ("agent", "all"), ("wh1", "team"), ("sup", "all")):
        with pytest.raises(Forbidden):
            ticket_list(world[who], scope)
    with pytest.raises(EngineError):
        ticket_list(world["admin"], "everything")


def test_counts_are_open_tickets_per_tab(world, three):
    mine, _, _ = three
    assert counts(world["agent"]) == {"mine": 1}
    assert counts(world["sup"]) == {"mine": 2, "team": 3}
    assert counts(world["admin"]) == {"mine": 0, "team": 0, "all": 3}
    advance(world, "sup", Ticket.get(Ticket.number == mine), {"approval": "reject", "reject_reason": "过期"},
            transition="$end")
    assert counts(world["agent"]) == {"mine": 0}
    assert counts(world["sup"]) == {"mine": 1, "team": 2}
    assert listed(world, "agent", status="closed") == {mine}


def test_each_filter(world, three):
    mine, other, own = three
    Ticket.update(due_at=utcnow() - timedelta(minutes=5)).where(Ticket.number == other).execute()
    Ticket.update(created_at=datetime(2026, 1, 15, 9)).where(Ticket.number == own).execute()
    cases = [
        ({"status": "open"}, {mine, other, own}),
        ({"status": "closed"}, set()),
        ({"process": "return_goods"}, {mine, other, own}),
        ({"process": "nosuch"}, set()),
        ({"step": "approve"}, {mine, other, own}),
        ({"step": "warehouse"}, set()),
        ({"priority": "urgent"}, {other}),
        ({"priority": "low"}, {own}),
        ({"overdue": True}, {other}),
        ({"created_from": date(2026, 1, 15), "created_to": date(2026, 1, 15)}, {own}),
        ({"created_from": date(2026, 1, 16)}, {mine, other}),
        ({"created_to": date(2026, 1, 14)}, set()),
        ({"q": mine}, {mine}),
        ({"q": mine[:-1]}, set()),  # the number is matched exactly
        ({"q": "1390000"}, {other}),  # phone by prefix
        ({"q": "0000000"}, set()),  # ... not by its middle
        ({"q": "女士"}, {other}),  # name by part
        ({"q": "先生", "priority": "urgent"}, set()),
    ]
    for filters, expected in cases:
        assert listed(world, "admin", "all", **filters) == expected, filters


def test_a_vague_text_is_searched_row_by_row(world, three, monkeypatch):
    monkeypatch.setattr(queries, "TEXT_CUSTOMERS", 1)
    assert listed(world, "admin", "all", q="13") == set(three[:2])


def walk(user, sort: str, size: int, scope: str = "all") -> list[str]:
    """Every page, following next_cursor; the cursors must end."""
    seen, cursor = [], None
    for _ in range(20):
        page = ticket_list(user, scope, None, cursor, sort, size)
        assert len(page.tickets) <= size
        seen += numbers(page)
        cursor = page.next_cursor
        if cursor is None:
            return seen
    raise AssertionError("the pages never end")


@pytest.mark.parametrize("size", [1, 2, 3, 7])
def test_keyset_pages_cover_every_ticket_once_in_order(world, size):
    made = [new_ticket(world, priority=p) for p in ("low", "urgent", "normal", "urgent", "high", "normal")]
    by_number = {t.number: Ticket.get_by_id(t.id) for t in made}
    same_due = utcnow() + timedelta(hours=3)
    Ticket.update(due_at=same_due).where(Ticket.id.in_([made[1].id, made[2].id])).execute()
    Ticket.update(due_at=None).where(Ticket.id == made[4].id).execute()
    by_number = {n: Ticket.get_by_id(t.id) for n, t in by_number.items()}
    rank = {p: i for i, p in enumerate(queries.PRIORITIES)}
    expected = {
        "newest": sorted(by_number, key=lambda n: -by_number[n].id),
        "due": sorted(by_number, key=lambda n: (by_number[n].due_at is None, by_number[n].due_at or 0,
                                                by_number[n].id if by_number[n].due_at else -by_number[n].id)),
        "priority": sorted(by_number, key=lambda n: (rank[by_number[n].priority], -by_number[n].id)),
    }
    for sort, order in expected.items():
        assert walk(world["admin"], sort, size) == order, sort


@pytest.mark.parametrize("cursor", ["abc", "1-2", "n-3", "20260101-x", "-5"])
def test_a_forged_cursor_is_refused(world, cursor):
    with pytest.raises(EngineError):
        ticket_list(world["admin"], "all", None, cursor, "newest")


def test_a_page_costs_the_same_few_queries_however_many_rows(world, db):
    def statements(size: int) -> list[str]:
        with recorded_sql(db.obj) as seen:
            page = ticket_list(world["sup"], "team", None, None, "newest", size)
        assert len(page.tickets) == min(size, 4)
        return seen

    for who in ("agent", "agent2", "sup", "agent"):
        new_ticket(world, who)
    statements(1)  # the first builds the configuration caches (docs/caching.md); then every page reads the same
    small, large = statements(1), statements(10)
    assert len(small) == len(large) <= 6
    assert not any("OFFSET" in sql.upper() for sql in small + large)


def test_readable_is_can_read_in_sql(world, three):
    """The customer history's scope agrees with workflows.tickets.access.can_read for every user and ticket."""
    tickets = [Ticket.get(Ticket.number == n) for n in three]
    advance(world, "sup", tickets[0], {"approval": "approve"}, transition="warehouse")
    for user in world.values():
        readable = set(numbers(queries.readable_list(user, Filters())))
        assert readable == {t.number for t in tickets if can_read(user, Ticket.get_by_id(t.id))}, user.username


# The workspace page


SELECT = r'(?:<td class="lz-select">(?:(?!</td>).)*</td>\s*)?'  # the workspace's bulk selection box (docs/pending.md)


class Labels(HTMLParser):
    """Ids of the filter form's controls and the targets of its labels."""

    def __init__(self):
        super().__init__()
        self.controls, self.labels, self.inside = [], set(), False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("role") == "search":
            self.inside = True
        elif self.inside and tag in ("input", "select") and attrs.get("type") != "hidden":
            self.controls.append(attrs.get("id"))
        elif self.inside and tag == "label":
            self.labels.add(attrs.get("for"))

    def handle_endtag(self, tag):
        self.inside = self.inside and tag != "form"


def test_anonymous_users_are_sent_to_log_in(app, client):
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_tabs_follow_the_role(app, client, world, three):
    login(client, "agent")
    html = client.get("/").get_data(as_text=True)
    assert "我的工单" in html and "团队工单" not in html and "全部工单" not in html
    assert client.get("/?scope=all").status_code == 403
    assert client.get("/?scope=team").status_code == 403
    assert client.get("/?cursor=bogus").status_code == 400
    client.post("/logout")
    login(client, "admin")
    html = client.get("/?scope=all").get_data(as_text=True)
    tabs = re.findall(r'class="nav-link[^"]*"[^>]*>\s*(\S+) <span class="badge[^>]*>(\d+)', html)
    assert tabs == [("我的工单", "0"), ("团队工单", "0"), ("全部工单", "3")]


def test_the_table(app, client, world, three):
    mine, other, own = three
    Ticket.update(created_at=datetime(2026, 1, 15, 9, 5)).where(Ticket.number == own).execute()
    login(client, "sup")
    html = client.get("/?scope=team").get_data(as_text=True)
    assert f'<a href="/tickets/{mine}">{mine}</a>' in html
    assert '<time datetime="2026-01-15T09:05:00Z">2026/1/15 17:05</time>' in html  # local time, Chinese format
    row = re.search(rf'<tr[^>]*>\s*{SELECT}<th scope="row"><a href="/tickets/{other}">.*?</tr>', html, re.S).group(0)
    for text in ("退货申请", "主管审批", "lz-priority-urgent", "李女士", "139 0000 0002", world["sup2"].name):
        assert text in row, text
    parser = Labels()
    parser.feed(html)
    assert len(parser.controls) == 9 and None not in parser.controls
    assert set(parser.controls) <= parser.labels


def test_overdue_and_due_soon_rows_are_marked_in_words(app, client, world, three):
    mine, other, own = three
    Ticket.update(due_at=utcnow() - timedelta(minutes=1)).where(Ticket.number == mine).execute()
    Ticket.update(due_at=utcnow() + timedelta(minutes=90)).where(Ticket.number == other).execute()
    login(client, "sup")
    html = client.get("/?scope=team").get_data(as_text=True)

    def row(number):
        return re.search(rf'<tr class="([^"]*)">\s*{SELECT}<th scope="row"><a href="/tickets/{number}">.*?</tr>', html,
                         re.S)

    assert row(mine).group(1) == "lz-row-overdue" and "超时" in row(mine).group(0)
    assert row(other).group(1) == "lz-row-due-soon" and "即将超时" in row(other).group(0)
    assert row(own).group(1) == "" and "超时" not in row(own).group(0)
    overdue_only = client.get("/?scope=team&overdue=y").get_data(as_text=True)
    assert mine in overdue_only and other not in overdue_only


def test_filters_and_next_page_on_the_page(app, client, world, three, monkeypatch):
    mine, other, own = three
    monkeypatch.setattr(web.common.lists, "PAGE", 2)
    login(client, "admin")
    first = client.get("/?scope=all&sort=newest").get_data(as_text=True)
    assert own in first and other in first and mine not in first
    next_url = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    assert "cursor=" in next_url and "sort=newest" in next_url
    second = client.get(next_url).get_data(as_text=True)
    assert mine in second and own not in second and 'rel="next"' not in second
    urgent = client.get("/?scope=all&priority=urgent").get_data(as_text=True)
    assert other in urgent and mine not in urgent
    closed = client.get("/?scope=all&status=closed").get_data(as_text=True)
    assert mine not in closed and "没有符合条件的工单" in closed
    as_submitted = {"scope": "all", "q": "", "status": "", "type": "", "step": "", "priority": "",
                    "created_from": "", "created_to": "", "sort": "due"}
    everything = client.get("/", query_string=as_submitted).get_data(as_text=True)
    assert "is-invalid" not in everything
    assert re.findall(r'<th scope="row"><a href="/tickets/(\w+)"', everything) == [mine, other]  # due soonest
    wrong = client.get("/?scope=all&created_from=yesterday&q=13800").get_data(as_text=True)
    assert '"created_from" name="created_from" type="date" value="yesterday"' in wrong
    assert "不是有效的日期" in wrong and mine in wrong and other not in wrong


def test_an_open_list_looks_up_only_the_open_tickets_its_reader_created(world, db_url):
    """An agent creates about 50 tickets a day and most close: the open list, its count and the live poll's
    rows must not read all of them each time (migration 0029's (creator, status, id) index)."""
    from workflows.reporting import live
    from workflows.storage import db as lzdb
    mine = Ticket.get_by_id(new_ticket(world).id)
    old = {k: v for k, v in mine.__data__.items() if k not in ("id", "number")}
    closed = [{**old, "number": f"OLD{i}", "status": "closed", "assignee": None} for i in range(2000)]
    Ticket.insert_many(closed).execute()
    assert listed(world, "agent", status="open") == {mine.number}
    assert counts(world["agent"])["mine"] == 1 and live.counts(world["agent"])["mine"] == 1
    assert list(live.list_rows(world["agent"], "mine", live.DEFAULT, "newest", None, live.PAGE)) == [mine.number]
    sql, params = live._MINE_ROWS.build(world["agent"].id).sql()
    if db_url.startswith("sqlite"):
        plan = " ".join(row[3] for row in lzdb.database.execute_sql(f"EXPLAIN QUERY PLAN {sql}", params))
        assert "ticket_creator_id_status_id" in plan, plan
        return
    lzdb.database.execute_sql("ANALYZE ticket")
    ((plan,),) = lzdb.database.execute_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params).fetchall()
    read = [node["Actual Rows"] for node in plan_nodes(plan[0]["Plan"]) if node.get("Relation Name") == "ticket"
            and "creator_id" in node.get("Index Cond", node.get("Filter", "")) + node.get("Recheck Cond", "")]
    assert read and max(read) <= 1, plan


def _general(user, filters, cursor, size):
    """The page as the general path reads it, whatever the shape."""
    condition = queries.scope_condition(user, "mine", queries.statuses_of(filters))
    return queries._page(condition, filters, cursor, "newest", size, user)


def test_the_common_mine_list_reads_what_the_general_path_reads(world, three):
    """``minelist`` serves "mine", newest first, by status "open", process and step from SQL built once: every
    such shape, page by page, gives the general path's tickets, customers, versions and cursors."""
    from workflows.reporting import minelist
    for who in ("agent", "agent", "sup"):
        new_ticket(world, who)
    moved = new_ticket(world, "agent2")
    advance(world, Ticket.get_by_id(moved.id).assignee.username, moved, {"approval": "approve"},
            transition="warehouse")
    shapes = [Filters(), Filters(status="open"), Filters(status="open", process="return_goods"),
              Filters(step="approve"), Filters(status="open", process="return_goods", step="approve"),
              Filters(process="nothing")]

    def seen(page):
        return ([(t.number, t.customer and t.customer.name, t.process_version.id, t.status, t.step)
                 for t in page.tickets], page.next_cursor, sorted(page.users))

    for who in ("agent", "agent2", "sup", "fin1", "wh_lead"):
        for filters in shapes:
            for size in (1, 2, 50):
                cursor, pages = None, 0
                while pages == 0 or cursor:
                    assert minelist.applies("mine", filters, cursor, "newest")
                    fast = ticket_list(world[who], "mine", filters, cursor, "newest", size)
                    assert seen(fast) == seen(_general(world[who], filters, cursor, size)), (who, filters, size)
                    cursor, pages = fast.next_cursor, pages + 1
    for odd in [("team", Filters(), None, "newest"), ("mine", Filters(status="closed"), None, "newest"),
                ("mine", Filters(q="王"), None, "newest"), ("mine", Filters(), None, "due"),
                ("mine", Filters(priority="urgent"), None, "newest"), ("mine", Filters(), "r-1", "newest"),
                ("mine", Filters(), "9" * 19, "newest")]:
        assert not minelist.applies(*odd), odd


def test_the_common_mine_list_builds_its_statement_once(world, three, monkeypatch):
    """Its condition (a union of four lookups) is built into SQL text at the first list of a shape only."""
    built = []
    real = queries.mine_condition
    monkeypatch.setattr(queries, "mine_condition", lambda *a: built.append(1) or real(*a))
    from workflows.reporting import minelist
    monkeypatch.setattr(minelist, "_PAGES", {})
    filters = Filters(status="open", process="return_goods", step="approve")
    pages = [numbers(ticket_list(world[who], "mine", filters, None, "newest", 25)) for who in ("sup", "sup2", "sup")]
    assert len(built) == 1
    assert pages == [[three[2], three[0]], [three[1]], [three[2], three[0]]]  # sup's own, then the one sent to sup
