"""Organisation (users, departments, API tokens), customers, tickets and their history."""
import datetime

from peewee import (
    BooleanField,
    CharField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    JSONField,
    Model,
    TextField,
)


def up(migrator, db):
    now = datetime.datetime.utcnow

    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class ProcessVersion(Base):
        class Meta:
            table_name = "process_version"

    class Department(Base):
        code = CharField(max_length=64, unique=True)
        name = CharField(max_length=100)
        parent = ForeignKeyField("self", null=True)
        # The manager is a user, and users belong to departments: the cycle is
        # kept by the application, without a database constraint on this column.
        manager_id = IntegerField(null=True, index=True)

    class User(Base):
        username = CharField(max_length=64, unique=True)
        name = CharField(max_length=100)
        password_hash = CharField(max_length=255)
        role = CharField(max_length=16, index=True)
        department = ForeignKeyField(Department, null=True)
        active = BooleanField(default=True)
        created_at = DateTimeField(default=now)

    class ApiToken(Base):
        user = ForeignKeyField(User, on_delete="CASCADE")
        name = CharField(max_length=100, default="")
        token_hash = CharField(max_length=64, unique=True)
        created_at = DateTimeField(default=now)
        last_used_at = DateTimeField(null=True)

    class Customer(Base):
        name = CharField(max_length=100, default="")
        phone = CharField(max_length=32, null=True, index=True)
        created_at = DateTimeField(default=now)

    class Ticket(Base):
        number = CharField(max_length=40, unique=True)
        process_version = ForeignKeyField(ProcessVersion, on_delete="RESTRICT")
        step = CharField(max_length=64)
        status = CharField(max_length=16, default="open")
        priority = CharField(max_length=16, default="normal")
        assignee = ForeignKeyField(User, null=True)
        creator = ForeignKeyField(User)
        customer = ForeignKeyField(Customer, null=True)
        channel = CharField(max_length=32, null=True)
        data = JSONField(default=dict)
        version = IntegerField(default=1)
        created_at = DateTimeField(default=now)
        updated_at = DateTimeField(default=now)
        entered_at = DateTimeField(default=now)
        due_at = DateTimeField(null=True)
        overdue_at = DateTimeField(null=True)
        first_response_at = DateTimeField(null=True)
        closed_at = DateTimeField(null=True)

        class Meta:
            indexes = (
                (("assignee", "status", "id"), False),
                (("creator", "id"), False),
                (("customer", "id"), False),
                (("status", "due_at"), False),
            )

    class TicketEvent(Base):
        ticket = ForeignKeyField(Ticket, on_delete="CASCADE")
        action = CharField(max_length=16)
        from_step = CharField(max_length=64, null=True)
        to_step = CharField(max_length=64, null=True)
        actor = ForeignKeyField(User, null=True)
        assignee_before = ForeignKeyField(User, null=True)
        assignee_after = ForeignKeyField(User, null=True)
        diff = JSONField(default=dict)
        comment = TextField(null=True)
        created_at = DateTimeField(default=now)

        class Meta:
            indexes = ((("ticket", "id"), False), (("actor", "ticket"), False))

    class TicketCC(Base):
        ticket = ForeignKeyField(Ticket, on_delete="CASCADE")
        user = ForeignKeyField(User)

        class Meta:
            table_name = "ticket_cc"
            indexes = ((("ticket", "user"), True), (("user", "ticket"), False))

    class Attachment(Base):
        key = CharField(max_length=64, unique=True)
        ticket = ForeignKeyField(Ticket, null=True, on_delete="SET NULL")
        field = CharField(max_length=64, null=True)
        filename = CharField(max_length=255)
        mimetype = CharField(max_length=100)
        size = IntegerField()
        stored_name = CharField(max_length=64)
        uploaded_by = ForeignKeyField(User)
        created_at = DateTimeField(default=now)

    class Notification(Base):
        user = ForeignKeyField(User, on_delete="CASCADE")
        ticket = ForeignKeyField(Ticket, null=True, on_delete="CASCADE")
        kind = CharField(max_length=32)
        message = TextField()
        created_at = DateTimeField(default=now)
        read_at = DateTimeField(null=True)

        class Meta:
            indexes = ((("user", "read_at", "id"), False),)

    class TicketSequence(Base):
        prefix = CharField(max_length=16)
        day = CharField(max_length=8)
        value = IntegerField(default=0)

        class Meta:
            indexes = ((("prefix", "day"), True),)

    class AssignmentCursor(Base):
        scope = CharField(max_length=140, unique=True)
        last_user = ForeignKeyField(User, null=True)

    db.create_tables([Department, User, ApiToken, Customer, Ticket, TicketEvent, TicketCC, Attachment,
                      Notification, TicketSequence, AssignmentCursor])
