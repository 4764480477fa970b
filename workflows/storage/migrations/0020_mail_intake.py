"""Mail intake without loops or duplicates, one customer per address (issue 22).

- ``mail_intake``: every message the intake read and what became of it; ``claim`` is unique, so a
  Message-ID counts once (docs/mail.md, "Duplicates").
- ``customer_emails``: several addresses per customer, each lower-cased and unique. Backfilled from
  ``customer.email``: an address two customers share stays with the older one only (nothing is merged
  silently; an agent merges them afterwards, which moves the addresses too).
- ``email_message`` gets ``message_id`` (ours, for threading replies), ``auto_submitted`` and
  ``in_reply_to``.
"""
import datetime

from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField, Model


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Customer(Base):
        id = IntegerField(primary_key=True)
        email = CharField(max_length=254, null=True)

    class Ticket(Base):
        id = IntegerField(primary_key=True)

    class CustomerEmail(Base):
        customer = ForeignKeyField(Customer, on_delete="CASCADE")
        email = CharField(max_length=254, unique=True)

        class Meta:
            table_name = "customer_emails"

    class MailIntake(Base):
        message_id = CharField(max_length=255, index=True)
        claim = CharField(max_length=255, null=True, unique=True)
        sender = CharField(max_length=320, default="")
        subject = CharField(max_length=255, default="")
        received_at = DateTimeField(default=datetime.datetime.utcnow, index=True)
        outcome = CharField(max_length=16)
        reason = CharField(max_length=255, default="")
        ticket = ForeignKeyField(Ticket, null=True, on_delete="SET NULL")

        class Meta:
            table_name = "mail_intake"

    db.create_tables([CustomerEmail, MailIntake])
    migrator.migrate(migrator.add_column("email_message", "message_id", CharField(max_length=255, null=True)),
                     migrator.add_column("email_message", "auto_submitted", CharField(max_length=16, null=True)),
                     migrator.add_column("email_message", "in_reply_to", CharField(max_length=255, null=True)),
                     migrator.add_index("email_message", ("message_id",), False))
    _copy_emails(Customer, CustomerEmail)


def _copy_emails(customer_model, email_model) -> None:
    """Lower-case each stored address in place and give it a customer_emails row (the oldest customer wins)."""
    owners: set[str] = set()
    for row in customer_model.select().where(customer_model.email.is_null(False)).order_by(customer_model.id):
        email = (row.email or "").strip().lower()[:254] or None
        if email != row.email:
            customer_model.update(email=email).where(customer_model.id == row.id).execute()
        if email and email not in owners:
            owners.add(email)
            email_model.create(customer=row.id, email=email)


def down(migrator, db):
    db.execute_sql('DROP TABLE IF EXISTS "mail_intake"')
    db.execute_sql('DROP TABLE IF EXISTS "customer_emails"')
    migrator.migrate(migrator.drop_index("email_message", "email_message_message_id"),
                     *(migrator.drop_column("email_message", name)
                       for name in ("message_id", "auto_submitted", "in_reply_to")))
