"""Saved workspace views (issue 21), and the (updated_at, id) index the list's "recently updated" sort reads."""
import datetime

from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField, Model

from workflows.storage.models import DocumentField


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class User(Base):
        id = IntegerField(primary_key=True)

        class Meta:
            table_name = "user"

    class Department(Base):
        id = IntegerField(primary_key=True)

        class Meta:
            table_name = "department"

    class SavedView(Base):
        owner = ForeignKeyField(User, on_delete="CASCADE")
        name = CharField(max_length=60)
        query = DocumentField()
        department = ForeignKeyField(Department, null=True, on_delete="SET NULL")
        created_at = DateTimeField(default=datetime.datetime.utcnow)
        updated_at = DateTimeField(default=datetime.datetime.utcnow)

        class Meta:
            table_name = "saved_view"
            indexes = ((("owner", "name"), True), (("department",), False))

    db.create_tables([SavedView])
    db.execute_sql('CREATE INDEX IF NOT EXISTS "ticket_updated_at_id" ON "ticket" ("updated_at", "id")')


def down(migrator, db):
    db.execute_sql('DROP INDEX IF EXISTS "ticket_updated_at_id"')
    db.execute_sql('DROP TABLE IF EXISTS "saved_view"')
