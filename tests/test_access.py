"""Who may act now, on both databases: the ticket page's form and the engine answer alike."""

from __future__ import annotations

import pytest
from test_engine import advance, fresh, new_ticket

from workflows.tickets import engine
from workflows.tickets.access import can_act, may_act
from workflows.tickets.errors import Forbidden


@pytest.mark.parametrize(("who", "acts"), [("sup", True), ("admin", True), ("agent", False), ("wh1", False)])
def test_on_an_open_ticket_the_handler_their_chain_and_admins_may_act(world, who, acts):
    ticket = fresh(new_ticket(world))  # at the supervisor's approval step, with sup
    assert may_act(world[who], ticket) is acts is can_act(world[who], ticket)


def test_on_a_closed_ticket_nobody_may_act_though_the_admin_still_can(world):
    ticket = new_ticket(world)
    advance(world, "sup", ticket, {"approval": "reject", "reject_reason": "不符合退货条件"}, transition="$end")
    closed = fresh(ticket)
    assert closed.status == "closed"
    assert not may_act(world["admin"], closed) and can_act(world["admin"], closed)


def test_the_engine_refuses_whoever_may_not_act(world):
    ticket = fresh(new_ticket(world))
    assert not may_act(world["wh1"], ticket)
    with pytest.raises(Forbidden):
        engine.act(world["wh1"], ticket.number, "advance", version=ticket.version, data={"approval": "approve"},
                   transition="warehouse")
