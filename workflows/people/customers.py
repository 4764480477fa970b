"""Customers: one person is one record whatever way their phone number is typed.

Softphones, web forms and agents spell the same number differently (``138
0013 8000``, ``+86 13800138000``, ``138-0013-8000``). Every phone is stored
normalised in :class:`CustomerPhone` (unique, so a number names one customer)
and every lookup normalises first. Merging moves phones and tickets to the kept
customer and leaves the merged-away row pointing at it, so old links and
numbers still resolve. Writes join the caller's transaction (savepoints).
"""

from __future__ import annotations

import re

from peewee import IntegrityError

from formbuilder import Msg
from formbuilder.messages import N_
from workflows.people import customer_emails, phones
from workflows.storage import audit
from workflows.storage.db import database
from workflows.storage.models import Customer, CustomerPhone, Ticket, User
from workflows.storage.prepared import Prepared
from workflows.tickets.errors import Forbidden, Invalid

LEVELS = {"normal": N_("Normal"), "vip": N_("VIP"), "important": N_("Important")}  # 普通 / VIP / 重要
EDITORS = ("admin", "supervisor", "agent")
MERGERS = ("admin", "supervisor")
TEXT_FIELDS = {"name": 100, "email": 254, "company": 200, "region": 100, "notes": 4000}
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def normalize_phone(text: str | None) -> str:
    """The stored form of a phone in any spelling (``workflows/people/phones.py``, docs/phones.md).

    Kept here so every caller (call page, API, search, intake, migrations) normalises the same way.
    """
    return phones.normalize(text)


def resolve(customer: Customer | None) -> Customer | None:
    """The customer a merged-away one now lives in (itself when not merged)."""
    seen: set[int] = set()
    while customer is not None and customer.merged_into_id and customer.id not in seen:
        seen.add(customer.id)
        customer = Customer.get_or_none(Customer.id == customer.merged_into_id)
    return customer


BY_PHONE = Prepared(lambda phone: Customer.select().join(CustomerPhone).where(CustomerPhone.phone == phone).limit(1),
                    str)


def find_by_phone(text: str | None) -> Customer | None:
    """The (kept) customer owning this phone in any spelling, or None."""
    phone = normalize_phone(text)
    if not phone:
        return None
    owner = BY_PHONE.first(phone)
    if owner is not None:
        return resolve(owner)
    # A primary phone without its customer_phone row (a duplicate the migration could not own).
    return resolve(Customer.select().where(Customer.phone == phone).order_by(Customer.id).first())


def find_by_email(text: str | None) -> Customer | None:
    """The (kept) customer owning this address, any of their addresses, in any letter case; or None."""
    return resolve(customer_emails.owner(text))


def phones_of(customer: Customer) -> list[str]:
    """All phones, the primary first."""
    rows = [p for (p,) in CustomerPhone.select(CustomerPhone.phone).where(CustomerPhone.customer == customer)
            .order_by(CustomerPhone.id).tuples()]
    return sorted(rows, key=lambda phone: phone != customer.phone)


def _clean(fields: dict) -> tuple[dict, dict[str, list[Msg]]]:
    """Trimmed values ("" becomes null), with a message per field that is wrong."""
    values, errors = {}, {}
    for name, value in fields.items():
        text = (value or "").strip() if isinstance(value, str) or value is None else str(value)
        limit = TEXT_FIELDS.get(name)
        if limit and len(text) > limit:
            errors[name] = [Msg(N_("At most %(max)s characters."), {"max": limit})]
        values[name] = text or (None if name not in ("name", "level") else text)
    if values.get("email"):
        values["email"] = values["email"].lower()
        if not _EMAIL.fullmatch(values["email"]):
            errors["email"] = [Msg(N_("Not a valid e-mail address."))]
    if "level" in values and values["level"] not in LEVELS:
        errors["level"] = [Msg(N_("Not a valid choice."))]
    return values, errors


def save_customer(customer: Customer | None = None, *, phone: str | None = None, **fields) -> Customer:
    """Create (``customer`` None) or update a customer; only the given fields change.

    ``phone`` is added (normalised) and becomes the primary when there is none.
    Raises :class:`Invalid` naming each wrong field; nothing is written then.
    """
    values, errors = _clean(fields)
    if errors:
        raise Invalid(Msg(N_("The customer was not saved: see the fields.")), errors)
    with database.atomic():
        if customer is None:
            customer = Customer.create(**{"name": "", **values})
        elif values:
            for name, value in values.items():
                setattr(customer, name, value)
            customer.save()
            if {"name", "company"} & set(values):  # their tickets are found by the customer's name
                from workflows.search.index import reindex_customer
                reindex_customer(customer.id)
        if phone is not None and phone.strip():
            add_phone(customer, phone)
        if values.get("email"):
            customer_emails.add(customer, values["email"])  # stays its first owner's if another has it
    return customer


def _phone_error(phone: str, msgid: str, **params) -> Invalid:
    return Invalid(Msg(msgid, {"phone": phone, **params}), {"phone": [Msg(msgid, {"phone": phone, **params})]})


def add_phone(customer: Customer, text: str, check: bool = True) -> CustomerPhone:
    """Give ``customer`` one more phone (idempotent); another customer's phone is an error naming it.

    ``check`` off (channel intake, already checked by :func:`intake_errors`) accepts what
    :func:`normalize_phone` makes of the text; on, a text that is no number is refused at ``phone``.
    """
    try:
        phone = phones.canonical(text) if check else normalize_phone(text)[:32]
    except phones.PhoneError as error:
        raise _phone_error(error.text, error.msgid) from None
    if not phone:
        raise _phone_error(text.strip(), phones.NOT_A_PHONE)
    owner = CustomerPhone.get_or_none(CustomerPhone.phone == phone)
    if owner is not None and owner.customer_id != customer.id:
        raise _phone_error(phone, N_("%(phone)s already belongs to customer #%(id)s."), id=owner.customer_id)
    if owner is not None:
        return owner
    try:
        with database.atomic():
            row = CustomerPhone.create(customer=customer, phone=phone)
    except IntegrityError:  # taken by a concurrent writer between the check and the insert
        raise _phone_error(phone, N_("%(phone)s already belongs to another customer.")) from None
    if not customer.phone:
        customer.phone = phone
        customer.save(only=[Customer.phone])
    return row


def remove_phone(customer: Customer, text: str) -> None:
    """Drop one phone; when it was the primary, the next remaining one becomes primary."""
    phone = normalize_phone(text)
    with database.atomic():
        deleted = CustomerPhone.delete().where(CustomerPhone.customer == customer,
                                               CustomerPhone.phone == phone).execute()
        if not deleted:
            raise _phone_error(phone, N_("%(phone)s is not a phone of this customer."))
        if customer.phone == phone:
            remaining = phones_of(customer)
            customer.phone = remaining[0] if remaining else None
            customer.save(only=[Customer.phone])


INTAKE_FIELDS = ("name", "phone", "email")


def intake_errors(details: object) -> dict[str, list[Msg]]:
    """Messages at ``customer/<key>`` for a customer sub-object that is not ``{name?, phone?, email?}`` of text."""
    if not isinstance(details, dict):
        return {"customer": [Msg(N_("Wrong type of value."))]}
    errors = {}
    for key, value in details.items():
        if key not in INTAKE_FIELDS:
            errors[f"customer/{key}"] = [Msg(N_("Unknown field."))]
        elif value is not None and not isinstance(value, str):
            errors[f"customer/{key}"] = [Msg(N_("Wrong type of value."))]
        elif key == "phone" and value:
            errors.update(_intake_phone_error(value))
    return errors


def _intake_phone_error(text: str) -> dict[str, list[Msg]]:
    """A phone with letters is refused at ``customer/phone``; other odd digits are kept as typed."""
    try:
        phones.canonical(text)
    except phones.PhoneError as error:
        if error.msgid == phones.LETTERS:
            return {"customer/phone": [Msg(error.msgid, {"phone": error.text})]}
    return {}


def intake(details: dict | None) -> Customer | None:
    """The customer of a new ticket from ``{"name", "phone", "email"}``: found by phone (else e-mail), or created.

    A concurrent creation of the same new phone loses the insert and takes the winner's row.
    Raises :class:`Invalid` naming ``customer/<key>`` for a key or a value it cannot take.
    """
    errors = intake_errors(details) if details is not None else {}
    if errors:
        raise Invalid(Msg(N_("The customer was not saved: see the fields.")), errors)
    details = details or {}
    name, email = (details.get("name") or "").strip()[:100], (details.get("email") or "").strip()[:254]
    phone = normalize_phone(details.get("phone"))[:32]
    email = email if _EMAIL.fullmatch(email) else ""
    if not (phone or name or email):
        return None
    found = find_by_phone(phone) if phone else find_by_email(email)
    if found is not None:
        if email and customer_emails.add(found, email) and not found.email:
            found.email = email.lower()  # a caller known by phone gives an address: now the primary
            found.save(only=[Customer.email])
        return found
    try:
        with database.atomic():
            customer = save_customer(name=name, email=email or None)
            if phone:
                add_phone(customer, phone, check=False)
            elif email and customer_emails.owner(email) != customer:
                raise _Taken  # a concurrent intake owns the new address: this customer is rolled back
            return customer
    except Invalid:
        return find_by_phone(phone)
    except _Taken:
        return find_by_email(email)


class _Taken(Exception):
    """The address a new customer was to own was taken meanwhile."""


def snapshot(customer: Customer) -> dict:
    """The customer's fields and phones, as an audit entry records them."""
    return {"id": customer.id, "name": customer.name, "phone": customer.phone, "email": customer.email,
            "company": customer.company, "level": customer.level, "region": customer.region,
            "notes": customer.notes, "phones": phones_of(customer), "emails": customer_emails.emails_of(customer),
            "merged_into": customer.merged_into_id}


def update(actor: User, customer: Customer, *, add: str | None = None, remove: str | None = None,
           **fields) -> Customer:
    """An agent's (or above) edit: fields, one phone added and/or removed, audited, all or nothing."""
    if actor.role not in EDITORS:
        raise Forbidden(Msg(N_("Your role cannot edit customers.")))
    with database.atomic():
        before = snapshot(customer)
        if remove:
            remove_phone(customer, remove)
        save_customer(customer, phone=add, **fields)
        audit.record(actor, "customer.edit", f"customer:{customer.id}", before, snapshot(customer))
    return customer


def _merge_check(keep: Customer, drop: Customer, actor: User) -> None:
    if actor.role not in MERGERS:
        raise Forbidden(Msg(N_("Only supervisors and admins merge customers.")))
    if keep.id == drop.id or keep.merged_into_id or drop.merged_into_id:
        msg = Msg(N_("Customer #%(id)s cannot be merged into this one."), {"id": drop.id})
        raise Invalid(msg, {"other": [msg]})


def _locked(customer_id: int) -> Customer:
    """The row read afresh, locked on PostgreSQL (SQLite's IMMEDIATE transaction already serialises writers)."""
    query = Customer.select().where(Customer.id == customer_id)
    return (query.for_update() if getattr(database.obj, "for_update", False) else query).get()


def merge(keep: Customer, drop: Customer, actor: User) -> Customer:
    """Move ``drop``'s phones and tickets to ``keep`` and mark ``drop`` merged into it, in one transaction.

    Fields blank on ``keep`` take ``drop``'s values; customers merged into ``drop``
    earlier now point at ``keep`` directly, so every chain is one link long.
    """
    with database.atomic():
        keep, drop = _locked(keep.id), _locked(drop.id)
        _merge_check(keep, drop, actor)
        before = {"keep": snapshot(keep), "drop": snapshot(drop)}
        CustomerPhone.update(customer=keep).where(CustomerPhone.customer == drop).execute()
        customer_emails.move(keep, drop)
        moved = Ticket.update(customer=keep).where(Ticket.customer == drop).execute()
        Customer.update(merged_into=keep).where(Customer.merged_into == drop).execute()
        for name in ("name", "phone", "email", "company", "region", "notes"):
            if not getattr(keep, name) and getattr(drop, name):
                setattr(keep, name, getattr(drop, name))
        keep.save()
        drop.merged_into = keep
        drop.save(only=[Customer.merged_into])
        from workflows.search.index import reindex_customer  # the moved tickets now carry keep's name
        reindex_customer(keep.id)
        audit.record(actor, "customer.merge", f"customer:{keep.id}", before,
                     {"keep": snapshot(keep), "merged": drop.id, "tickets_moved": moved})
    return keep
