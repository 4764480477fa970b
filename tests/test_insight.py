"""Problem insight (issue 23) on both databases: the heat map's exact figures on a hand-built month, the spike alert
firing once, the dwell p90 per step and the coloured diagram, field readers, permissions and the page.

March 2026 (local, +08:00) starts on a Sunday, so its weeks (by Monday) are 02-23 (one day), 03-02, 03-09,
03-16, 03-23 and 03-30 (two days). The tickets of :func:`month` (field ``model``):

======  ===============  =======  ===========================================
model   created (local)  creator  note
======  ===============  =======  ===========================================
mw-a1   03-01 10:00      agent    week 02-23
mw-a1   03-02 07:30      agent    03-01 23:30 UTC: still week 03-02 locally
mw-a1   03-31 23:00      agent2   week 03-30
mw-a1   04-01 07:00      agent    03-31 23:00 UTC, but April: left out
fr-200  03-09 09:00 x2   agent    week 03-09
fr-200  02-28 23:00      agent    February: left out
ac-1p   03-10 09:00      wh1      not the service team's: admins only
(none)  03-11 09:00      agent    no model: left out
======  ===============  =======  ===========================================
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from conftest import example

from workflows.processes import documents as docs
from workflows.reporting import dwell, heatmap, spikes
from workflows.storage.models import Notification, ProcessVersion, SpikeAlert, Ticket, TicketEvent
from workflows.tickets.errors import Forbidden, Invalid

MARCH = date(2026, 3, 1)
WEEKS = ["2026-02-23", "2026-03-02", "2026-03-09", "2026-03-16", "2026-03-23", "2026-03-30"]
CSS = Path(__file__).resolve().parents[1] / "static" / "css" / "insight.css"


def local(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A naive UTC datetime for an Asia/Shanghai wall time of 2026."""
    return datetime(2026, month, day, hour, minute) - timedelta(hours=8)


def make(world, creator: str, created: datetime, model: str | None, number: list[int] = [0]) -> Ticket:  # noqa: B006
    number[0] += 1
    version = ProcessVersion.select().order_by(ProcessVersion.id.desc()).first()
    return Ticket.create(number=f"I{number[0]}", process_version=version, creator=world[creator], created_at=created,
                         updated_at=created, entered_at=created, step="approve", status="open",
                         data={} if model is None else {"model": model, "category": model[:2]})


@pytest.fixture
def month(world):
    for creator, created, model in (("agent", local(3, 1, 10), "mw-a1"), ("agent", local(3, 2, 7, 30), "mw-a1"),
                                    ("agent2", local(3, 31, 23), "mw-a1"), ("agent", local(4, 1, 7), "mw-a1"),
                                    ("agent", local(3, 9, 9), "fr-200"), ("agent", local(3, 9, 9), "fr-200"),
                                    ("agent", local(2, 28, 23), "fr-200"), ("wh1", local(3, 10, 9), "ac-1p"),
                                    ("agent", local(3, 11, 9), None)):
        make(world, creator, created, model)
    return world


def grid(found: heatmap.HeatMap) -> list[tuple]:
    return [(row.value, row.label, row.counts, row.total) for row in found.rows]


def test_heat_map_figures_of_a_hand_built_month(month):
    found = heatmap.heatmap(month["admin"], "return_goods", "model", MARCH)
    assert found.weeks == WEEKS
    assert grid(found) == [("mw-a1", "A1 型", [1, 1, 0, 0, 0, 1], 3), ("fr-200", "200 升", [0, 0, 2, 0, 0, 0], 2),
                           ("ac-1p", "1 匹挂机", [0, 0, 1, 0, 0, 0], 1)]
    assert (found.week_totals, found.total, found.top) == ([1, 1, 3, 0, 0, 1], 6, 2)


def test_a_supervisor_sees_their_teams_tickets_only(month):
    found = heatmap.heatmap(month["sup"], "return_goods", "model", MARCH)
    assert [(r.value, r.total) for r in found.rows] == [("mw-a1", 3), ("fr-200", 2)]  # wh1's ac-1p left out


def test_april_and_february_are_their_own_months(month):
    assert grid(heatmap.heatmap(month["admin"], "return_goods", "model", date(2026, 4, 1))) == [
        ("mw-a1", "A1 型", [1, 0, 0, 0, 0], 1)]  # April 1 is a Wednesday: weeks 03-30 .. 04-27
    assert [r.counts for r in heatmap.heatmap(month["admin"], "return_goods", "model", date(2026, 2, 1)).rows
            ] == [[0, 0, 0, 0, 1]]


@pytest.mark.parametrize("who", ["agent", "wh1"])
def test_agents_and_handlers_are_refused(month, who):
    with pytest.raises(Forbidden):
        heatmap.heatmap(month[who], "return_goods", "model", MARCH)
    with pytest.raises(Forbidden):
        dwell.flow_dwell(month[who], "return_goods", MARCH, date(2026, 3, 31))


def test_only_dictionary_fields_are_offered_and_others_refused(month):
    assert [f.key for f in heatmap.fields(month["sup"], "return_goods")] == ["source", "category", "model"]
    with pytest.raises(Invalid) as refused:
        heatmap.heatmap(month["admin"], "return_goods", "defect", MARCH)
    assert "field" in refused.value.fields


def restrict_model(departments: list[str]) -> None:
    """Publish a new version whose ``model`` only agents (who register it), the given departments and admins read."""
    document = example("return_goods.process.json")
    document["format"] = 2
    document["schema"]["properties"]["model"]["x-readers"] = {"roles": ["agent"], "departments": departments}
    document["steps"][0]["fields"]["model"] = "editable"  # a creator of any role may register: not required
    docs.save_process(document, publish=True)


def test_a_field_the_reader_may_not_read_is_not_offered(month):
    restrict_model(["finance"])
    assert "model" not in [f.key for f in heatmap.fields(month["sup"], "return_goods")]
    with pytest.raises(Invalid):
        heatmap.heatmap(month["sup"], "return_goods", "model", MARCH)
    assert heatmap.heatmap(month["admin"], "return_goods", "model", MARCH).total == 6


# -- spike alerts -----------------------------------------------------------------------------------------------

NOW = local(3, 25, 12)  # a Wednesday: the current week is 03-23, the four before 02-23 .. 03-16


@pytest.fixture
def rising(world):
    """mw-a2: 2 in the four weeks before (average 0.5), 3 this week: alerts. ac-3p: 1 a week before, 3 now:
    exactly +200 %, not more: no alert. fr-450: 2 this week, none before: under the minimum of 3."""
    for day in (3, 10):
        make(world, "agent", local(3, day, 9), "mw-a2")
    for day in (24, 24, 25):
        make(world, "agent", local(3, day, 9), "mw-a2")
    for day in (23, 2, 9, 16):
        make(world, "agent", local(2 if day == 23 else 3, day, 9), "ac-3p")
    for day in (23, 24, 25):
        make(world, "agent", local(3, day, 10), "ac-3p")
    for day in (23, 24):
        make(world, "agent", local(3, day, 11), "fr-450")
    spikes.set_watch("return_goods", "model", {"share": 200, "weeks": 4, "min_count": 3}, world["admin"])
    return world


def spike_notes() -> list[tuple[str, str]]:
    return sorted((n.user.username, n.message) for n in Notification.select().where(Notification.kind == "spike"))


def test_the_spike_alert_fires_once(rising):
    fired = spikes.sweep(NOW)
    assert [(s.value, s.week, s.count, s.average) for s in fired] == [("mw-a2", "2026-03-23", 3, 0.5)]
    notes = spike_notes()
    assert [user for user, _ in notes] == ["fin_lead", "sup", "sup2", "wh_lead"]  # every supervisor, once
    assert "A2 型" in notes[0][1] and "3" in notes[0][1]
    assert spikes.sweep(NOW) == [] and spikes.sweep(NOW + timedelta(minutes=1)) == []  # the next sweeps: nothing
    make(rising, "agent", local(3, 25, 13), "mw-a2")
    assert spikes.sweep(NOW + timedelta(hours=2)) == []  # more of the same week: still once
    assert len(spike_notes()) == 4
    assert SpikeAlert.select().count() == 1


def test_no_alert_for_a_small_base_or_exactly_the_share(rising):
    spikes.set_watch("return_goods", "model", {"share": 200, "weeks": 4, "min_count": 4}, rising["admin"])
    assert spikes.sweep(NOW) == []  # mw-a2's 3 are under the minimum now
    spikes.set_watch("return_goods", "model", {"share": 199, "weeks": 4, "min_count": 3}, rising["admin"])
    assert sorted(s.value for s in spikes.sweep(NOW)) == ["ac-3p", "mw-a2"]  # 3 > 1 x (1 + 199 %)


def test_the_next_week_alerts_again_and_unwatched_fields_never(rising):
    assert len(spikes.sweep(NOW)) == 1
    for _ in range(4):  # the four weeks before now hold 1 + 1 + 0 + 3: average 1.25, 4 > 3 x 1.25
        make(rising, "agent", local(3, 31, 9), "mw-a2")
    assert [(s.value, s.week) for s in spikes.sweep(local(4, 1, 12))] == [("mw-a2", "2026-03-30")]
    spikes.set_watch("return_goods", "model", None, rising["admin"])
    assert spikes.watches() == [] and spikes.sweep(local(4, 1, 12)) == []


def test_supervisors_who_may_not_read_the_field_are_not_told(rising):
    restrict_model(["finance"])
    make(rising, "agent", local(3, 25, 14), "mw-a2")  # on the new version: the watch reads every version
    assert [s.count for s in spikes.sweep(NOW)] == [4]
    assert [user for user, _ in spike_notes()] == ["fin_lead"]


def test_malformed_watches_are_ignored(world):
    from workflows.storage import settings

    settings.put(spikes.KEY, {"return_goods": [{"field": "model", "share": "lots"}, {"nope": 1}, "x"],
                              "other": "y"}, None)
    assert spikes.watches() == [] and spikes.sweep(NOW) == []
    with pytest.raises(ValueError):
        spikes.set_watch("return_goods", "model", {"share": 0}, None)


# -- dwell p90 per step -----------------------------------------------------------------------------------------

@pytest.fixture
def moves(world):
    """register: 100, 200, 300 s by agent; approve: 10..100 s by sup; warehouse: 5000 s by wh1 (not the team);
    one approve leave of 9999 s in April, outside the period."""
    ticket = make(world, "agent", local(3, 1, 9), "mw-a1")

    def leave(step, actor, seconds, at=None):
        TicketEvent.create(ticket=ticket, action="advance", actor=world[actor], created_at=at or local(3, 5, 9),
                           from_step=step,
                           to_step="x", dwell_seconds=seconds)

    for seconds in (300, 100, 200):
        leave("register", "agent", seconds)
    for seconds in range(100, 0, -10):
        leave("approve", "sup", seconds)
    leave("warehouse", "wh1", 5000)
    leave("approve", "sup", 9999, local(4, 1, 9))
    TicketEvent.create(ticket=ticket, action="transfer", actor=world["sup"], created_at=local(3, 5, 9),
                       from_step="finance", to_step="finance", dwell_seconds=777)  # not a leave
    return world


def figures(flow) -> list[tuple]:
    return [(s.key, s.left, s.p90, s.level) for s in flow.steps]


def test_dwell_p90_per_step_is_exact(moves):
    flow = dwell.flow_dwell(moves["admin"], "return_goods", MARCH, date(2026, 3, 31))
    assert figures(flow) == [("register", 3, 300, 1), ("approve", 10, 90, 1), ("warehouse", 1, 5000, 5),
                             ("finance", 0, None, 0)]
    assert flow.bottleneck.key == "warehouse"


def test_a_supervisors_dwell_is_their_teams(moves):
    flow = dwell.flow_dwell(moves["sup"], "return_goods", MARCH, date(2026, 3, 31))
    assert figures(flow) == [("register", 3, 300, 5), ("approve", 10, 90, 2), ("warehouse", 0, None, 0),
                             ("finance", 0, None, 0)]
    assert flow.bottleneck.key == "register"
    april = dwell.flow_dwell(moves["sup"], "return_goods", date(2026, 4, 1), date(2026, 4, 30))
    assert [(s.key, s.p90) for s in april.steps if s.p90] == [("approve", 9999)]


# -- the page ---------------------------------------------------------------------------------------------------

def login(client, username: str) -> None:
    assert client.post("/login", data={"username": username, "password": "password1"}).status_code == 302


def test_page_shows_the_grid_and_the_coloured_flow(month, moves, client):
    login(client, "admin")
    page = client.get("/reports/insight?type=return_goods&field=model&month=2026-03").get_data(as_text=True)
    row = re.search(r'<tr data-lz-value="mw-a1">(.*?)</tr>', page, re.S)[1]
    assert re.findall(r'<td class="lz-heat-(\d)">(\d+)</td>', row) == [
        ("5", "2"), ("3", "1"), ("0", "0"), ("0", "0"), ("0", "0"), ("3", "1")]  # moves adds one on 03-01; 1 of 2: 3
    assert 'class="lz-flow-node lz-dwell-5"' in page and 'fill="#f4a8a8"' in page
    assert "lz-bottleneck" in page and "仓库收货" in page.split("lz-bottleneck", 1)[1][:200]
    assert 'action="/reports/insight/watch"' in page  # the admin's spike form


def test_supervisor_page_and_refusals(month, client):
    login(client, "sup")
    page = client.get("/reports/insight?type=return_goods&field=model&month=2026-03")
    assert page.status_code == 200 and "ac-1p" not in page.get_data(as_text=True)
    assert 'action="/reports/insight/watch"' not in page.get_data(as_text=True)
    for query, name in (("month=2026-13", "month"), ("month=x", "month"), ("type=nope", "type"),
                        ("type=return_goods&field=defect", "field")):
        response = client.get(f"/reports/insight?{query}")
        assert response.status_code == 400 and name in response.get_data(as_text=True), query
    assert client.post("/reports/insight/watch", data={"type": "return_goods", "field": "model"}).status_code in (
        400, 403)


@pytest.mark.parametrize("who", ["agent", "wh1"])
def test_agents_and_handlers_get_403(month, client, who):
    assert "/login" in client.get("/reports/insight").location  # no login: to the login page
    login(client, who)
    assert client.get("/reports/insight").status_code == 403
    assert client.post("/reports/insight/watch", data={"type": "return_goods", "field": "model"}).status_code == 403


def test_admin_watches_a_field_from_the_page(month, client, app):
    login(client, "admin")
    app.config["WTF_CSRF_ENABLED"] = True
    page = client.get("/reports/insight?type=return_goods&field=model").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
    data = {"csrf_token": token, "type": "return_goods", "field": "model", "share": "150", "weeks": "3",
            "min_count": "5", "save": "1"}
    assert client.post("/reports/insight/watch", data={**data, "csrf_token": "bad"}).status_code == 400
    assert client.post("/reports/insight/watch", data={**data, "share": "0"}).status_code == 400
    assert client.post("/reports/insight/watch", data={**data, "field": "defect"}).status_code == 400
    assert client.post("/reports/insight/watch", data=data).status_code == 302
    assert spikes.watches() == [spikes.Watch("return_goods", "model", 150, 3, 5)]
    assert client.post("/reports/insight/watch", data={**data, "stop": "1"}).status_code == 302
    assert spikes.watches() == []


def _luminance(colour: str) -> float:
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def test_every_colour_pair_has_aa_contrast():
    pairs = re.findall(r"\.lz-(?:heat|dwell)-\d \{ background: (#[0-9a-f]{6}); color: (#[0-9a-f]{6}); \}",
                       CSS.read_text())
    assert len(pairs) == 12
    for background, text in pairs:
        light, dark = sorted((_luminance(background), _luminance(text)), reverse=True)
        assert (light + 0.05) / (dark + 0.05) >= 4.5, (background, text)
