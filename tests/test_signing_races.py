"""Concurrent signing on both databases: every signature kept, the step decided exactly once, one move."""

from __future__ import annotations

import pytest
from test_concurrency import run_together
from test_signing import fresh, publish, sign_process

from workflows.people import org
from workflows.storage.models import Signature, TicketEvent, User
from workflows.tickets import engine


def board(size: int) -> list[User]:
    org.create_department("board", "董事会")
    return [org.create_user(f"b{i:02d}", "password1", "handler", "board") for i in range(size)]


def start(world, mode: str, ratio: float | None = None):
    publish(sign_process(mode, ratio, of={"type": "department", "value": ["board"]}))
    return engine.create(world["agent"], "purchase", {"item": "服务器"}, transition="review")


def signing_at_once(people: list[User], ticket, verdict=lambda i: "agree") -> list:
    version = ticket.version  # every signer read the same page

    def work(i):
        return engine.act(people[i], ticket.number, "sign", version=version, data={"verdict": verdict(i)}).status
    return run_together(len(people), work)


def moves_of(ticket) -> list[str]:
    return [a for (a,) in TicketEvent.select(TicketEvent.action).where(
        TicketEvent.ticket == ticket.id, TicketEvent.action.in_(("advance", "close", "sign"))).tuples()]


@pytest.mark.parametrize("size", [3, 10])
def test_all_signing_at_once_resolves_exactly_once(world, size):
    people = board(size)
    ticket = start(world, "all")
    results = signing_at_once(people, ticket)
    assert all(r in ("open", "closed") for r in results), results
    assert results.count("closed") == 1
    done = fresh(ticket)
    assert done.status == "closed" and done.version == ticket.version + size + 1  # each signature, the move
    assert sorted(moves_of(ticket)) == ["close"] + ["sign"] * size
    assert Signature.select().where(Signature.state == "signed").count() == size


def test_any_with_everyone_agreeing_at_once_keeps_only_the_first(world):
    people = board(10)
    ticket = start(world, "any")
    results = signing_at_once(people, ticket)
    signed = [r for r in results if r in ("open", "closed")]
    assert signed == ["closed"], results  # the first decides; the others find their part released: 409
    assert all(isinstance(r, engine.Conflict) for r in results if r not in signed), results
    assert Signature.select().where(Signature.state == "released").count() == 9
    assert moves_of(ticket).count("close") == 1


def test_ratio_with_mixed_choices_at_once_decides_once(world):
    people = board(10)
    ticket = start(world, "ratio", 0.5)
    results = signing_at_once(people, ticket, lambda i: "agree" if i % 2 else "reject")
    decided = fresh(ticket)
    events = moves_of(ticket)
    assert events.count("close") + events.count("advance") == 1, events
    assert decided.version == ticket.version + events.count("sign") + 1
    assert Signature.select().where(Signature.state == "signed").count() == events.count("sign")
    assert all(r in ("open", "closed") or isinstance(r, engine.Conflict) for r in results), results
