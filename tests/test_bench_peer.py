"""The Redmine peer benchmark's driver of our API (bench/peer.py), against a live server, without Redmine.

The full comparison needs Redmine (``python -m bench.peer``); what can break
without it is our side: each of the four operations must get the status the
benchmark counts as success, and a list page must be full, or the figures
would compare unlike work.
"""

from __future__ import annotations

import pytest

from bench import peer
from workflows.people import org
from workflows.tickets import engine

LISTERS = ("sup", "sup2", "wh_lead", "fin_lead")  # the test organisation's four approvers (round robin)
PAGE = 25


@pytest.fixture
def ours(world, live_server):
    """Our API on a live server with a full page of open tickets in every approver's queue, as the bench seeds."""
    admin = world["admin"]
    for i in range(len(LISTERS) * (PAGE + 1)):
        engine.create(admin, "return_goods", {**peer.DATA, "order_no": f"SEED-{i}"})
    tokens = [org.issue_token(world[name], "peer") for name in LISTERS]
    return peer.Ours(live_server, org.issue_token(admin, "peer"), tokens, PAGE)  # limit=25, as Redmine's


def test_each_operation_gets_the_status_the_benchmark_counts(ours):
    client = ours.clients(1)[0]
    assert "X-Redmine-API-Key" not in client.headers and client.headers["Connection"] == "close"
    ok, number = ours.create(0, client)
    assert ok, number
    assert ours.update(number, client) == (True, number)
    assert ours.update(number, client)[0] is False  # moved on already: a stale version is not counted
    assert ours.get(number, client) == (True, number)
    assert [ours.listing(i, client) for i in range(len(LISTERS))] == [(True, PAGE)] * len(LISTERS)


def test_interleaved_phases_report_every_operation_without_errors(ours):
    """The whole pipeline, with our own API standing in for the peer: ratios near 1, no errors, full pages."""
    stand_in = peer.Ours(ours.base, ours.admin, ours.listers, ours.page, name="redmine")
    run = peer.Run(count=6, seconds=30)
    run.interleaved([stand_in, ours], rounds=1, threads=(1, 2))
    phases = [p for stats in run.results.values() for p in stats]
    assert len(phases) == 2 * 2 * len(peer.OPS) and not any(p["errors"] for p in phases)
    assert {p["rows_min"] for p in phases if p["op"] == "list"} == {PAGE}
    found = peer.figures(run, ["ours"], threads=(1, 2))
    assert [f.name for f in found][:2] == ["create, 1 thr (Redmine / ours)", "create, 2 thr (Redmine / ours)"]
    assert all(f.ratio and f.target in (0.25, 0.1) for f in found)
    assert "ours ops/s p50 p95" in peer.table(run, ["ours"], threads=(1, 2))
