"""Spike alerts sent (issue 23): one row per (process, field, value, week), so a spike notifies once."""
import datetime

from peewee import CharField, DateTimeField, IntegerField, Model, TextField


def up(migrator, db):
    class SpikeAlert(Model):
        process = CharField(max_length=64)
        field = CharField(max_length=64)
        value = CharField(max_length=200)
        week = CharField(max_length=10)
        count = IntegerField()
        average = TextField()
        created_at = DateTimeField(default=datetime.datetime.utcnow)

        class Meta:
            database = db
            table_name = "spike_alert"
            indexes = ((("process", "field", "value", "week"), True),)

    db.create_tables([SpikeAlert])


def down(migrator, db):
    db.execute_sql('DROP TABLE IF EXISTS "spike_alert"')
