"""Login security: every login attempt (for lockouts) and a session version per user.

``login_attempt`` is counted by ``workflows.people.login`` across every worker and
host: recent failures by username and by address, newest first, so both
indexes lead with the key and end with the time. ``user.session_version`` is
bumped by a password change; a session stored with an older version is logged out.
"""
import datetime

from peewee import BooleanField, CharField, DateTimeField, IntegerField, Model


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class LoginAttempt(Base):
        username = CharField(max_length=64)
        ip = CharField(max_length=64)
        succeeded = BooleanField()
        locks_username = BooleanField(default=False)
        locks_ip = BooleanField(default=False)
        created_at = DateTimeField(default=datetime.datetime.utcnow)

        class Meta:
            indexes = ((("username", "created_at"), False), (("ip", "created_at"), False), (("created_at",), False))

    db.create_tables([LoginAttempt])
    migrator.migrate(migrator.add_column("user", "session_version", IntegerField(default=0)))


def down(migrator, db):
    migrator.migrate(migrator.drop_column("user", "session_version"))
    db.execute_sql('DROP TABLE IF EXISTS "login_attempt"')
