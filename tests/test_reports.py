"""Reports on both databases: every metric on hand-built tickets with known times, local (+08:00) periods,
team scope and 403s, the CSV and XLSX exports and the SVG charts.

The tickets (times are Asia/Shanghai; "Δ" is seconds after creation):

====  =======  ===========  =====  ===========  =======  =======  ======  ==========
T     creator  created      first  closed       overdue  rating   status  assignee
====  =======  ===========  =====  ===========  =======  =======  ======  ==========
T1    agent    03-01 10:00  600    03-01 12:00  -        5        closed  -
T2    agent    03-02 07:30  1200   03-03 09:30  notice   3        closed  -
T3    agent2   03-02 09:00  1800   -            mark     -        open    wh1
T4    agent    02-28 10:00  300    03-02 10:00  -        1        closed  -
T5    sup      03-01 07:00  -      -            -        -        open    sup
T6    agent    04-01 07:00  -      -            -        -        open    sup2
T7    admin    03-05 10:00  60     -            -        -        open    fin1
T8    agent    03-20 10:00  3600   04-02 10:00  -        4        closed  -
====  =======  ===========  =====  ===========  =======  =======  ======  ==========

T2 and T5 are created before 08:00 local time, so on the previous UTC day
(T5 even in the previous UTC month); T6 is April locally, March in UTC.
"""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest
from openpyxl import load_workbook

from web.common import charts
from workflows.reporting import reports
from workflows.reporting.reports import ReportFilters, agent_monthly, report
from workflows.storage.models import Notification, Process, ProcessVersion, Rating, Ticket, TicketEvent
from workflows.tickets.errors import Forbidden

MARCH = ReportFilters(date(2026, 3, 1), date(2026, 3, 31))


def local(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A naive UTC datetime for an Asia/Shanghai wall time of 2026."""
    return datetime(2026, month, day, hour, minute) - timedelta(hours=8)


def make_ticket(world, number, creator, created, *, first=None, closed=None, assignee=None, **fields):
    version = ProcessVersion.select().first()
    return Ticket.create(
        number=number, process_version=version, creator=world[creator], created_at=created, updated_at=created,
        entered_at=created, first_response_at=created + timedelta(seconds=first) if first else None,
        closed_at=closed, status="closed" if closed else "open", step="$end" if closed else "approve",
        assignee=world[assignee] if assignee else None, channel=fields.pop("channel", "phone"), **fields)


def event(ticket, action, actor, at, from_step, to_step):
    TicketEvent.create(ticket=ticket, action=action, actor=actor, created_at=at, from_step=from_step, to_step=to_step)


def history(world, ticket, *moves):
    """Events in order: (action, actor, time, from_step, to_step)."""
    for action, actor, at, from_step, to_step in moves:
        event(ticket, action, world[actor], at, from_step, to_step)


@pytest.fixture
def tickets(world):
    t1 = make_ticket(world, "T1", "agent", local(3, 1, 10), first=600, closed=local(3, 1, 12))
    t2 = make_ticket(world, "T2", "agent", local(3, 2, 7, 30), first=1200, closed=local(3, 3, 9, 30))
    t3 = make_ticket(world, "T3", "agent2", local(3, 2, 9), first=1800, assignee="wh1",
                     overdue_at=local(3, 2, 13), priority="urgent", channel="online")
    t4 = make_ticket(world, "T4", "agent", local(2, 28, 10), first=300, closed=local(3, 2, 10))
    make_ticket(world, "T5", "sup", local(3, 1, 7), assignee="sup")
    make_ticket(world, "T6", "agent", local(4, 1, 7), assignee="sup2")
    t7 = make_ticket(world, "T7", "admin", local(3, 5, 10), first=60, assignee="fin1")
    t8 = make_ticket(world, "T8", "agent", local(3, 20, 10), first=3600, closed=local(4, 2, 10))
    Notification.create(user=world["agent"], ticket=t2, kind="overdue", message="T2: overdue")
    for ticket, score in ((t1, 5), (t2, 3), (t4, 1), (t8, 4)):
        Rating.create(ticket=ticket, score=score)
    history(world, t1, ("create", "agent", local(3, 1, 10), "register", "approve"),
            ("advance", "sup", local(3, 1, 10, 10), "approve", "warehouse"),
            ("close", "wh1", local(3, 1, 12), "warehouse", "$end"))
    history(world, t2, ("create", "agent", local(3, 2, 7, 30), "register", "approve"),
            ("advance", "sup", local(3, 2, 7, 50), "approve", "warehouse"),
            ("return", "wh1", local(3, 2, 8, 50), "warehouse", "approve"),
            ("transfer", "sup", local(3, 2, 9), "approve", "approve"),
            ("advance", "sup2", local(3, 2, 9, 50), "approve", "warehouse"),
            ("close", "wh1", local(3, 3, 9, 30), "warehouse", "$end"))
    history(world, t3, ("create", "agent2", local(3, 2, 9), "register", "approve"),
            ("advance", "sup", local(3, 2, 9, 30), "approve", "warehouse"))
    history(world, t4, ("create", "agent", local(2, 28, 10), "register", "approve"),
            ("advance", "sup", local(3, 2, 9), "approve", "warehouse"),
            ("close", "wh2", local(3, 2, 10), "warehouse", "$end"))
    history(world, t7, ("create", "admin", local(3, 5, 10), "register", "approve"))
    return world


def counts(figures) -> tuple:
    return figures.created, figures.closed, figures.open_end


def test_every_ticket_metric_of_the_total(tickets):
    total = report(tickets["sup"], MARCH, ("month",)).total
    assert counts(total) == (5, 3, 3)  # T1 T2 T3 T5 T8 created; T1 T2 T4 closed; T3 T5 T8 open on 03-31
    assert total.resolution_rate == 0.6
    assert total.cohort == 5
    assert (total.first_response_avg, total.first_response_p90) == (1800.0, 3600)  # 600 1200 1800 3600
    assert (total.resolution_avg, total.resolution_p90) == (408000.0, 1123200)  # 7200 93600 1123200
    assert (total.breaches, total.breach_rate) == (2, 0.4)  # T2 by its notice, T3 by its mark
    assert (total.rating_avg, total.ratings) == (4.0, [0, 0, 1, 1, 1])


def test_closed_basis_describes_the_tickets_closed_in_the_range(tickets):
    total = report(tickets["sup"], ReportFilters(date(2026, 3, 1), date(2026, 3, 31), basis="closed"), ()).total
    assert counts(total) == (5, 3, 3) and total.cohort == 3  # T1 T2 T4
    assert (total.first_response_avg, total.first_response_p90) == (700.0, 1200)  # 600 1200 300
    assert (total.resolution_avg, total.resolution_p90) == (91200.0, 172800)  # 7200 93600 172800
    assert (total.breaches, total.rating_avg, total.ratings) == (1, 3.0, [1, 0, 1, 0, 1])


@pytest.mark.parametrize("basis", reports.BASES)
@pytest.mark.parametrize("dims", [("month", "agent"), ("week", "department"), ("process",), ("step",)])
def test_the_total_row_of_a_grouped_report_is_the_ungrouped_report(tickets, dims, basis):
    """Totals are summed from the groups (one pass over the tickets): the same figures as asking for no groups."""
    filters = replace(MARCH, basis=basis)
    for viewer in ("sup", "admin"):
        assert report(tickets[viewer], filters, dims).total == report(tickets[viewer], filters, ()).total


def test_days_are_local_days(tickets):
    rows = {g.key[0]: g.figures for g in report(tickets["sup"], MARCH, ("day",)).rows}
    assert len(rows) == 31 and list(rows)[0] == "2026-03-01" and list(rows)[-1] == "2026-03-31"
    assert counts(rows["2026-03-01"]) == (2, 1, 2)  # T1, T5 (23:00 UTC on 02-28); T4 and T5 open at midnight
    assert counts(rows["2026-03-02"]) == (2, 1, 3)  # T2 (23:30 UTC on 03-01), T3; T4 closed
    assert counts(rows["2026-03-03"]) == (0, 1, 2)
    assert counts(rows["2026-03-19"]) == (0, 0, 2) and counts(rows["2026-03-20"]) == (1, 0, 3)
    day2 = rows["2026-03-02"]
    assert (day2.first_response_avg, day2.first_response_p90, day2.breaches, day2.breach_rate) == (1500.0, 1800, 2, 1.0)
    assert (rows["2026-03-01"].first_response_avg, rows["2026-03-01"].rating_avg) == (600.0, 5.0)


def test_few_periods_are_bucketed_by_their_starts_as_many_are_by_date(tickets):
    """Up to 16 periods are told apart by comparing with their starts (sql.bucket's edges), more by
    formatting each row's local date: the same days either way, local midnight included."""
    many = {g.key: g.figures for g in report(tickets["sup"], MARCH, ("day", "agent")).rows}
    few_filters = ReportFilters(date(2026, 3, 1), date(2026, 3, 3))
    assert (few_filters.end - few_filters.start).days + 1 <= reports.sql.FEW_PERIODS < 31
    few = {g.key: g.figures for g in report(tickets["sup"], few_filters, ("day", "agent")).rows}
    assert few and all(key[0] <= "2026-03-03" for key in few)
    assert few == {key: figures for key, figures in many.items() if key[0] <= "2026-03-03"}


def test_weeks_start_on_local_mondays(tickets):
    rows = {g.key[0]: counts(g.figures) for g in report(tickets["sup"], MARCH, ("week",)).rows}
    assert rows == {"2026-02-23": (2, 1, 2), "2026-03-02": (2, 2, 2), "2026-03-09": (0, 0, 2),
                    "2026-03-16": (1, 0, 3), "2026-03-23": (0, 0, 3), "2026-03-30": (0, 0, 3)}


def test_months_are_local_months(tickets):
    spring = ReportFilters(date(2026, 3, 1), date(2026, 4, 30))
    rows = {g.key[0]: counts(g.figures) for g in report(tickets["sup"], spring, ("month",)).rows}
    assert rows == {"2026-03": (5, 3, 3), "2026-04": (1, 1, 3)}  # T6 is April's; T8 closed in April


def test_by_agent_department_process_and_step(tickets):
    by_agent = {g.labels[0]: counts(g.figures) for g in report(tickets["admin"], MARCH, ("agent",)).rows}
    assert by_agent == {"agent": (3, 3, 1), "agent2": (1, 0, 1), "sup": (1, 0, 1), "admin": (1, 0, 1)}
    by_department = {g.labels[0]: counts(g.figures) for g in report(tickets["admin"], MARCH, ("department",)).rows}
    assert by_department == {"客服中心": (5, 3, 3), "": (1, 0, 1)}
    by_process = [(g.labels, counts(g.figures)) for g in report(tickets["admin"], MARCH, ("process",)).rows]
    assert by_process == [(("退货申请",), (6, 3, 4))]
    by_step = {g.key[0]: counts(g.figures) for g in report(tickets["admin"], MARCH, ("step",)).rows}
    assert by_step == {"approve": (3, 0, 3), "$end": (3, 3, 1)}  # the current step: T8 was open on 03-31


def test_agent_monthly(tickets):
    result = agent_monthly(tickets["admin"], date(2026, 3, 1), date(2026, 4, 30))
    rows = {(g.key[0], g.labels[1]): counts(g.figures) for g in result.rows}
    assert rows == {("2026-03", "agent"): (3, 3, 1), ("2026-04", "agent"): (1, 1, 1),
                    ("2026-03", "agent2"): (1, 0, 1), ("2026-04", "agent2"): (0, 0, 1),
                    ("2026-03", "sup"): (1, 0, 1), ("2026-04", "sup"): (0, 0, 1),
                    ("2026-03", "admin"): (1, 0, 1), ("2026-04", "admin"): (0, 0, 1)}
    assert counts(result.total) == (7, 4, 4)
    march = agent_monthly(tickets["admin"], datetime(2026, 3, 1), datetime(2026, 4, 1))  # the end excluded
    assert {g.key[0] for g in march.rows} == {"2026-03"} and counts(march.total) == (6, 3, 4)


def test_a_report_reads_in_one_transaction_planned_for_a_month_of_many(tickets, db_url):
    """PostgreSQL: every statement of the report runs in one transaction whose planner takes a month's index
    range over a scan of every ticket and sorts in memory (issue 24: the monthly report at 10M tickets);
    outside it the defaults hold. SQLite: no transaction (its IMMEDIATE ones would hold the writers' lock)."""
    from workflows.storage import db as lzdb

    seen: list[tuple[str, object]] = []
    connection = lzdb.database.connection()
    hooks = lzdb.database.obj.query_hooks
    hooks.append(lambda event: seen.append((event.sql, lzdb.database.in_transaction())))
    try:
        agent_monthly(tickets["admin"], date(2026, 3, 1), date(2026, 3, 31))
    finally:
        hooks.pop()
    postgres = db_url.startswith("postgresql")
    assert len(seen) > 5 and {inside for _, inside in seen} == {postgres}
    assert seen[0][0].startswith("SELECT set_config('random_page_cost'") == postgres
    # The ratings are read per ticket (a lateral index read), not hashed against every rating (10M tickets)
    assert any("LEFT JOIN LATERAL (SELECT" in sql and '"rating"' in sql for sql, _ in seen) == postgres
    if postgres:
        setting = connection.execute("SHOW random_page_cost").fetchone()[0]
        assert setting == "4", setting  # the report's setting ended with its transaction


def test_agent_p90s_by_hand(tickets):
    """agent's March tickets (created basis): T1 T2 T8 responded in 600 1200 3600, resolved in 7200 93600 1123200."""
    rows = {g.labels: g.figures for g in agent_monthly(tickets["admin"], date(2026, 3, 1), date(2026, 3, 31)).rows}
    march = rows[("2026-03", "agent")]
    assert (march.first_response_p90, march.resolution_p90) == (3600, 1123200)
    assert (rows[("2026-03", "agent2")].first_response_p90, rows[("2026-03", "agent2")].resolution_p90) == (1800, None)


@pytest.mark.parametrize("basis", reports.BASES)
@pytest.mark.parametrize("dims", [("month", "agent"), ("day", "agent"), ("week", "agent"), ("agent",)])
def test_walked_p90s_equal_the_windows(tickets, dims, basis, monkeypatch):
    """Per agent the p90s walk the (creator, duration) index; the window queries any grouping uses agree."""
    filters = replace(ReportFilters(date(2026, 2, 20), date(2026, 4, 30)), basis=basis)
    for viewer in ("admin", "sup"):  # the supervisor's scope narrows the walk as it does the windows
        walked = report(tickets[viewer], filters, dims)
        monkeypatch.setattr(reports.p90, "WALKED", -1)
        windowed = report(tickets[viewer], filters, dims)
        monkeypatch.undo()
        assert [(g.key, g.figures) for g in walked.rows] == [(g.key, g.figures) for g in windowed.rows]
        assert any(g.figures.resolution_p90 for g in walked.rows)


def test_steps_dwell_and_returns(tickets):
    result = report(tickets["admin"], MARCH)
    steps = {s.step: (s.left, s.dwell_avg, s.returns) for s in result.steps}
    # approve: 600, 1200, 3600 (from the return, the transfer stays), 169200, 1800; warehouse: 6600, 3600, 85200, 3600
    assert steps == {"approve": (5, 35280.0, 0), "warehouse": (4, 24750.0, 1)}
    assert result.slowest.step == "approve" and result.slowest.label == "主管审批"


def test_workload_per_agent(tickets):
    load = {w.username: (w.handled, w.open, w.handling_avg) for w in report(tickets["admin"], MARCH).workload}
    assert load == {"sup": (5, 1, 43200.0), "wh1": (3, 1, 31800.0), "agent": (2, 0, None), "agent2": (1, 0, None),
                    "sup2": (1, 1, 3600.0), "wh2": (1, 0, 3600.0), "admin": (1, 0, None), "fin1": (0, 1, None)}


def test_filters(tickets):
    admin = tickets["admin"]

    def created(**filters) -> int:
        return report(admin, ReportFilters(date(2026, 3, 1), date(2026, 3, 31), **filters), ()).total.created

    assert created() == 6
    assert created(priority="urgent") == created(channel="online") == created(agent="agent2") == 1
    assert created(department="service") == 5 and created(department="warehouse") == 0
    assert created(role="supervisor") == 1 and created(role="admin") == 1
    assert created(process="return_goods") == 6 and created(process="nothing") == 0
    assert created(department="nowhere") == 0


def test_supervisor_sees_only_their_subtree(tickets):
    assert report(tickets["admin"], MARCH, ()).total.created == 6
    assert report(tickets["sup"], MARCH, ()).total.created == 5  # not the admin's T7
    warehouse = report(tickets["wh_lead"], MARCH, ())
    assert counts(warehouse.total) == (1, 0, 1)  # T3, assigned to wh1
    load = {w.username: (w.handled, w.open, w.handling_avg) for w in warehouse.workload}
    assert load == {"wh1": (3, 1, 31800.0), "wh2": (1, 0, 3600.0)}  # their work, on anyone's tickets
    assert [s.step for s in warehouse.steps] == ["warehouse"]
    team = report(tickets["sup"], MARCH)
    assert {w.username for w in team.workload} == {"sup", "sup2", "agent", "agent2"}
    assert [s.step for s in team.steps] == ["approve"]  # the warehouse's steps are not the team's work


@pytest.mark.parametrize("who", ["agent", "wh1"])
def test_agents_and_handlers_may_not_see_reports(tickets, who):
    with pytest.raises(Forbidden):
        report(tickets[who], MARCH)
    with pytest.raises(Forbidden):
        agent_monthly(tickets[who], date(2026, 3, 1), date(2026, 3, 31))


def test_empty_range(world):
    result = report(world["admin"], MARCH)
    assert counts(result.total) == (0, 0, 0) and result.total.first_response_p90 is None
    assert result.total.resolution_rate is None and result.steps == [] and result.slowest is None
    assert len(result.rows) == 31


def test_invalid_reports_are_refused(world):
    for dims in (("agent", "month"), ("day", "month"), ("colour",)):
        with pytest.raises(reports.Invalid):
            report(world["admin"], MARCH, dims)
    with pytest.raises(reports.Invalid):
        report(world["admin"], ReportFilters(date(2026, 3, 2), date(2026, 3, 1)))


# ---------------------------------------------------------------- the page and its exports

QUERY = {"start": "2026-03-01", "end": "2026-03-31"}


def login(client, username: str):
    response = client.post("/login", data={"username": username, "password": "password1"})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    client.get("/lang/en")  # the headers and labels the assertions read are the English ones
    return client


def test_page_shows_the_report(tickets, client):
    login(client, "sup")
    page = client.get("/reports", query_string={**QUERY, "group": "week"}).get_data(as_text=True)
    assert "2026-02-23" in page and "2026-03-30" in page and "<svg" in page
    assert 'class="font-weight-bold lz-report-total"' in page and "60.0%" in page  # resolution rate
    assert "主管审批" in page and "lz-slowest" in page
    assert 'href="/reports"' in page  # the nav link
    assert client.get("/reports").status_code == 200  # the last 30 days by default
    assert client.get("/reports", query_string={"group": "colour", "start": "nonsense"}).status_code == 200


@pytest.mark.parametrize("who", ["agent", "wh1"])
def test_agents_and_handlers_get_403(tickets, client, who):
    login(client, who)
    for path in ("/reports", "/reports/export.csv", "/reports/export.xlsx"):
        assert client.get(path, query_string=QUERY).status_code == 403
    assert 'href="/reports"' not in client.get("/").get_data(as_text=True)


def test_reports_need_a_login(client):
    assert client.get("/reports").status_code == 302


def test_csv_has_a_bom_chinese_and_no_formulas(tickets, client):
    Process.update(name="=HYPERLINK(\"http://evil\")").execute()
    login(client, "admin")
    response = client.get("/reports/export.csv", query_string={**QUERY, "group": "process"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    raw = response.get_data()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:4] == ["Type", "Tickets created", "Tickets closed", "Open at end"]
    assert rows[1][:4] == ["'=HYPERLINK(\"http://evil\")", "6", "3", "4"]
    assert rows[2][:2] == ["Total", "6"]
    assert ["主管审批", "5", "35280.0", "0"] in rows


def test_xlsx_opens_with_its_header_row(tickets, client):
    Process.update(name="@SUM(1)").execute()
    login(client, "sup")
    response = client.get("/reports/export.xlsx", query_string={**QUERY, "group": "department"})
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.get_data()))
    assert book.sheetnames == ["Report", "Steps", "Agents"]
    rows = list(book["Report"].iter_rows(values_only=True))
    assert rows[0][:4] == ("Department", "Tickets created", "Tickets closed", "Open at end")
    assert rows[1][:4] == ("客服中心", 5, 3, 3) and rows[-1][:2] == ("Total", 5)
    assert list(book["Steps"].iter_rows(values_only=True))[1] == ("主管审批", 5, 35280, 0)


def test_formula_cells_are_neutralised():
    from web.reports import safe

    assert [safe(v) for v in ("=1+1", "+1", "-1", "@A1", "ok", -1, None)] == [
        "'=1+1", "'+1", "'-1", "'@A1", "ok", -1, None]


def test_chart_svg_escapes_a_hostile_process_name(tickets, client):
    hostile = '<script>alert("x")</script>'
    svg = str(charts.bar_chart(hostile, [hostile, "ok"], [1, None]))
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert str(charts.line_chart("t", [hostile], [(hostile, [1])])).count("&lt;script&gt;") == 2
    Process.update(name=hostile).execute()
    login(client, "admin")
    page = client.get("/reports", query_string={**QUERY, "group": "process"}).get_data(as_text=True)
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page
