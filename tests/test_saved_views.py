"""Saved views, chosen columns, the "recently updated" sort and the list's keys (docs/workspace.md), both databases.

Views: personal ones are nobody else's business (404, not shown); a supervisor's shared view
reaches their team (their department's subtree) only, who may pick it but not change it; each
change is audited; bad input is a 4xx naming the field. Columns: a process field's value shows
only where the reader may see that field on that ticket.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from test_pending_pages import at_approval, at_warehouse, fresh, login, publish

from workflows.reporting import views
from workflows.reporting.queries import Filters, ticket_list
from workflows.storage.models import AuditEntry, SavedView, Ticket, utcnow
from workflows.tickets.errors import Forbidden, Invalid, NotFound


@pytest.fixture
def waiting(world):
    return publish(world)


def save(client, name: str, query: dict, shared: bool = False):
    data = {"name": name, "query": urlencode(query)}
    return client.post("/views", data={**data, "shared": "1"} if shared else data)


def view_named(name: str) -> SavedView:
    return SavedView.get(SavedView.name == name)


def test_a_personal_view_is_its_owners_alone(app, client, waiting):
    response = save(login(client, "wh1"), "我的待办", {"scope": "mine", "status": "open", "sort": "due"})
    view = view_named("我的待办")
    assert response.status_code == 302 and f"view={view.id}" in response.headers["Location"]
    assert "sort=due" in response.headers["Location"]
    assert view.query == {"scope": "mine", "status": "open", "sort": "due"} and view.department_id is None
    assert f'data-lz-view="{view.id}"' in client.get("/").get_data(as_text=True)
    login(client, "wh2")
    assert "我的待办" not in client.get(f"/?view={view.id}").get_data(as_text=True)
    with pytest.raises(NotFound):
        views.visible(waiting["wh2"], view.id)
    for path in (f"/views/{view.id}/rename", f"/views/{view.id}/save", f"/views/{view.id}/delete"):
        assert client.post(path, data={"name": "x"}).status_code == 404
    assert view_named("我的待办").owner_id == waiting["wh1"].id


def test_a_shared_view_reaches_the_team_only_and_only_its_owner_changes_it(app, client, waiting):
    save(login(client, "wh_lead"), "仓库超时", {"scope": "team", "overdue": "y"}, shared=True)
    view = view_named("仓库超时")
    assert view.department_id == waiting["wh_lead"].department_id
    teammate = login(client, "wh1").get("/").get_data(as_text=True)
    assert f'data-lz-view="{view.id}"' in teammate and "仓库超时" in teammate
    assert "scope=team" not in teammate.split(f'data-lz-view="{view.id}"')[0].rsplit("<a", 1)[1]  # wh1 has no team tab
    assert client.get(f"/?view={view.id}").status_code == 200
    for path, data in ((f"/views/{view.id}/rename", {"name": "改名"}), (f"/views/{view.id}/delete", {})):
        response = client.post(path, data=data)
        assert response.status_code == 403 and "Only its owner may change a view." in response.get_data(as_text=True)
    for outsider in ("fin1", "sup", "agent"):
        assert "仓库超时" not in login(client, outsider).get("/").get_data(as_text=True)
        assert [v.name for v in views.views_for(waiting[outsider])] == []
    assert view_named("仓库超时").name == "仓库超时"


def test_owner_renames_saves_into_unshares_and_deletes_each_audited(app, client, waiting):
    login(client, "wh_lead")
    save(client, "A", {"status": "open"}, shared=True)
    view = view_named("A")
    assert client.post(f"/views/{view.id}/rename", data={"name": "B"}).status_code == 302
    assert client.post(f"/views/{view.id}/save", data={"query": "status=closed&sort=updated&cols=step,f.model&cursor=9"}
                       ).status_code == 302
    saved = SavedView.get_by_id(view.id)
    assert (saved.name, saved.query, saved.department_id) == ("B", {"status": "closed", "sort": "updated",
                                                                     "cols": "step,f.model"}, None)
    assert client.post(f"/views/{view.id}/delete").status_code == 302
    assert SavedView.get_or_none(SavedView.id == view.id) is None
    trail = [(e.action, e.target) for e in AuditEntry.select().order_by(AuditEntry.id)]
    assert trail == [("view.create", f"view:{view.id}"), ("view.update", f"view:{view.id}"),
                     ("view.update", f"view:{view.id}"), ("view.delete", f"view:{view.id}")]
    assert AuditEntry.select().order_by(AuditEntry.id.desc()).first().before["name"] == "B"


@pytest.mark.parametrize("form, field", [
    ({"name": "", "query": "status=open"}, "name"),
    ({"name": "x" * 61, "query": ""}, "name"),
    ({"name": "v", "query": "scope=all"}, "scope"),  # a handler has no "all" tab
    ({"name": "v", "query": "sort=sideways"}, "sort"),
    ({"name": "v", "query": "cols=step,password"}, "cols"),
    ({"name": "v", "query": "", "shared": "1"}, "shared"),  # handlers do not share
])
def test_bad_input_is_a_4xx_naming_the_field(app, client, waiting, form, field):
    response = login(client, "wh1").post("/views", data=form)
    assert 400 <= response.status_code < 500 and f"{field}:" in response.get_data(as_text=True)
    assert SavedView.select().count() == 0 and AuditEntry.select().count() == 0


def test_a_name_is_unique_per_owner(app, waiting):
    views.create(waiting["wh1"], "待办", {})
    views.create(waiting["wh2"], "待办", {})  # someone else's may share the name
    with pytest.raises(Invalid) as error:
        views.create(waiting["wh1"], " 待办 ", {})
    assert set(error.value.fields) == {"name"}
    shared = views.create(waiting["wh_lead"], "共享", {}, shared=True)
    with pytest.raises(Forbidden):
        views.update(waiting["wh1"], shared.id, name="我的")


def test_picking_a_view_applies_its_filters_and_columns(app, client, waiting):
    approval, warehouse = at_approval(waiting), at_warehouse(waiting)
    login(client, "admin")
    save(client, "仓库步骤", {"scope": "all", "step": "warehouse", "cols": "step,updated,f.order_no"})
    view = view_named("仓库步骤")
    page = client.get(f"/?view={view.id}&scope=all&step=warehouse&cols=step,updated,f.order_no").get_data(as_text=True)
    assert warehouse.number in page and approval.number not in page
    assert 'data-lz-col="updated"' in page and 'data-lz-col="f.order_no"' in page and "TH-1" in page
    assert 'data-lz-col="priority"' not in page and 'aria-current="true" data-lz-view' in page


def test_columns_show_a_field_only_where_the_reader_may_see_it(app, client, waiting):
    ticket = at_warehouse(waiting)  # wh1/wh2 at the warehouse step: purchase_date is not one of its fields
    login(client, ticket.assignee.username)
    page = client.get("/?cols=step,f.model,f.purchase_date").get_data(as_text=True)
    assert ticket.number in page and 'data-lz-col="f.purchase_date"' in page
    row = page.split(f'href="/tickets/{ticket.number}"')[1].split("</tr>")[0]
    assert "fr-200" in row or "200" in row  # the model: a field of the warehouse step
    assert "2026-11-01" not in page and "2026/11/01" not in page and "11/1/26" not in page
    cell = row.split('data-lz-col="f.purchase_date"')[1].split("</td>")[0]
    assert '<span class="lz-field"></span>' in cell
    admin = login(client, "admin").get("/?scope=all&cols=f.purchase_date").get_data(as_text=True)
    assert "2026" in admin.split(f'href="/tickets/{ticket.number}"')[1].split("</tr>")[0]


def test_multiple_cols_are_joined_and_a_bad_one_is_a_400(app, client, waiting):
    login(client, "wh1")
    response = client.get("/?cols=step&cols=updated")
    assert response.status_code == 302 and "cols=step,updated" in response.headers["Location"]
    bad = client.get("/?cols=step,secret")
    assert bad.status_code == 400 and "cols:" in bad.get_data(as_text=True)


def test_recently_updated_sort_pages_by_keyset_without_gaps(app, waiting):
    tickets = [at_approval(waiting) for _ in range(5)]
    now = utcnow()
    for offset, ticket in zip((3, 1, 4, 1, 5), tickets, strict=True):  # two share one time: the id breaks the tie
        Ticket.update(updated_at=now.replace(microsecond=0) - __import__("datetime").timedelta(minutes=offset)
                      ).where(Ticket.id == ticket.id).execute()
    seen, cursor = [], None
    while True:
        page = ticket_list(waiting["admin"], "all", Filters(), cursor, "updated", 2)
        seen += [t.number for t in page.tickets]
        cursor = page.next_cursor
        if cursor is None:
            break
    expected = sorted(tickets, key=lambda t: (fresh(t).updated_at, t.id), reverse=True)
    assert seen == [t.number for t in expected]


def test_the_list_has_its_keys_script_and_hint(app, client, waiting):
    at_warehouse(waiting)
    page = login(client, "admin").get("/?scope=all").get_data(as_text=True)
    assert 'data-lz-keys="1"' in page and '<th scope="row"><a href' in page and "lz-keys-hint" in page
    assert '<link rel="stylesheet" href="/static/css/list.css">' in page
    for asset in ("/static/js/list.js", "/static/css/list.css"):
        response = client.get(asset)
        response.close()
        assert response.status_code == 200


def test_a_field_with_readers_is_no_column_for_others_and_its_cell_stays_empty(app, client, waiting):
    """x-readers (docs/visibility.md): wh1 may not read ``memo``, even as the handler; it is not offered as a
    column, and asked for by hand its cell shows nothing, while the admin sees it."""
    from test_pending_pages import REGISTER, waiting_process

    from workflows.processes import documents as docs
    from workflows.tickets import engine

    document = waiting_process()
    document["schema"]["properties"]["memo"] = {"type": "string", "title": "内部备注",
                                                "x-readers": {"departments": ["finance"]}}
    document["steps"][0]["fields"]["memo"] = "editable"
    docs.save_process(document, publish=True)
    created = fresh(engine.create(waiting["admin"], "waiting", {**REGISTER, "memo": "机密备注"}))
    engine.act(created.assignee, created.number, "advance", version=created.version, data={"approval": "approve"},
               transition="warehouse")
    ticket = fresh(created)
    assert ticket.step == "warehouse" and ticket.data["memo"] == "机密备注"
    assert "f.memo" not in views.field_choices(ticket.assignee, [ticket.process_version])
    assert "f.memo" in views.field_choices(waiting["fin1"], [ticket.process_version])
    page = login(client, ticket.assignee.username).get("/?cols=f.memo,f.model").get_data(as_text=True)
    assert ticket.number in page and "机密备注" not in page and 'value="f.memo"' not in page
    assert 'data-lz-col="f.memo"' not in page  # no column, not even its title
    assert "机密备注" in login(client, "admin").get("/?scope=all&cols=f.memo").get_data(as_text=True)
