"""A customer's e-mail addresses: several per customer, each lower-cased and owned by one customer (issue 22).

Like :class:`CustomerPhone` for phones: every mail from one address must find the same
customer, so the address is a unique row of :class:`CustomerEmail`. ``Customer.email`` stays
the primary address (the customer page, the API, the customer's mail) and is always one of
the rows. Writes join the caller's transaction (savepoints).
"""

from __future__ import annotations

from peewee import IntegrityError

from workflows.storage.db import database
from workflows.storage.models import Customer, CustomerEmail


def clean(text: str | None) -> str:
    """An address as stored and compared: trimmed, lower-cased, at most 254 characters.

    A raw 8-bit header leaves undecoded bytes (surrogates) that no database takes: read as UTF-8.
    """
    text = (text or "").encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return text.strip().lower()[:254]


def owner(text: str | None) -> Customer | None:
    """The customer (perhaps merged away: the caller resolves) owning this address, or None."""
    email = clean(text)
    if not email:
        return None
    row = CustomerEmail.select(CustomerEmail.customer).where(CustomerEmail.email == email).first()
    if row is not None:
        return Customer.get_or_none(Customer.id == row.customer_id)
    # A primary address without its row (a duplicate the migration could not own): the oldest customer.
    return Customer.select().where(Customer.email == email).order_by(Customer.id).first()


def emails_of(customer: Customer) -> list[str]:
    """All addresses, the primary first."""
    rows = [e for (e,) in CustomerEmail.select(CustomerEmail.email).where(CustomerEmail.customer == customer)
            .order_by(CustomerEmail.id).tuples()]
    return sorted(rows, key=lambda email: email != customer.email)


def add(customer: Customer, text: str | None) -> bool:
    """Give ``customer`` this address unless another customer owns it; True when it is (now) theirs.

    The address stays with its first owner: two customers are made one only by a merge, never here.
    A concurrent insert of the same address loses quietly (the savepoint is rolled back).
    """
    email = clean(text)
    if not email:
        return False
    row = CustomerEmail.get_or_none(CustomerEmail.email == email)
    if row is not None:
        return row.customer_id == customer.id
    try:
        with database.atomic():
            CustomerEmail.create(customer=customer, email=email)
    except IntegrityError:
        return False
    return True


def move(keep: Customer, drop: Customer) -> int:
    """A merge: ``drop``'s addresses become ``keep``'s; the number moved."""
    return CustomerEmail.update(customer=keep).where(CustomerEmail.customer == drop).execute()
