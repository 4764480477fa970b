"""One step submission: files go to the engine and are stored inside its transaction, checked by one rule.

The call page, the ticket page and the web form share ``web.common.submit``; the
engine (``create`` / ``act`` with ``files=``) stores the files after the permission
check and deletes them again if anything in the action fails, so nothing is
orphaned on any path. ``workflows`` never touches a WTForms object.
"""

from __future__ import annotations

import ast
import io
from pathlib import Path

import pytest
from test_admin_dryrun import DRAFT, REGISTER, admin  # noqa: F401 - fixtures, asked for by name
from test_uploads import HTML, PDF, PNG, claim, rows, stored, upload  # noqa: F401 - fixtures, by name

from workflows.storage.db import database
from workflows.storage.models import Ticket, User
from workflows.tickets import engine, events
from workflows.tickets.errors import Invalid

ROOT = Path(__file__).resolve().parent.parent
EN = {"Accept-Language": "en"}


class Boom(Exception):
    """What the failing subscriber raises."""


def as_user(name: str) -> User:
    return User.get(User.username == name)


def create(files: dict, **data):
    return engine.create(as_user("agent"), "claim", {"summary": "车门刮花", **data}, files=files,
                         customer={"name": "李女士", "phone": "13900000000"})


@pytest.mark.usefixtures("claim")
def test_the_engine_stores_the_files_it_is_given_and_links_them(app):
    with app.app_context(), database.connection_context():
        ticket = create({"attachments": [upload(PDF, "发票.pdf")], "evidence": [upload(PNG, "car.png")]})
        linked = {a.filename: (a.field, a.ticket_id, a.mimetype) for a in rows()}
        assert linked == {"发票.pdf": ("attachments", ticket.id, "application/pdf"),
                          "car.png": ("evidence", ticket.id, "image/png")}
        assert Ticket.get_by_id(ticket.id).data["attachments"] == [a.key for a in rows() if a.filename == "发票.pdf"]
        assert len(stored(app)) == 2


@pytest.mark.usefixtures("claim")
def test_a_refused_create_leaves_no_row_and_no_file(app):
    with app.app_context(), database.connection_context():
        with pytest.raises(Invalid) as refused:
            create({"evidence": [upload(PNG, "car.png")]}, summary="")
        assert set(refused.value.fields) == {"summary"}
        assert rows() == [] and stored(app) == []


@pytest.mark.usefixtures("claim")
def test_every_file_problem_is_reported_at_once_with_the_other_fields(app):
    with app.app_context(), database.connection_context():
        with pytest.raises(Invalid) as refused:
            create({"attachments": [upload(PNG, "scan.pdf")], "evidence": [upload(HTML, "page.png", "image/png")],
                    "summary": [upload(PNG, "not-a-file-field.png")]}, verdict=7)
        assert set(refused.value.fields) == {"attachments", "evidence", "summary", "verdict"}
        assert [m.render() for m in refused.value.fields["summary"]] == ["This field does not take files."]
        assert rows() == [] and stored(app) == []


@pytest.mark.usefixtures("claim")
def test_an_action_failing_after_the_files_were_stored_takes_them_with_it(app):
    def boom(event):
        if event.action != "create":
            raise Boom

    with app.app_context(), database.connection_context():
        ticket = create({})
        handler = ticket.assignee.username
        with events.ticket_acted.connected_to(boom), pytest.raises(Boom):
            engine.act(as_user(handler), ticket.number, "advance", version=ticket.version,
                       files={"evidence": [upload(PNG, "late.png")]}, data={"verdict": "ok"})
        assert rows() == [] and stored(app) == []
        assert Ticket.get_by_id(ticket.id).version == ticket.version


@pytest.mark.usefixtures("claim")
def test_act_keeps_the_stored_files_and_adds_the_new_ones(app):
    with app.app_context(), database.connection_context():
        ticket = create({"evidence": [upload(PNG, "first.png")]})
        first = Ticket.get_by_id(ticket.id).data["evidence"]
        handler = ticket.assignee.username
        engine.act(as_user(handler), ticket.number, "advance", version=ticket.version, data={"verdict": "ok"},
                   files={"evidence": [upload(PDF, "second.pdf")]})
        evidence = Ticket.get_by_id(ticket.id).data["evidence"]
        assert evidence[:1] == first and len(evidence) == 2 and len(stored(app)) == 2


@pytest.mark.usefixtures("admin", "seeded")
def test_the_dry_run_judges_files_by_their_content_like_the_engine(client):
    """It used to trust the name and the client's type: a web page named box.png passed."""
    data = {**REGISTER, "photos": (io.BytesIO(HTML), "box.png", "image/png"), "lz_present": [*REGISTER, "photos"]}
    html = client.post(DRAFT + "register", data=data, content_type="multipart/form-data", headers=EN)
    page = html.get_data(as_text=True)
    assert "could run code" in page and "Valid: the engine would accept this data." not in page


# --- the shape of the code ------------------------------------------------------------------------------

def python_files(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def test_workflows_never_touches_a_wtforms_object():
    """No import of WTForms, and none of the attributes the step forms carry (``lz``, ``lz_mode``, ``_fields``)."""
    found = []
    for path in python_files("workflows"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{path.name}: imports {n}" for n in names if n.split(".")[0] in ("wtforms", "flask_wtf")]
            if isinstance(node, ast.Attribute) and node.attr in ("lz", "lz_mode", "_fields"):
                found.append(f"{path.name}:{node.lineno}: .{node.attr}")
    assert found == []


@pytest.mark.parametrize("view", ["web/tickets.py", "web/calls.py", "web/webform.py"])
def test_each_step_page_submits_through_the_one_submission(view):
    tree = ast.parse((ROOT / view).read_text())
    imported = {(n.module, a.name) for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
    assert ("common.submit", "submit") in imported
    calls = {ast.unparse(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    assert not calls & {"form.submitted", "uploads.problems", "collab.store_uploads", "uploads.action"} - (
        {"uploads.action"} if view == "web/webform.py" else set())
