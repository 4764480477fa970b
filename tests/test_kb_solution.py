"""Closing with a solution (issue 23) on both databases: the step key ``x-solution``, the engine's refusal to
close without a chosen article when required, the choice's rules, "new article from this ticket", the report."""

from __future__ import annotations

import pytest
from conftest import example
from test_engine import FINANCE, advance, fresh
from test_kb_suggest import login, published
from test_search import at_finance

from workflows.kb import solutions
from workflows.processes import documents as docs
from workflows.storage.models import Article, AuditEntry, TicketSolution
from workflows.tickets.engine import Conflict, Forbidden, Invalid


def with_solution(mode: str = "required") -> dict:
    """The return-goods process whose last step (finance, closes the ticket) asks for a solution."""
    document = example("return_goods.process.json")
    next(s for s in document["steps"] if s["key"] == "finance")["x-solution"] = mode
    docs.save_process(document, publish=True)
    return document


def test_the_key_is_part_of_the_format_and_checked(world):
    document = with_solution()
    assert docs.get_version("return_goods").document["steps"][-1]["x-solution"] == "required"
    document["steps"][-1]["x-solution"] = "maybe"
    problems = docs.publish_problems(document)
    assert [p.path for p in problems] == ["/steps/3/x-solution"], problems


def test_closing_is_refused_until_a_solution_is_chosen(world):
    with_solution()
    article = published(world, "退款原路退回的处理", "财务审核后原路退回。")
    ticket = at_finance(world, "冰箱门坏了")
    assert solutions.policy(ticket) == "required"
    with pytest.raises(Invalid) as refused:
        advance(world, "fin1", ticket, FINANCE, action="close")
    assert "solution" in refused.value.fields and fresh(ticket).status == "open"
    solutions.choose(world["fin1"], ticket.number, article.number.lower())  # typed in any case
    advance(world, "fin1", ticket, FINANCE, action="close")
    assert fresh(ticket).status == "closed"
    [row] = TicketSolution.select()
    assert (row.ticket_id, row.article_id, row.chosen_by_id) == (ticket.id, article.id, world["fin1"].id)
    assert AuditEntry.select().where(AuditEntry.action == "ticket.solution", AuditEntry.target == ticket.number).count()


def test_an_optional_solution_and_a_step_without_the_key_close_without_one(world):
    with_solution("optional")
    ticket = at_finance(world, "冰箱门坏了")
    assert solutions.policy(ticket) == "optional"
    advance(world, "fin1", ticket, FINANCE, action="close")
    assert fresh(ticket).status == "closed"
    docs.save_process(example("return_goods.process.json"), publish=True)
    ticket = at_finance(world, "冰箱门坏了")
    assert solutions.policy(ticket) is None
    advance(world, "fin1", ticket, FINANCE, action="close")


def test_who_may_choose_and_what(world):
    with_solution()
    article = published(world, "退款原路退回的处理", "原路退回。")
    draft = solutions_draft(world)
    ticket = at_finance(world, "冰箱门坏了")
    with pytest.raises(Forbidden):
        solutions.choose(world["agent"], ticket.number, article.number)  # not its handler
    for wrong in (draft.number, "KB999999", ""):
        with pytest.raises(Invalid) as refused:
            solutions.choose(world["fin1"], ticket.number, wrong)
        assert "article" in refused.value.fields
    solutions.choose(world["fin_lead"], ticket.number, article.number)  # the handler's manager may act
    solutions.choose(world["fin1"], ticket.number, article.number)  # again: still one row
    assert TicketSolution.select().count() == 1
    advance(world, "fin1", ticket, FINANCE, action="close")
    with pytest.raises(Conflict):
        solutions.choose(world["admin"], ticket.number, article.number)  # closed


def solutions_draft(world) -> Article:
    from workflows.kb import articles

    return articles.create(world["admin"], title="草稿", body="未发布")


def test_a_new_article_from_the_ticket_goes_to_review_and_is_its_solution(world):
    with_solution()
    ticket = at_finance(world, "机密瑕疵描述 secretdefect")
    from workflows.tickets import collab

    collab.add_note(world["fin1"], ticket.number, "已与客户确认原路退款")
    headings = ("问题", "处理记录", "来源工单")
    with pytest.raises(Forbidden):
        solutions.from_ticket(world["fin1"], ticket.number, headings)  # a handler edits no article
    article = solutions.from_ticket(world["fin_lead"], ticket.number, headings)
    assert article.status == "review" and article.source_ticket_id == ticket.id
    assert "TH-1" in article.body and "已与客户确认原路退款" in article.body and ticket.number in article.body
    assert "secretdefect" in article.body  # fin_lead oversees fin1: sees every field
    title, body = solutions.draft_text(world["fin1"], fresh(ticket), headings)
    assert "secretdefect" not in body + title and "TH-1" in body  # what fin1 sees: the finance step hides it
    assert solutions.current(fresh(ticket)).article_id == article.id
    advance(world, "fin1", ticket, FINANCE, action="close")
    assert fresh(ticket).status == "closed"


def test_the_report_counts_tickets_per_article(world):
    with_solution()
    article = published(world, "退款原路退回的处理", "原路退回。")
    for _ in range(2):
        ticket = at_finance(world, "门坏了")
        solutions.choose(world["fin1"], ticket.number, article.number)
        advance(world, "fin1", ticket, FINANCE, action="close")
    assert [(a.number, n) for a, n in solutions.per_article(world["admin"])] == [(article.number, 2)]
    assert [n for _, n in solutions.per_article(world["sup"])] == [2]  # the service team's agent created them
    assert solutions.per_article(world["wh_lead"]) == []  # closed: no ticket of the warehouse team's now
    with pytest.raises(Forbidden):
        solutions.per_article(world["agent"])


def test_the_pages_choose_refuse_and_report(world, client):
    with_solution()
    article = published(world, "退款原路退回的处理", "原路退回。")
    ticket = at_finance(world, "冰箱门坏了")
    login(client, "fin1")
    page = client.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    assert 'data-lz-kb-policy="required"' in page and "lz-kb-draft" not in page  # fin1 is no editor
    answer = client.post(f"/tickets/{ticket.number}/act", data={
        "action": "advance", "version": fresh(ticket).version, "transition": "$end", "refund_amount": "19.99",
        "refund_channels": "original"}, follow_redirects=True)
    assert fresh(ticket).status == "open" and answer.status_code == 422
    listed = client.get(f"/suggest?text=原路退回&ticket={ticket.number}").get_data(as_text=True)
    assert "lz-kb-use" in listed and article.number in listed
    assert client.post(f"/tickets/{ticket.number}/solution", data={"article": "nope"}).status_code == 302
    assert TicketSolution.select().count() == 0
    assert client.post(f"/tickets/{ticket.number}/solution", data={"article": article.number}).status_code == 302
    assert solutions.current(ticket).article_id == article.id
    assert client.get("/reports/solutions").status_code == 403
    client.post("/logout")
    login(client, "agent")
    assert client.post(f"/tickets/{ticket.number}/solution", data={"article": article.number}).status_code == 403
    assert client.post("/tickets/TH000000000000/solution", data={"article": article.number}).status_code == 404
    client.post("/logout")
    login(client, "admin")
    assert article.number in client.get("/reports/solutions").get_data(as_text=True)
    assert 'href="/reports/solutions"' in client.get("/reports").get_data(as_text=True)  # linked from the reports
