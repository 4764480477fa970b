"""Suggestions while typing (issue 23) on both databases: articles and similar closed tickets, only what the
reader may read, open and see.

Tickets go through the engine (so the search index is what its subscriber wrote); articles through
``workflows.kb.articles`` (created, submitted, published by the admin).
"""

from __future__ import annotations

from test_engine import FINANCE, advance, fresh
from test_search import at_finance, make

from workflows.kb import articles
from workflows.kb.suggest import suggest, ticket_text
from workflows.storage.models import Article, Ticket


def published(world, title: str, body: str, visibility: str = "internal") -> Article:
    article = articles.create(world["admin"], title=title, body=body, visibility=visibility)
    articles.submit(world["admin"], article.number)
    return articles.publish(world["admin"], article.number)


def closed(world, defect: str) -> Ticket:
    """A return refused at approval: closed, readable by its creator (agent) and its approver."""
    ticket = make(world, defect)
    advance(world, fresh(ticket).assignee.username, ticket, {"approval": "reject", "reject_reason": "超期"},
            transition="$end")
    return fresh(ticket)


def numbers(found) -> list[str]:
    return [x.number for x in found]


def test_a_typed_sentence_finds_articles_and_similar_closed_tickets(world):
    fridge = published(world, "冰箱不制冷的处理办法", "先检查电源，再检查温控器。")
    published(world, "洗衣机漏水", "检查排水管。")
    draft = articles.create(world["admin"], title="冰箱不制冷 草稿", body="未发布")
    old = closed(world, "冰箱不制冷，要求退货")
    still_open = make(world, "冰箱不制冷")  # open tickets are the call page's duplicates, not suggestions
    found, cases = suggest(world["agent"], "客户说家里冰箱不制冷了")
    assert numbers(found) == [fridge.number] and draft.number not in numbers(found)
    assert numbers(cases) == [old.number] and still_open.number not in numbers(cases)
    assert suggest(world["agent"], "冰") == ([], []) and suggest(world["agent"], "  ") == ([], [])


def test_a_closed_ticket_the_reader_may_not_open_is_never_suggested(world):
    published(world, "冰箱不制冷的处理办法", "检查温控器。")
    old = closed(world, "冰箱不制冷")
    for who in ("fin1", "agent2", "wh1"):  # none created, handled or oversees it
        found, cases = suggest(world[who], "冰箱不制冷")
        assert cases == [] and len(found) == 1, who  # the internal article is for every member of staff
    assert numbers(suggest(world["agent"], "冰箱不制冷")[1]) == [old.number]
    assert numbers(suggest(world["admin"], "冰箱不制冷")[1]) == [old.number]


def test_a_hidden_fields_text_never_matches_for_a_reader_who_cannot_see_it(world):
    """fin1 closes the ticket at the finance step, whose form leaves out the defect: its text finds nothing."""
    ticket = at_finance(world, "机密瑕疵描述 secretdefect")
    advance(world, "fin1", ticket, FINANCE, action="close")
    for text in ("secretdefect", "机密瑕疵"):
        assert suggest(world["fin1"], text)[1] == [], text
        assert numbers(suggest(world["wh1"], text)[1]) == [ticket.number]  # the warehouse step shows the defect
    assert numbers(suggest(world["fin1"], "TH-1 原路退回")[1]) == [ticket.number]  # what fin1 saw matches
    assert "secretdefect" not in ticket_text(world["fin1"], fresh(ticket))
    assert "secretdefect" in ticket_text(world["wh1"], fresh(ticket))


def test_the_tickets_own_visible_text_asks_and_the_ticket_is_never_its_own_suggestion(world):
    fridge = published(world, "冰箱门关不严", "调整门封条。")
    old = closed(world, "冰箱门关不严")
    now = make(world, "冰箱门关不严")
    found, cases = suggest(world["agent"], "", ticket=fresh(now))
    assert numbers(found) == [fridge.number] and numbers(cases) == [old.number]
    found, cases = suggest(world["agent"], "", ticket=old)
    assert now.number not in numbers(cases) and old.number not in numbers(cases)


def login(client, username: str):
    assert client.post("/login", data={"username": username, "password": "password1"}).status_code == 302


def test_the_endpoint_answers_the_panel_and_keeps_hidden_text_out(world, client):
    article = published(world, "冰箱不制冷的处理办法", "检查温控器。")
    ticket = at_finance(world, "机密瑕疵描述 secretdefect 冰箱不制冷")
    advance(world, "fin1", ticket, FINANCE, action="close")
    assert client.get("/suggest?text=冰箱").status_code == 302  # login required
    login(client, "fin1")
    page = client.get(f"/suggest?text=&ticket={ticket.number}").get_data(as_text=True)
    assert "secretdefect" not in page and "机密" not in page
    page = client.get("/suggest?text=冰箱不制冷").get_data(as_text=True)
    assert article.number in page and ticket.number not in page  # matched only through the hidden defect
    assert f'data-lz-kb-link="[{article.number} 冰箱不制冷的处理办法](/kb/{article.number})"' in page
    assert client.get("/suggest?ticket=TH000000000000").status_code == 404
    client.post("/logout")
    login(client, "agent2")
    assert client.get(f"/suggest?ticket={ticket.number}").status_code == 403
    login(client, "wh1")
    page = client.get("/suggest?text=secretdefect").get_data(as_text=True)
    assert ticket.number in page and "secretdefect" in page  # wh1 saw the defect: the excerpt shows it


def test_the_call_page_and_the_ticket_page_carry_the_panel(world, client):
    ticket = make(world, "冰箱不制冷")
    login(client, "agent")
    call = client.get("/call").get_data(as_text=True)
    assert 'id="lz-kb-suggestions"' in call and "js/suggest.js" in call and "Alt</kbd>+<kbd>K" in call
    page = client.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    assert f'data-lz-kb-ticket="{ticket.number}"' in page and 'id="lz-kb-keys"' in page
