"""``flask --app app sla sweep``: overdue tickets are marked and notified once."""

from __future__ import annotations

from datetime import timedelta

from test_engine import new_ticket

from workflows.storage.models import Notification, Ticket, utcnow


def test_sla_sweep_command_marks_each_overdue_entry_once(world, runner):
    ticket = new_ticket(world)
    Ticket.update(due_at=utcnow() - timedelta(minutes=5)).where(Ticket.id == ticket.id).execute()
    first = runner.invoke(args=["sla", "sweep"])
    assert first.exit_code == 0 and first.output.strip() == f"1 ticket(s) newly overdue: {ticket.number}"
    assert runner.invoke(args=["sla", "sweep"]).output.strip() == "0 ticket(s) newly overdue"
    assert Notification.select().where(Notification.kind == "overdue").count() >= 1
