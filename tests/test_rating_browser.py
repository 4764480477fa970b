"""The star rating in Debian's Chromium: picked by keyboard and pointer, saved, shown read-only.

Under the strict Content-Security-Policy, on both databases: ``static/js/liveform.js``
loads ``static/js/fields/rating.js`` for the rating field by its type's name; any
console error or policy violation fails the test (``test_csp_browser.person``).
"""

from __future__ import annotations

import pytest
from conftest import screenshot
from playwright.sync_api import expect
from test_csp_browser import person  # noqa: F401 - the fixture: a logged-in page that fails on errors
from test_rating_field import VISIT

from workflows.processes import documents as docs
from workflows.storage.db import database
from workflows.storage.models import Ticket, User
from workflows.tickets import engine


@pytest.fixture
def rate_ticket(seeded, users):
    """A visit waiting at 评分 for the agent who registered it."""
    with database.connection_context():
        docs.save_process(VISIT, publish=True)
        return engine.create(User.get(User.username == "agent"), "visit", {"summary": "上门安装"}).number


def lit(page):
    return page.locator("fieldset[data-lz-field=stars] .lz-star.text-warning")


def test_four_stars_picked_by_keyboard_are_saved_and_shown_read_only(person, rate_ticket):  # noqa: F811
    page = person("agent")
    page.goto(f"/tickets/{rate_ticket}")
    stars = page.locator("fieldset[data-lz-field=stars]")
    expect(stars).to_have_attribute("data-lz-mode", "required")
    expect(lit(page)).to_have_count(0)
    stars.locator("input[type=radio][value='1']").focus()  # tabbed to: the first star, none picked yet
    for _ in range(3):
        page.keyboard.press("ArrowRight")  # the arrows pick, as in any radio group: 2, 3, 4
    expect(lit(page)).to_have_count(4)
    stars.locator("label.lz-star").nth(1).click()  # the pointer: the second star
    expect(lit(page)).to_have_count(2)
    page.keyboard.press("4")  # the keys 1-5 pick directly
    expect(lit(page)).to_have_count(4)
    expect(stars.locator("input[type=radio][value='4']")).to_be_checked()
    expect(stars.locator("label.lz-star.focus")).to_have_count(1)  # the focused star is ringed
    screenshot(page, "rating-picked")
    with page.expect_navigation():
        page.get_by_role("button", name="提交复核", exact=True).click()
    with database.connection_context():
        ticket = Ticket.get(Ticket.number == rate_ticket)
        assert (ticket.step, ticket.data["stars"]) == ("review", 4)
    page.goto(f"/tickets/{rate_ticket}")
    expect(stars).to_have_attribute("data-lz-mode", "readonly")
    expect(lit(page)).to_have_count(4)
    expect(stars.locator("input[type=radio][value='4']")).to_be_disabled()
    screenshot(page, "rating-read-only")
