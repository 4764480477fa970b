"""Outgoing e-mail: the outbox the worker sends from, and the three customer templates (seeded in Chinese).

The seeded texts are copied here, not imported, so this migration stays what it was
when later code changes its defaults.
"""
import datetime

from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField, Model, TextField

GREETING = "{customer} 您好：\n\n您的「{process}」工单 {number} "
FOOTER = "\n\n此邮件由系统自动发送，请勿直接回复。"
TEMPLATES = [
    ("created", "您的工单 {number} 已受理",
     GREETING + "已受理，当前处理步骤：{step}。\n查看处理进度：{link}" + FOOTER),
    ("step", "您的工单 {number} 有新进展：{step}",
     GREETING + "已进入「{step}」，状态：{status}。\n查看处理进度：{link}" + FOOTER),
    ("closed", "您的工单 {number} 已办结",
     GREETING + "已处理完毕。\n查看处理结果：{link}" + FOOTER),
]


def up(migrator, db):
    now = datetime.datetime.utcnow

    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Ticket(Base):
        class Meta:
            table_name = "ticket"

    class EmailMessage(Base):
        to_addr = CharField(max_length=320)
        subject = CharField(max_length=998)
        body = TextField()
        ticket = ForeignKeyField(Ticket, null=True, on_delete="SET NULL")
        event = CharField(max_length=40, null=True)
        status = CharField(max_length=16, default="pending")
        attempts = IntegerField(default=0)
        next_attempt_at = DateTimeField(default=now)
        last_error = TextField(null=True)
        locked_by = CharField(max_length=100, null=True)
        locked_until = DateTimeField(null=True)
        created_at = DateTimeField(default=now)
        sent_at = DateTimeField(null=True)

        class Meta:
            indexes = ((("status", "next_attempt_at"), False), (("ticket", "id"), False))

    class EmailTemplate(Base):
        event = CharField(max_length=16, unique=True)
        subject = CharField(max_length=200)
        body = TextField()
        updated_at = DateTimeField(default=now)

    db.create_tables([EmailMessage, EmailTemplate])
    EmailTemplate.insert_many([{"event": e, "subject": s, "body": b, "updated_at": now()} for e, s, b in TEMPLATES]
                              ).execute()


def down(migrator, db):
    db.execute_sql('DROP TABLE IF EXISTS "email_message"')
    db.execute_sql('DROP TABLE IF EXISTS "email_template"')
