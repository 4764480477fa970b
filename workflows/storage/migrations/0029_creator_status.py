"""Tickets by creator and status (issue 24): an agent's open list reads only the agent's open tickets.

"Mine" is a union of lookups (assigned, created, CC, countersign). The created one read every ticket
the user ever created, closed ones included, and only then kept the open ones: an agent creates 50
tickets a day, so every poll of the open list (1,000 pages every 15-60 s in the call-center day) read
more as the months went by. With this index the list's status filter is part of the lookup.
"""


def up(migrator, db):
    migrator.migrate(migrator.add_index("ticket", ("creator_id", "status", "id"), False))


def down(migrator, db):
    migrator.migrate(migrator.drop_index("ticket", "ticket_creator_id_status_id"))
