"""Indexes for the reports: tickets by creation and closing time with their creator, events by action and time.

The ticket indexes cover the reports' "count by creator over a time range"
queries, so those read the index only, never the (wide) ticket rows.
"""


def up(migrator, db):
    migrator.migrate(
        migrator.drop_index("ticket", "ticket_created_at"),
        migrator.add_index("ticket", ("created_at", "creator_id"), False),
        migrator.add_index("ticket", ("closed_at", "creator_id"), False),
        migrator.add_index("ticket_event", ("action", "created_at"), False),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_index("ticket", "ticket_created_at_creator_id"),
        migrator.drop_index("ticket", "ticket_closed_at_creator_id"),
        migrator.drop_index("ticket_event", "ticket_event_action_created_at"),
        migrator.add_index("ticket", ("created_at",), False),
    )
