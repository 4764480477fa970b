"""``flask --app app worker``: the background process that sends webhook deliveries and queued e-mails.

Run as many as you like, on one host or several (same database, clocks in sync):
claiming is a conditional UPDATE (see :mod:`workflows.subscribers.webhooks`), so no delivery is
sent twice. ``--sla`` also runs the SLA sweep once a minute (warnings, overdue marks and
escalations, timeouts, the end of waits: ``workflows.tickets.sla``), which is safe to run in
several workers too (each ticket is claimed before anything fires). SIGTERM lets the
current batch finish before the worker exits.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
import uuid

import click
from flask.cli import with_appcontext
from peewee import InterfaceError, OperationalError

from workflows.intake import imap
from workflows.reporting import spikes
from workflows.storage import statistics
from workflows.storage.db import database
from workflows.subscribers import mail, robots, webhooks
from workflows.tickets import sla

SWEEP_EVERY = 60.0  # seconds between SLA sweeps with --sla


def worker_id() -> str:
    """Unique per process run, readable in the deliveries log: host, pid and a random tail."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _stop_on_sigterm(stop: threading.Event) -> None:
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())


def run_once(name: str, batch: int, with_sla: bool, last_sweep: float,
             with_mail: bool = True) -> tuple[dict[str, int], float]:
    """Send what is due (webhooks, e-mails), poll due IMAP mailboxes, and when asked, once a minute, sweep SLAs."""
    with database.connection_context():
        counts = webhooks.deliver_due(name, batch)
        counts.update({f"mail_{key}": value for key, value in mail.send_due(name, batch).items()})
        counts.update({f"robot_{key}": value for key, value in robots.deliver_due(name, batch).items()})
        counts.update(imap.counts(imap.poll_due(name)) if with_mail else {})  # docs/imap.md
        if with_sla and time.monotonic() - last_sweep >= SWEEP_EVERY:
            swept = sla.sweep()
            counts.update({"overdue": len(swept), **{f"sla_{k}": len(v) for k, v in swept.by_kind.items()
                                                     if k != "overdue"}})
            counts["sla_spikes"] = len(spikes.sweep())  # spike alerts of watched fields (docs/insight.md)
            last_sweep = time.monotonic()
    return counts, last_sweep


def _analyse_when_due(last: float) -> float:
    """Planner statistics once an hour (``storage.statistics``): a growing backlog keeps good plans."""
    if time.monotonic() - last < statistics.EVERY:
        return last
    try:
        with database.connection_context():
            statistics.refresh()
    except (OperationalError, InterfaceError) as error:
        click.echo(f"worker: statistics not refreshed ({error})", err=True)
    return time.monotonic()


def _survive(name: str, batch: int, with_sla: bool, last_sweep: float,
             with_mail: bool = True) -> tuple[dict[str, int], float]:
    """A long-running worker outlives a database restart: report, wait a round, try again."""
    try:
        return run_once(name, batch, with_sla, last_sweep, with_mail)
    except (OperationalError, InterfaceError) as error:
        click.echo(f"worker: database unavailable ({error}); retrying", err=True)
        return {}, last_sweep


def _summary(counts: dict[str, int]) -> str:
    """One line; the e-mail part only when the round sent or tried any (the webhook line stays as it was)."""
    text = "webhooks: {delivered} delivered, {pending} to retry, {failed} failed".format(**counts)
    if any(counts.get(f"mail_{key}") for key in ("sent", "pending", "failed")):
        text += "; e-mails: {mail_sent} sent, {mail_pending} to retry, {mail_failed} failed".format(**counts)
    if any(counts.get(f"robot_{key}") for key in ("delivered", "pending", "failed")):  # chat robots, docs/robots.md
        text += "; robots: {robot_delivered} delivered, {robot_pending} to retry, {robot_failed} failed".format(
            **counts)
    text += f"; {counts['overdue']} ticket(s) newly overdue" if "overdue" in counts else ""
    others = [f"{value} {key[4:]}" for key, value in counts.items() if key.startswith("sla_") and value]
    text += "; SLA: " + ", ".join(others) if others else ""
    if any(counts.get(key) for key in ("imap_handled", "imap_refused", "imap_errors")):
        text += "; IMAP: {imap_handled} handled, {imap_refused} refused, {imap_errors} mailbox(es) failed".format(
            **counts)
    return text


@click.command("worker")
@click.option("--once", is_flag=True, help="Process what is due now, then exit (for cron or tests).")
@click.option("--sla", "with_sla", is_flag=True, help="Also run the SLA sweep once a minute.")
@click.option("--idle", default=2.0, show_default=True, help="Seconds to sleep when nothing was due.")
@click.option("--batch", default=webhooks.BATCH, show_default=True, help="Deliveries claimed at a time.")
@click.option("--no-mail", "no_mail", is_flag=True, help="Do not poll the IMAP mailboxes (docs/imap.md).")
@with_appcontext
def worker_command(once: bool, with_sla: bool, idle: float, batch: int, no_mail: bool = False):
    """Send queued webhook deliveries and e-mails (retried with back-off); several workers may run at once."""
    name, stop, last_sweep = worker_id(), threading.Event(), -SWEEP_EVERY
    _stop_on_sigterm(stop)
    if with_sla:
        with database.connection_context():
            sla.catch_up()  # tickets written without a next check (before migration 0016), once
    analysed = time.monotonic()
    while not stop.is_set():
        counts, last_sweep = (run_once if once else _survive)(name, batch, with_sla, last_sweep, not no_mail)
        analysed = _analyse_when_due(analysed)
        if once or any(counts.values()):
            click.echo(_summary(counts))
        if once:
            return
        if not any(counts.values()):
            stop.wait(idle)
