"""Chat-robot notices (issue 22): WeCom, DingTalk and Feishu group robots and their queue of deliveries."""
import datetime

from peewee import BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField, JSONField, Model, TextField


def up(migrator, db):
    now = datetime.datetime.utcnow

    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Department(Base):
        id = IntegerField(primary_key=True)

        class Meta:
            table_name = "department"

    class Ticket(Base):
        id = IntegerField(primary_key=True)

        class Meta:
            table_name = "ticket"

    class RobotTarget(Base):
        name = CharField(max_length=100)
        platform = CharField(max_length=16)
        url = CharField(max_length=2000)
        secret = CharField(max_length=200, null=True)
        department = ForeignKeyField(Department, null=True, on_delete="RESTRICT")
        process = CharField(max_length=64, null=True)
        step = CharField(max_length=64, null=True)
        events = JSONField(default=list)
        active = BooleanField(default=True)
        created_at = DateTimeField(default=now)

        class Meta:
            table_name = "robot_target"

    class RobotDelivery(Base):
        target = ForeignKeyField(RobotTarget, on_delete="CASCADE")
        uuid = CharField(max_length=36, unique=True)
        kind = CharField(max_length=16)
        ticket = ForeignKeyField(Ticket, null=True, on_delete="SET NULL")
        payload = TextField()
        status = CharField(max_length=16, default="pending")
        attempts = IntegerField(default=0)
        next_attempt_at = DateTimeField(default=now)
        last_status_code = IntegerField(null=True)
        last_error = TextField(null=True)
        locked_by = CharField(max_length=100, null=True)
        locked_until = DateTimeField(null=True)
        created_at = DateTimeField(default=now)
        delivered_at = DateTimeField(null=True)

        class Meta:
            table_name = "robot_delivery"
            indexes = ((("status", "next_attempt_at"), False), (("target", "id"), False))

    db.create_tables([RobotTarget, RobotDelivery])


def down(migrator, db):
    db.execute_sql('DROP TABLE IF EXISTS "robot_delivery"')
    db.execute_sql('DROP TABLE IF EXISTS "robot_target"')
