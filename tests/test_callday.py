"""A call-center day, short (issue 24): ``python -m bench.callday --quick`` as a test.

A fresh PostgreSQL database with the demo, 100 staff and 1,000 tickets of history; two application
hosts (gunicorn -w 2 and ``flask worker --sla`` each) behind HAProxy; 150 tickets played through the
call page, their approval, warehouse and finance steps, with lists, searches, ticket pages, API reads,
bulk tags, reports and every user's live polling, in 35 s of open-loop load. No request may fail,
every kind must have been sent, every created ticket must be in the database and every ticket the
day played to its end must be closed. Needs root (namespaces), ``ip`` and ``haproxy``, like
tests/test_hosts.py; CI has them.
"""

from __future__ import annotations

from bench import callday
from bench.callmix import KINDS
from formbuilder import cache


def test_a_short_call_center_day_has_no_error_and_loses_no_ticket():
    options, _ = callday.parse(["--quick"])
    try:
        result = callday.run(options)
    finally:
        cache.clear()  # what the demo's seeding compiled here must not outlive its database
    print(callday.report(result))
    assert result.tally.errors == {}
    assert [kind for kind in KINDS if not result.tally.latencies.get(kind)] == []
    assert len(result.tally.created) >= options.tickets * 0.95  # a call never reached the form only on an error
    assert result.wrong == []
    closed = [n for n, status in result.tally.finished.items() if status == "closed"]
    assert len(closed) >= len(result.tally.created) * 0.6
    assert result.cpu["host1"] > 0 and result.cpu["host2"] > 0 and result.cpu["postgresql"] > 0
