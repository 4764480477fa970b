"""Customers get e-mail, company, level, region, notes, a merge link and several phones.

Existing phones are normalised (``workflows.people.customers.normalize_phone``) and
copied into ``customer_phones``, so the call page finds a caller registered
before this migration whatever spelling the softphone sends. Two old rows
whose phones normalise alike keep the number on the older row only (the
unique index allows one owner); an agent can merge them afterwards.
"""
from peewee import CharField, ForeignKeyField, IntegerField, Model, TextField

from workflows.people.customers import normalize_phone


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Customer(Base):
        id = IntegerField(primary_key=True)
        phone = CharField(max_length=32, null=True)

    class CustomerPhone(Base):
        customer = ForeignKeyField(Customer, on_delete="CASCADE")
        phone = CharField(max_length=32, unique=True)

        class Meta:
            table_name = "customer_phones"  # "customer_phone" names customer.phone's index

    migrator.migrate(*_columns(migrator, Customer))
    db.create_tables([CustomerPhone])
    _copy_phones(Customer, CustomerPhone)


def _columns(migrator, customer_model) -> list:
    """The new customer columns; ``merged_into`` references the table itself."""
    merged = ForeignKeyField(customer_model, null=True, field=customer_model.id)
    return [migrator.add_column("customer", "email", CharField(max_length=254, null=True)),
            migrator.add_column("customer", "company", CharField(max_length=200, null=True)),
            migrator.add_column("customer", "level", CharField(max_length=16, default="normal")),
            migrator.add_column("customer", "region", CharField(max_length=100, null=True)),
            migrator.add_column("customer", "notes", TextField(null=True)),
            migrator.add_column("customer", "merged_into_id", merged),
            migrator.add_index("customer", ("email",), False)]


def _copy_phones(customer_model, phone_model) -> None:
    """Normalise each stored phone in place and give it a customer_phone row (oldest customer wins)."""
    owners: set[str] = set()
    for row in customer_model.select().where(customer_model.phone.is_null(False)).order_by(customer_model.id):
        phone = normalize_phone(row.phone)[:32] or None
        if phone != row.phone:
            customer_model.update(phone=phone).where(customer_model.id == row.id).execute()
        if phone and phone not in owners:
            owners.add(phone)
            phone_model.create(customer=row.id, phone=phone)


def down(migrator, db):
    db.execute_sql('DROP TABLE IF EXISTS "customer_phones"')
    migrator.migrate(migrator.drop_index("customer", "customer_email"),
        *(migrator.drop_column("customer", name) for name in
          ("email", "company", "level", "region", "notes", "merged_into_id")))
