"""Dwell on the events that leave a step, and a covering index for the reports' event sums.

``ticket_event.dwell_seconds`` is the seconds since the ticket's previous move
(its latest earlier create, advance, return, close or reopen), each time cut
to the second; the engine writes it with each advance, return and close. This
fills it for the events already there, by the same rule. The index replaces
(action, created_at) with one that also holds the actor, the step and the
dwell, so the per-step and per-person sums read the index only.
"""
from peewee import IntegerField

LEAVES = "('advance', 'return', 'close')"
MOVES = "('create', 'advance', 'return', 'close', 'reopen')"
ENTERED = ('(SELECT e.created_at FROM ticket_event AS e WHERE e.ticket_id = ticket_event.ticket_id '
           f'AND e.id < ticket_event.id AND e.action IN {MOVES} ORDER BY e.id DESC LIMIT 1)')
SECONDS = {  # later - earlier, each cut to the second
    "sqlite": "CAST(strftime('%s', {later}) AS INTEGER) - CAST(strftime('%s', {earlier}) AS INTEGER)",
    "postgresql": "CAST(EXTRACT(EPOCH FROM date_trunc('second', {later}) - date_trunc('second', {earlier})) AS BIGINT)",
}


def up(migrator, db):
    migrator.migrate(migrator.add_column("ticket_event", "dwell_seconds", IntegerField(null=True)))
    seconds = SECONDS["postgresql" if "postgres" in type(db).__name__.lower() else "sqlite"]
    db.execute_sql(f'UPDATE ticket_event SET dwell_seconds = {seconds.format(later="created_at", earlier=ENTERED)} '
                   f'WHERE action IN {LEAVES}')
    migrator.migrate(
        migrator.drop_index("ticket_event", "ticket_event_action_created_at"),
        migrator.add_index("ticket_event", ("action", "created_at", "actor_id", "from_step", "dwell_seconds"), False),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_index("ticket_event", "ticket_event_action_created_at_actor_id_from_step_dwell_seconds"),
        migrator.add_index("ticket_event", ("action", "created_at"), False),
        migrator.drop_column("ticket_event", "dwell_seconds"),
    )
