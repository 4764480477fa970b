"""Satisfaction ratings (工单评价): one per ticket, given by the customer through a signed link."""
import datetime

from peewee import DateTimeField, ForeignKeyField, IntegerField, Model, TextField


def up(migrator, db):
    now = datetime.datetime.utcnow

    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Ticket(Base):
        class Meta:
            table_name = "ticket"

    class Rating(Base):
        ticket = ForeignKeyField(Ticket, unique=True, on_delete="CASCADE")
        score = IntegerField()
        comment = TextField(null=True)
        created_at = DateTimeField(default=now)

        class Meta:
            indexes = ((("created_at",), False),)

    db.create_tables([Rating])


def down(migrator, db):
    db.execute_sql('DROP TABLE IF EXISTS "rating"')
