"""The audit log of admin changes: who, when, what, before and after."""
import datetime

from peewee import CharField, DateTimeField, ForeignKeyField, JSONField, Model


def up(migrator, db):
    now = datetime.datetime.utcnow

    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class User(Base):
        class Meta:
            table_name = "user"

    class AuditEntry(Base):
        actor = ForeignKeyField(User, null=True, on_delete="SET NULL")
        action = CharField(max_length=32)
        target = CharField(max_length=140)
        before = JSONField(null=True)
        after = JSONField(null=True)
        created_at = DateTimeField(default=now)

        class Meta:
            indexes = ((("target", "id"), False), (("created_at",), False))

    db.create_tables([AuditEntry])


def down(migrator, db):
    db.execute_sql('DROP TABLE IF EXISTS "audit_entry"')
