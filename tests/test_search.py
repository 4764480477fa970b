"""Full-text search on both databases: relevance in Chinese and English, what a reader may see, kept in step.

Tickets are made through the engine, so the index is what the subscriber wrote in each
action's transaction (``workflows/subscribers/search.py``), never a test's own call.
"""

from __future__ import annotations

import pytest
from test_engine import FINANCE, REGISTER, WAREHOUSE, advance, fresh
from test_uploads import PNG, upload

from workflows.reporting.queries import Filters, ticket_list
from workflows.search import index
from workflows.search.query import ranked, similar_open
from workflows.storage.models import SearchPart, Ticket
from workflows.tickets import collab, engine, events
from workflows.tickets.engine import Invalid

BASE = {**REGISTER, "category": "ac", "model": "ac-1p"}  # 空调: the fridge (冰箱) is what the tests look for


def make(world, defect: str, who: str = "agent", **kwargs) -> Ticket:
    return engine.create(world[who], "return_goods", {**BASE, "defect": defect}, **kwargs)


def found(world, who: str, text: str) -> list[str]:
    numbers = dict(Ticket.select(Ticket.id, Ticket.number).tuples())
    return [numbers[i] for i in ranked(world[who], text)]


def rows() -> list[tuple]:
    return sorted(SearchPart.select(SearchPart.ticket, SearchPart.part, SearchPart.terms).tuples())


def test_two_character_chinese_queries_match_and_rank(world):
    plain = make(world, "冰箱不制冷，要求退货")
    washer = make(world, "洗衣机漏水")
    twice = make(world, "冰箱门坏了，冰箱灯也不亮，冰箱很吵")
    assert found(world, "admin", "退货") == [plain.number]
    assert found(world, "admin", "冰箱") == [twice.number, plain.number]  # more often: first
    assert found(world, "admin", "漏水") == [washer.number]
    assert found(world, "admin", "洗衣机") == [washer.number]  # a phrase of two bigrams
    assert found(world, "admin", "机洗") == []  # not adjacent in that order anywhere
    assert found(world, "admin", "冰箱 退货") == [plain.number]  # every word must match


def test_english_relevance_case_and_full_width(world):
    one = make(world, "Refrigerator not cooling")
    many = make(world, "refrigerator door broken; REFRIGERATOR light broken; refrigerator noisy")
    make(world, "washing machine leaks")
    assert found(world, "admin", "refrigerator") == [many.number, one.number]
    assert found(world, "admin", "ＲＥＦＲＩＧＥＲＡＴＯＲ") == [many.number, one.number]
    assert found(world, "admin", "cooling refrigerator") == [one.number]
    assert found(world, "admin", "refrig") == [many.number, one.number]  # the last word is a prefix
    assert found(world, "admin", "") == [] and found(world, "admin", "，。") == []
    code = make(world, "batch 962e5a, part o-ring 1e10")  # look like numbers to PostgreSQL's own parser
    assert found(world, "admin", "962e5a") == [code.number] and found(world, "admin", "1e10") == [code.number]


def at_finance(world, defect: str) -> Ticket:
    ticket = make(world, defect)
    advance(world, fresh(ticket).assignee.username, ticket, {"approval": "approve"}, transition="warehouse")
    advance(world, fresh(ticket).assignee.username, ticket, WAREHOUSE, assignee="fin1")
    return fresh(ticket)


def test_a_hidden_field_never_matches_for_a_reader_who_cannot_see_it(world):
    """fin1 handles the finance step, whose form leaves out the defect: its text finds nothing for fin1."""
    ticket = at_finance(world, "机密瑕疵描述 secretdefect")
    assert ticket.assignee.username == "fin1"
    for text in ("机密", "瑕疵", "secretdefect"):
        assert found(world, "fin1", text) == []
        assert ticket_list(world["fin1"], "mine", Filters(q=text)).tickets == []
        assert found(world, "agent", text) == [ticket.number]  # the creator saw the defect at registration
        assert found(world, "wh1", text) == [ticket.number]  # the warehouse step shows it
    assert found(world, "fin1", "TH-1") == [ticket.number]  # the order number is on fin1's form
    assert found(world, "fin2", "TH-1") == []  # and nobody finds a ticket they may not read


def test_notes_customer_names_and_attachment_names_are_found(world, app):
    with app.app_context():
        ticket = make(world, "门坏了", customer={"name": "欧阳娜娜", "phone": "13800000009"},
                      files={"photos": [upload(PNG, "侧面划痕.png", "image/png")]})
    collab.add_note(world["agent"], ticket.number, "客户说周三上午在家 @sup")
    assert found(world, "agent", "欧阳") == [ticket.number]
    assert found(world, "agent", "划痕") == [ticket.number]
    assert found(world, "agent", "周三") == [ticket.number]
    assert found(world, "fin1", "周三") == []  # notes go with the ticket: none for who may not read it


def test_detail_table_cells_are_found(app, users):
    from conftest import example
    from test_table_reading_pages import REPAIR

    from workflows.processes import documents as docs
    with app.app_context():
        docs.import_dictionary(example("product.dictionary.json"))
        docs.save_process(REPAIR, publish=True)
        agent = users["agent"]
        ticket = engine.create(agent, "repair", {"summary": "上门", "parts": [{"part": "mw", "qty": 7,
                                                                                "price": 1234.5}]})
        assert ranked(agent, "微波炉") == [ticket.id]  # the dictionary label of a cell
        assert ranked(agent, "1234") == [ticket.id]
        assert ranked(agent, "冰箱") == []
        engine.act(agent, ticket.number, "close", version=engine.load(ticket.number).version,
                   data={"parts": [{"part": "fr", "qty": 1}]})
        assert ranked(agent, "冰箱") == [ticket.id]  # the changed table, indexed by the close
        assert ranked(agent, "微波炉") == [] and ranked(agent, "1234") == []  # the old cells are gone


def test_kept_in_step_after_advance_return_and_note(world):
    ticket = make(world, "门坏了")
    approver = fresh(ticket).assignee.username
    advance(world, approver, ticket, {"approval": "approve"}, transition="warehouse")
    assert found(world, "admin", "同意退货") == [ticket.number]  # the option's label, set by the advance
    handler = fresh(ticket).assignee.username
    advance(world, handler, ticket, action="return", comment="照片模糊请重拍")
    assert found(world, "admin", "重拍") == [ticket.number]  # the return's reason
    advance(world, approver, ticket, {"approval": "approve"}, transition="warehouse")
    assert found(world, "admin", "重拍") == [ticket.number]
    collab.add_note(world["admin"], ticket.number, "已联系物流")
    assert found(world, "admin", "物流") == [ticket.number]


def test_a_rolled_back_action_leaves_the_index_unchanged(world):
    ticket = make(world, "门坏了")
    before = rows()

    class Boom(Exception):
        pass

    def fail(_acted):
        raise Boom

    with events.ticket_acted.connected_to(fail), pytest.raises(Boom):
        advance(world, fresh(ticket).assignee.username, ticket, {"approval": "reject", "reject_reason": "超期七天"},
                transition="$end")
    assert rows() == before
    with pytest.raises(Invalid):
        collab.add_note(world["admin"], ticket.number, "  ")
    assert rows() == before and found(world, "admin", "超期") == []


def test_reindex_rebuilds_what_the_subscriber_wrote(world):
    make(world, "冰箱不制冷")
    kept = rows()
    SearchPart.delete().execute()
    assert found(world, "admin", "冰箱") == []
    assert index.reindex_all() == len(kept)
    assert rows() == kept and index.reindex_all() == 0  # nothing changed: nothing rewritten


def test_an_action_with_a_comment_writes_the_notes_a_full_reindex_would_in_one_read(world, monkeypatch):
    ticket = make(world, "门坏了")
    collab.add_note(world["admin"], ticket.number, "先登记一下")
    reads = []
    monkeypatch.setattr(index, "_gather", lambda ids: reads.append(ids) or {})  # the whole-ticket path
    advance(world, fresh(ticket).assignee.username, ticket, {"approval": "approve"}, transition="warehouse",
            comment="已批准，安排取件")
    assert reads == []
    monkeypatch.undo()
    assert found(world, "admin", "取件") == [ticket.number] and found(world, "admin", "登记") == [ticket.number]
    kept = rows()
    assert index.reindex([ticket.id]) == 0 and rows() == kept  # what a full reindex writes, to the term


def test_customer_renames_reach_the_index(world):
    from workflows.people import customers
    ticket = make(world, "门坏了", customer={"name": "张三", "phone": "13800000001"})
    customers.save_customer(fresh(ticket).customer, name="司马光")
    assert found(world, "agent", "司马") == [ticket.number] and found(world, "agent", "张三") == []


def test_the_list_ranks_and_keeps_numbers_and_phones(world):
    weak = make(world, "冰箱要退货", customer={"name": "王五", "phone": "13800000005"})
    strong = make(world, "冰箱冰箱冰箱 退货")
    page = ticket_list(world["admin"], "all", Filters(q="冰箱"))
    assert [t.number for t in page.tickets] == [strong.number, weak.number]
    assert [t.number for t in ticket_list(world["admin"], "all", Filters(q=weak.number)).tickets] == [weak.number]
    assert [t.number for t in ticket_list(world["admin"], "all", Filters(q="1380000")).tickets] == [weak.number]
    first = ticket_list(world["admin"], "all", Filters(q="冰箱"), page_size=1)
    second = ticket_list(world["admin"], "all", Filters(q="冰箱"), first.next_cursor, page_size=1)
    assert [t.number for t in first.tickets + second.tickets] == [strong.number, weak.number]
    assert second.next_cursor is None


def test_similar_open_tickets_for_the_call_page(world):
    fridge = make(world, "冰箱不制冷")
    closed = make(world, "冰箱不制冷 也漏水")
    advance(world, fresh(closed).assignee.username, closed, {"approval": "reject", "reject_reason": "超期"},
            transition="$end")
    make(world, "洗衣机漏水")
    assert [t.number for t in similar_open(world["agent"], "我家冰箱不制冷了")] == [fridge.number]
    assert similar_open(world["agent"], "冰") == [] and similar_open(world["agent"], " ") == []
    assert similar_open(world["fin1"], "冰箱不制冷") == []  # nothing fin1 may read


def test_finance_step_fields_search_for_finance(world):
    ticket = at_finance(world, "门坏了")
    advance(world, "fin1", ticket, FINANCE, action="close")
    assert found(world, "fin1", "原路退回") == [ticket.number]


def test_the_workspace_and_the_api_search_full_text(world, app, client):
    plain = make(world, "冰箱要退货")
    strong = make(world, "冰箱冰箱冰箱")
    hidden = at_finance(world, "机密瑕疵描述")
    token = client.post("/api/v1/auth/token", json={"username": "admin", "password": "password1"}).json["token"]
    api = client.get("/api/v1/tickets?scope=all&q=冰箱", headers={"Authorization": f"Bearer {token}"}).json
    assert [t["number"] for t in api["items"]] == [strong.number, plain.number]
    fin = client.post("/api/v1/auth/token", json={"username": "fin1", "password": "password1"}).json["token"]
    answer = client.get("/api/v1/tickets?scope=mine&q=机密", headers={"Authorization": f"Bearer {fin}"}).json
    assert answer["items"] == []
    assert client.post("/login", data={"username": "admin", "password": "password1"}).status_code == 302
    html = client.get("/?scope=all&status=&q=冰箱").get_data(as_text=True)
    assert html.index(f'href="/tickets/{strong.number}"') < html.index(f'href="/tickets/{plain.number}"')
    assert f'href="/tickets/{hidden.number}"' in client.get("/?scope=all&status=&q=机密").get_data(as_text=True)


def test_flask_search_reindex(world, runner):
    make(world, "冰箱不制冷")
    kept = rows()
    SearchPart.delete().execute()
    result = runner.invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    assert "1 tickets" in result.output and rows() == kept


def test_the_migration_backfills_existing_tickets(world, db):
    import importlib.util

    from workflows.storage.db import MIGRATIONS
    def load(name: str):
        spec = importlib.util.spec_from_file_location(name[:5], MIGRATIONS / name)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    migration, later = load("0018_search.py"), load("0024_kb.py")  # 0024's article index uses 0018's function
    make(world, "冰箱不制冷")
    kept = rows()
    later.down(None, db.obj)
    migration.down(None, db.obj)
    migration.up(None, db.obj)
    later.up(None, db.obj)
    assert rows() == kept and found(world, "admin", "冰箱") != []
