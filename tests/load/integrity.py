"""Integrity of the database after a load run, compared with what the clients saw.

Each ticket's events (ordered by id) must form a valid path through its
published process, end where the ticket is, and match one to one the
successful answers the clients got; an event nobody saw confirmed is allowed
only where a client's connection broke mid-request (an unknown outcome).
"""

from __future__ import annotations

from collections import defaultdict

from harness import Recorder
from peewee import fn

from workflows.processes import documents as docs
from workflows.storage.models import ProcessVersion, Ticket, TicketEvent
from workflows.tickets.engine import END


def problems(recorder: Recorder) -> list[str]:
    """Every integrity problem found, one line each; empty when the database is consistent."""
    events: dict[int, list[TicketEvent]] = defaultdict(list)
    for event in TicketEvent.select().order_by(TicketEvent.id):
        events[event.ticket_id].append(event)
    tickets = list(Ticket.select(Ticket, ProcessVersion).join(ProcessVersion))
    found = _duplicates() + [f"event(s) of missing ticket {t}" for t in set(events) - {t.id for t in tickets}]
    for ticket in tickets:
        found += path_problems(ticket, events[ticket.id]) or seen_problems(ticket, events[ticket.id], recorder)
    found += _lost_or_unseen(recorder, tickets)
    return found


def _duplicates() -> list[str]:
    rows = Ticket.select(Ticket.number).group_by(Ticket.number).having(fn.COUNT(Ticket.id) > 1).tuples()
    return [f"{number}: number used twice" for (number,) in rows]


class Walk:
    """Replays one ticket's events: where it stands, how it entered each step, its data."""

    def __init__(self, version: ProcessVersion):
        self.version, self.steps = version, {step["key"]: step for step in version.document["steps"]}
        self.entered: dict[str, str] = {}
        self.closed_from: str | None = None
        self.data: dict = {}

    def allowed(self, event: TicketEvent) -> bool:
        """Whether ``event`` is a move the engine may make from where the ticket was; then takes it."""
        self.data = {k: after for k, after in {**self.data, **{k: d[1] for k, d in event.diff.items()}}.items()
                     if after is not None}
        source, target, action = event.from_step, event.to_step, event.action
        if action in ("create", "advance", "close"):
            self.entered[target] = source
            self.closed_from = source if action == "close" else self.closed_from
            return target in self._offered(source) and (target == END) == (action == "close")
        if action == "return":
            return bool(self.steps.get(source, {}).get("allow_return")) and target == self.entered.get(source)
        if action == "transfer":
            return target == source
        return action == "reopen" and source == END and target == self.closed_from

    def _offered(self, source: str) -> list[str]:
        """The transitions of ``source`` whose conditions hold for the data as it then was."""
        if source not in self.steps:
            return []
        return [t["to"] for t in docs.compiled(self.version, source).spec.offered(self.data)]


def path_problems(ticket: Ticket, events: list[TicketEvent]) -> list[str]:
    """The events walk the process from its first step, and the ticket stands where the last one left it."""
    walk = Walk(ticket.process_version)
    first = ticket.process_version.document["steps"][0]["key"]
    if not events or events[0].action != "create" or events[0].from_step != first:
        return [f"{ticket.number}: does not start with a create event from {first}"]
    found = []
    for previous, event in zip([None, *events], events, strict=False):
        if previous is not None and event.from_step != previous.to_step:
            found.append(f"{ticket.number}: event {event.id} leaves {event.from_step}, ticket was at "
                         f"{previous.to_step}")
        if not walk.allowed(event):
            found.append(f"{ticket.number}: event {event.id} {event.action} {event.from_step}->{event.to_step} "
                         "follows no transition")
    return found + end_problems(ticket, events[-1], len(events), walk.data)


def end_problems(ticket: Ticket, last: TicketEvent, count: int, data: dict) -> list[str]:
    """The ticket row holds what its last event left: step, handler, version, status and data."""
    found = []
    if (ticket.step, ticket.assignee_id, ticket.version) != (last.to_step, last.assignee_after_id, count):
        found.append(f"{ticket.number}: half-applied: ticket at {ticket.step}/{ticket.assignee_id}/v{ticket.version}"
                     f", events end at {last.to_step}/{last.assignee_after_id} after {count}")
    if (ticket.status == "closed") != (ticket.step == END):
        found.append(f"{ticket.number}: status {ticket.status} at step {ticket.step}")
    if ticket.data != data:
        found.append(f"{ticket.number}: data {ticket.data} is not what the events changed: {data}")
    return found


def seen_problems(ticket: Ticket, events: list[TicketEvent], recorder: Recorder) -> list[str]:
    """Every confirmed answer has its event; any other event needs a broken connection to explain it."""
    confirmed = recorder.confirmed.get(ticket.number, {})
    found = []
    for version, (action, step) in sorted(confirmed.items()):
        event = events[version - 1] if version <= len(events) else None
        if event is None or event.action != action or step not in (None, event.to_step):
            found.append(f"{ticket.number}: answer v{version} {action}->{step} has no matching event")
    unseen = len(events) - len(confirmed) - (1 not in confirmed)  # an unseen creation is counted globally
    if unseen > recorder.unknown[ticket.number]:
        found.append(f"{ticket.number}: {unseen} event(s) no client saw succeed, "
                     f"{recorder.unknown[ticket.number]} unknown outcome(s)")
    return found


def _lost_or_unseen(recorder: Recorder, tickets: list[Ticket]) -> list[str]:
    """Confirmed tickets all exist; tickets nobody saw created are at most the creations that broke."""
    numbers = {ticket.number for ticket in tickets}
    found = [f"{number}: confirmed by the server, missing in the database"
             for number in recorder.confirmed if number not in numbers]
    unseen = sum(1 for ticket in tickets if 1 not in recorder.confirmed.get(ticket.number, {}))
    if unseen > recorder.unknown[""]:
        found.append(f"{unseen} ticket(s) no client saw created, {recorder.unknown['']} unknown creation(s)")
    return found
