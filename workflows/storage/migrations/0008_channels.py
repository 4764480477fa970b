"""Channel submissions: one row per public web form post, counted for the rate limit.

The limit lives in the database, not in a worker's memory, so it holds across
several workers and hosts.
"""
import datetime

from peewee import CharField, DateTimeField, Model


def up(migrator, db):
    now = datetime.datetime.utcnow

    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class ChannelSubmission(Base):
        channel = CharField(max_length=16)
        process = CharField(max_length=64)
        client = CharField(max_length=64)
        created_at = DateTimeField(default=now)

        class Meta:
            indexes = ((("client", "process", "created_at"), False), (("created_at",), False))

    db.create_tables([ChannelSubmission])


def down(migrator, db):
    db.execute_sql('DROP TABLE IF EXISTS "channel_submission"')
