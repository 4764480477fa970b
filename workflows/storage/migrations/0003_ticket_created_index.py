"""Index tickets by creation time for the created-date filter of the lists and reports."""


def up(migrator, db):
    migrator.migrate(migrator.add_index("ticket", ("created_at",), False))


def down(migrator, db):
    migrator.migrate(migrator.drop_index("ticket", "ticket_created_at"))
