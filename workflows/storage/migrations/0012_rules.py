"""Automation rules (自动化规则) and the log of their runs on tickets."""
import datetime

from peewee import BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField, Model, TextField


def up(migrator, db):
    now = datetime.datetime.utcnow

    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Ticket(Base):
        class Meta:
            table_name = "ticket"

    class Rule(Base):
        name = CharField(max_length=100)
        position = IntegerField(default=0)
        enabled = BooleanField(default=True)
        trigger = CharField(max_length=32)
        step = CharField(max_length=64, null=True)
        process = CharField(max_length=64, null=True)
        condition = TextField(default="{}")
        actions = TextField(default="[]")
        stop = BooleanField(default=False)
        created_at = DateTimeField(default=now)
        updated_at = DateTimeField(default=now)

        class Meta:
            indexes = ((("trigger", "enabled", "position"), False),)

    class RuleRun(Base):
        rule = ForeignKeyField(Rule, on_delete="CASCADE")
        ticket = ForeignKeyField(Ticket, on_delete="CASCADE")
        matched = BooleanField()
        error = TextField(null=True)
        created_at = DateTimeField(default=now)

        class Meta:
            indexes = ((("rule", "id"), False), (("ticket", "id"), False))

    db.create_tables([Rule, RuleRun])


def down(migrator, db):
    db.execute_sql('DROP TABLE IF EXISTS "rule_run"')
    db.execute_sql('DROP TABLE IF EXISTS "rule"')
