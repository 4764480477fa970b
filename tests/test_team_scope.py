"""The team scope is a subquery on departments (issue 24): its SQL does not grow with the team."""

from __future__ import annotations

from test_engine import REGISTER

from workflows.people import org
from workflows.reporting.queries import scope_condition, ticket_list
from workflows.storage.models import Ticket
from workflows.tickets import engine


def team_sql(user) -> tuple[str, list]:
    return Ticket.select(Ticket.id).where(scope_condition(user, "team")).sql()


def test_the_team_condition_names_departments_not_people(world):
    before = team_sql(world["sup"])
    for i in range(30):
        org.create_user(f"agent{i:02d}", "password1", "agent", "service")
    after = team_sql(world["sup"])
    assert after == before and len(after[1]) < 10


def test_the_team_list_holds_what_its_members_created_or_hold(world):
    mine = engine.create(world["agent"], "return_goods", dict(REGISTER))  # at approval, with a service supervisor
    assert mine.number in [t.number for t in ticket_list(world["sup"], "team").tickets]
    assert mine.number not in [t.number for t in ticket_list(world["wh_lead"], "team").tickets]
