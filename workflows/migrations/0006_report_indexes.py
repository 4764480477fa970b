"""Indexes for the reports: tickets by closing time, and events by action and time."""


def up(migrator, db):
    migrator.migrate(
        migrator.add_index("ticket", ("closed_at",), False),
        migrator.add_index("ticket_event", ("action", "created_at"), False),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_index("ticket", "ticket_closed_at"),
        migrator.drop_index("ticket_event", "ticket_event_action_created_at"),
    )
