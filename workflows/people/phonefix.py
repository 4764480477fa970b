"""Stored phones brought to the canonical form, and the customers that then share a number merged.

Phones stored before ``workflows/people/phones.py`` (issue 22) were digits as dialled in
China: ``01088886666`` and ``861088886666`` were two customers, the same landline. Migration
0022 and ``flask --app app customers renormalize`` run :func:`renormalize`: every
``customer.phone`` and ``customer_phones.phone`` becomes :func:`phones.normalize` of itself,
and customers whose phones now meet are merged with the semantics of
``customers.merge`` (phones, addresses and tickets move to the oldest, the merged-away row
points at it, blank fields are filled), one audit entry ``customer.merge`` per merge with no
actor. A second run finds nothing to do. ``--dry-run`` prints the same report, writing nothing.

Columns are named explicitly (never ``Model.select()``), so the migration keeps working after
later migrations add columns to these tables.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import click
from flask.cli import AppGroup

from workflows.people import customer_emails, phones
from workflows.storage.db import database
from workflows.storage.models import AuditEntry, Customer, CustomerEmail, CustomerPhone, Ticket

FIELDS = ("name", "phone", "email", "company", "region", "notes")
WIDTH = 32  # CustomerPhone.phone and Customer.phone


@dataclass
class Report:
    """What a run changes: ``(table, row id, old, new)`` per phone, ``(keep, drop, phones)`` per merge."""

    changes: list[tuple[str, int, str, str]] = field(default_factory=list)
    merges: list[tuple[int, int, list[str]]] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"{table} #{row}: {old} -> {new}" for table, row, old, new in self.changes]
        out += [f"merge customer #{drop} into #{keep} (shared: {', '.join(shared)})"
                for keep, drop, shared in self.merges]
        return [*out, f"{len(self.changes)} phones change, {len(self.merges)} customers merged"]


def stored(text: str | None) -> str | None:
    """The canonical form of a stored phone (None stays None)."""
    return None if text is None else (phones.normalize(text)[:WIDTH] or None)


def plan() -> Report:
    """The report of a run, read from the database without writing."""
    customers = {i: (phone, merged) for i, phone, merged in
                 Customer.select(Customer.id, Customer.phone, Customer.merged_into).tuples()}
    rows = list(CustomerPhone.select(CustomerPhone.id, CustomerPhone.customer, CustomerPhone.phone).tuples())
    report = Report()
    report.changes += [("customer_phones", i, old, stored(old)) for i, _, old in rows if stored(old) != old]
    report.changes += [("customer", i, old, stored(old)) for i, (old, _) in sorted(customers.items())
                       if old is not None and stored(old) != old]
    owners: dict[str, set[int]] = defaultdict(set)
    for _, customer, old in rows:
        owners[stored(old)].add(_kept(customers, customer))
    for i, (old, merged) in customers.items():
        if old and not merged:
            owners[stored(old)].add(i)
    owners.pop(None, None)  # a blank stored phone names no one
    report.merges = _merges(owners)
    return report


def _kept(customers: dict, customer_id: int) -> int:
    """The customer a merged-away one lives in (itself when not merged)."""
    seen = set()
    while customers[customer_id][1] and customer_id not in seen:
        seen.add(customer_id)
        customer_id = customers[customer_id][1]
    return customer_id


def _merges(owners: dict[str, set[int]]) -> list[tuple[int, int, list[str]]]:
    """Customers sharing a phone, joined transitively; each group merges into its oldest (lowest id)."""
    parent: dict[int, int] = {}

    def root(i: int) -> int:
        while parent.get(i, i) != i:
            i = parent[i]
        return i

    for ids in owners.values():
        first, *others = sorted(ids)
        for other in others:
            a, b = sorted((root(first), root(other)))
            parent[b] = a
    shared: dict[int, list[str]] = defaultdict(list)
    for phone, ids in sorted(owners.items()):
        for i in ids if len(ids) > 1 else ():
            shared[i].append(phone)
    return [(root(i), i, shared[i]) for i in sorted(parent) if root(i) != i]


def renormalize(write: bool = True, reindex: bool = True) -> Report:
    """Plan, and with ``write`` do it in one transaction; returns the report either way."""
    report = plan()
    if not write or not (report.changes or report.merges):
        return report
    with Customer._meta.database.atomic():  # the migration may have bound the models to its own database
        for keep, drop, shared in report.merges:
            merge(keep, drop, shared)
        _rewrite_phones()
        if reindex and report.merges:
            from workflows.search.index import reindex_customer  # the moved tickets carry the kept name
            for keep in sorted({keep for keep, _, _ in report.merges}):
                reindex_customer(keep)
    return report


def snapshot(customer_id: int) -> dict:
    """The customer as ``customers.snapshot`` records it in an audit entry."""
    columns = [getattr(Customer, name) for name in (*FIELDS, "level")]
    values = Customer.select(*columns, Customer.merged_into).where(Customer.id == customer_id).dicts().get()
    phone_rows = CustomerPhone.select(CustomerPhone.phone).where(CustomerPhone.customer == customer_id)
    values["merged_into"] = values.pop("merged_into", None)
    return {"id": customer_id, **values, "phones": sorted(p for (p,) in phone_rows.tuples()),
            "emails": [e for (e,) in CustomerEmail.select(CustomerEmail.email)
                       .where(CustomerEmail.customer == customer_id).order_by(CustomerEmail.id).tuples()]}


def merge(keep: int, drop: int, shared: list[str]) -> int:
    """``customers.merge`` without an actor: phones, addresses, tickets and earlier merges move to ``keep``."""
    before = {"keep": snapshot(keep), "drop": snapshot(drop)}
    CustomerPhone.update(customer=keep).where(CustomerPhone.customer == drop).execute()
    customer_emails.move(keep, drop)
    moved = Ticket.update(customer=keep).where(Ticket.customer == drop).execute()
    Customer.update(merged_into=keep).where(Customer.merged_into == drop).execute()
    blanks = {getattr(Customer, name): before["drop"][name] for name in FIELDS
              if not before["keep"][name] and before["drop"][name]}
    if blanks:
        Customer.update(blanks).where(Customer.id == keep).execute()
    Customer.update(merged_into=keep).where(Customer.id == drop).execute()
    AuditEntry.create(actor=None, action="customer.merge", target=f"customer:{keep}", before=before,
                      after={"keep": snapshot(keep), "merged": drop, "tickets_moved": moved,
                             "reason": "phone renormalisation", "phones": shared})  # as audit.record writes it
    return moved


def _rewrite_phones() -> None:
    """Every phone row to its canonical form: a duplicate row is deleted first (its owner was merged)."""
    groups: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for i, old in CustomerPhone.select(CustomerPhone.id, CustomerPhone.phone).order_by(CustomerPhone.id).tuples():
        groups[stored(old)].append((i, old))
    duplicates = [i for new, rows in groups.items() for i, _ in (rows if new is None else rows[1:])]
    if duplicates:
        CustomerPhone.delete().where(CustomerPhone.id.in_(duplicates)).execute()
    for new, ((i, old), *_) in groups.items():
        if new is not None and new != old:
            CustomerPhone.update(phone=new).where(CustomerPhone.id == i).execute()
    for i, old in Customer.select(Customer.id, Customer.phone).where(Customer.phone.is_null(False)).tuples():
        if stored(old) != old:
            Customer.update(phone=stored(old)).where(Customer.id == i).execute()


customers_cli = AppGroup("customers", help="Customers (客户).")


@customers_cli.command("renormalize")
@click.option("--dry-run", is_flag=True, help="Print the report only; write nothing.")
def renormalize_command(dry_run):
    """Bring stored phones to the canonical form (docs/phones.md) and merge the customers that meet."""
    with database.connection_context():
        report = renormalize(write=not dry_run)
    for line in report.lines():
        click.echo(line)
    if dry_run:
        click.echo("dry run: nothing written")
