"""Tags on tickets (admin-managed, or free when allowed) and the admin settings table."""
import datetime

from peewee import BooleanField, CharField, DateTimeField, ForeignKeyField, JSONField, Model


def up(migrator, db):
    now = datetime.datetime.utcnow

    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Ticket(Base):
        class Meta:
            table_name = "ticket"

    class Tag(Base):
        name = CharField(max_length=32, unique=True)
        color = CharField(max_length=7, default="#6c757d")
        managed = BooleanField(default=True)
        created_at = DateTimeField(default=now)

    class TicketTag(Base):
        ticket = ForeignKeyField(Ticket, on_delete="CASCADE")
        tag = ForeignKeyField(Tag, on_delete="RESTRICT")
        created_at = DateTimeField(default=now)

        class Meta:
            indexes = ((("ticket", "tag"), True), (("tag", "ticket"), False))

    class Setting(Base):
        key = CharField(max_length=64, unique=True)
        value = JSONField(null=True)
        updated_at = DateTimeField(default=now)

    db.create_tables([Tag, TicketTag, Setting])


def down(migrator, db):
    for table in ("ticket_tag", "tag", "setting"):
        db.execute_sql(f'DROP TABLE IF EXISTS "{table}"')
