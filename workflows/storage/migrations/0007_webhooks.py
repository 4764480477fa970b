"""Webhooks: endpoints (URL, secret, subscribed events) and the queue of signed deliveries."""
import datetime

from peewee import BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField, JSONField, Model, TextField


def up(migrator, db):
    now = datetime.datetime.utcnow

    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class WebhookEndpoint(Base):
        name = CharField(max_length=100)
        url = CharField(max_length=2000)
        secret = CharField(max_length=128)
        events = JSONField(default=list)
        active = BooleanField(default=True)
        created_at = DateTimeField(default=now)

    class WebhookDelivery(Base):
        endpoint = ForeignKeyField(WebhookEndpoint, on_delete="CASCADE")
        uuid = CharField(max_length=36, unique=True)
        event = CharField(max_length=40)
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
            indexes = ((("status", "next_attempt_at"), False), (("endpoint", "id"), False))

    db.create_tables([WebhookEndpoint, WebhookDelivery])


def down(migrator, db):
    db.execute_sql('DROP TABLE IF EXISTS "webhook_delivery"')
    db.execute_sql('DROP TABLE IF EXISTS "webhook_endpoint"')
