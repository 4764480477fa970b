"""IMAP mailboxes the worker polls (issue 22, workflows/intake/imap.py, docs/imap.md)."""
import datetime

from peewee import BooleanField, CharField, DateTimeField, IntegerField, Model, TextField


def up(migrator, db):
    now = datetime.datetime.utcnow

    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Mailbox(Base):
        name = CharField(max_length=100, unique=True)
        host = CharField(max_length=255)
        port = IntegerField(default=993)
        security = CharField(max_length=16, default="ssl")
        username = CharField(max_length=255)
        password = CharField(max_length=255)
        folder = CharField(max_length=255, default="INBOX")
        after = CharField(max_length=16, default="seen")
        move_to = CharField(max_length=255, null=True)
        process = CharField(max_length=64, null=True)
        active = BooleanField(default=True)
        poll_every = IntegerField(default=60)
        next_poll_at = DateTimeField(default=now)
        last_poll_at = DateTimeField(null=True)
        last_ok = BooleanField(null=True)
        last_result = TextField(null=True)
        locked_by = CharField(max_length=100, null=True)
        locked_until = DateTimeField(null=True)
        created_at = DateTimeField(default=now)

    db.create_tables([Mailbox])


def down(migrator, db):
    db.execute_sql('DROP TABLE IF EXISTS "mailbox"')
