"""Format 2 flows (issue 19): pending, SLA warnings and timeouts, child and merged tickets,
countersign signatures, ticket links and working-time calendars.

``ticket.next_check_at`` is the earliest time the SLA worker has anything to do for a ticket
(a warning, the due time, a timeout, the end of a wait); its index lets the sweep read only
the tickets that are due instead of every open one.
"""
import datetime

from peewee import BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField, JSONField, Model, TextField

from workflows.storage.models import DocumentField

TIMES = ("pending_since", "pending_until", "warn_at", "warned_at", "timeout_at", "next_check_at")


def up(migrator, db):
    now = datetime.datetime.utcnow

    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Ticket(Base):
        id = IntegerField(primary_key=True)

        class Meta:
            table_name = "ticket"

    class User(Base):
        id = IntegerField(primary_key=True)

        class Meta:
            table_name = "user"

    class Calendar(Base):
        code = CharField(max_length=64, unique=True)
        name = CharField(max_length=200)
        document = DocumentField()
        revision = IntegerField(default=1)
        updated_at = DateTimeField(default=now)

    class Signature(Base):
        ticket = ForeignKeyField(Ticket, on_delete="CASCADE")
        step = CharField(max_length=64)
        entered_at = DateTimeField()
        signer = ForeignKeyField(User)
        state = CharField(max_length=16, default="waiting")
        decision = CharField(max_length=200, null=True)
        data = JSONField(default=dict)
        comment = TextField(null=True)
        signed_at = DateTimeField(null=True)
        created_at = DateTimeField(default=now)

        class Meta:
            indexes = ((("ticket", "entered_at", "signer"), False), (("signer", "state", "ticket"), False))

    class TicketLink(Base):
        ticket = ForeignKeyField(Ticket, on_delete="CASCADE")
        other = ForeignKeyField(Ticket, on_delete="CASCADE")
        kind = CharField(max_length=16, default="related")
        created_by = ForeignKeyField(User, null=True)
        created_at = DateTimeField(default=now)

        class Meta:
            indexes = ((("ticket", "other"), True), (("other", "ticket"), False))

    columns = [migrator.add_column("ticket", name, DateTimeField(null=True)) for name in TIMES]
    columns += [migrator.add_column("ticket", "parent_id",
                                    ForeignKeyField(Ticket, null=True, field=Ticket.id, on_delete="SET NULL")),
                migrator.add_column("ticket", "holds_parent", BooleanField(default=False)),
                migrator.add_column("ticket", "merged_into_id",
                                    ForeignKeyField(Ticket, null=True, field=Ticket.id, on_delete="SET NULL")),
                migrator.add_index("ticket", ("next_check_at",), False),
                migrator.add_index("ticket", ("parent_id", "id"), False)]
    migrator.migrate(*columns)
    db.create_tables([Calendar, Signature, TicketLink])


def down(migrator, db):
    for table in ("ticket_link", "signature", "calendar"):
        db.execute_sql(f'DROP TABLE IF EXISTS "{table}"')
    migrator.migrate(migrator.drop_index("ticket", "ticket_next_check_at"),
                     migrator.drop_index("ticket", "ticket_parent_id_id"),
                     *(migrator.drop_column("ticket", name) for name in
                       (*TIMES, "parent_id", "holds_parent", "merged_into_id")))
