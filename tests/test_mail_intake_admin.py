"""The mail intake log in the admin (issue 22), and what the new outward paths may carry, on both databases.

The log is admin-only, read-only, newest first and escaped. Neither it nor the acknowledgement mail
carries a hidden field's value: checked against the canary world (tests/canary.py), whose customers
have e-mail addresses and whose tickets hold a unique canary in every field.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from canary import build_canary_world, customer_may_see, leaks, world_tickets
from test_channels import inquiry
from test_permission_matrix import login, world_factory

from workflows.i18n import cli_gettext
from workflows.intake import intakelog, mailin
from workflows.processes import documents as docs
from workflows.storage.db import database
from workflows.subscribers import mail

URL = "/admin/mail-intake/"


def raw(sender: str, subject: str, message_id: str) -> bytes:
    return (f"From: {sender}\r\nTo: service@example.com\r\nSubject: {subject}\r\nMessage-ID: <{message_id}>\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\n门坏了\r\n").encode()


@pytest.fixture
def logged(app, users, seeded):
    with app.app_context(), database.connection_context():
        docs.save_process(inquiry(), publish=True)
        gettext = cli_gettext("en")
        mailin.ingest(raw("Mr Wang <wang@example.com>", "冰箱门", "a@x"), "inquiry", gettext)
        mailin.ingest(raw("MAILER-DAEMON@example.com", "Undeliverable: x", "b@x"), "inquiry", gettext)
        mailin.ingest(raw("Eve <eve@example.com>", "<script>alert(1)</script>", "c@x"), "inquiry", gettext)
        mailin.ingest(raw("Mr Wang <wang@example.com>", "冰箱门", "a@x"), "inquiry", gettext)
    return app


def test_admins_read_the_log_newest_first_escaped(logged, admin):
    page = admin.get(URL, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert page.count('data-outcome="') == 4
    order = [page.index(f'data-outcome="{o}"') for o in ("duplicate", "created", "dropped")]
    assert order == sorted(order)  # the duplicate (read last) first; the first mail's row after Eve's
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
    assert "sender mailer-daemon" in page and "ZX" in page
    dropped = admin.get(URL + "?outcome=dropped").get_data(as_text=True)
    assert dropped.count('data-outcome="') == 1
    assert admin.get(URL + "?outcome=<x>").get_data(as_text=True).count('data-outcome="') == 4  # ignored


def test_the_log_is_for_admins_only(logged, auth, client):
    assert client.get(URL).status_code == 302  # to the login page
    auth.login("agent")
    assert client.get(URL).status_code == 403
    assert client.post(URL).status_code in (403, 405)


def test_no_hidden_value_in_the_acknowledgement_or_the_log(app, client, monkeypatch):
    world_factory(app, monkeypatch)
    cw = build_canary_world(app)
    with app.app_context(), database.connection_context():
        tickets = world_tickets(cw)
        for label, ticket in tickets.items():
            message = mail.queue_template(ticket, "created")
            text = f"{message.subject}\n{message.body}\n{mail.mime(message).as_string()}"
            forbidden = [c for c in cw.canaries if not customer_may_see(cw, label, c)]
            assert leaks(text, forbidden) == [], label
        docs.save_process(inquiry(), publish=True)
        for label, number in cw.numbers.items():  # each customer answers their ticket, and writes anew
            sender = f"canary-{label.lower()}@example.com"
            mailin.ingest(raw(sender, f"Re: [{number}] 门", f"r-{label}@x"), "inquiry", cli_gettext("en"))
            mailin.ingest(raw(sender, "又坏了", f"n-{label}@x"), "inquiry", cli_gettext("en"))
        assert len(intakelog.latest()) == 2 * len(cw.numbers)
    login(client, "admin")
    page = client.get(URL).get_data(as_text=True)
    assert page.count('data-outcome="') == 2 * len(cw.numbers)
    assert page.count('data-outcome="appended"') >= len(cw.numbers) - 1  # X's customer is W's: X's "reply" is new
    held = [c for c in cw.canaries if c.kind in ("field", "file", "ticket", "customer", "notification")]
    assert leaks(page, held) == []


def test_the_corpus_report_script_runs(tmp_path):
    """scripts/mail_intake_report.py over two messages: the figures it prints."""
    import subprocess
    import sys

    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a.eml").write_bytes(raw("wang@example.com", "冰箱门", "a@x"))
    (folder / "b.eml").write_bytes(raw("MAILER-DAEMON@example.com", "failure notice", "b@x"))
    script = Path(__file__).parent.parent / "scripts" / "mail_intake_report.py"
    out = subprocess.run([sys.executable, str(script), str(folder)], capture_output=True, text=True, timeout=120,
                         cwd=script.parent.parent)
    assert out.returncode == 0, out.stderr
    assert "messages: 2" in out.stdout and "created: 1" in out.stdout and "dropped: 1" in out.stdout
    assert "duplicate: 2" in out.stdout and "sender mailer-daemon: 1" in out.stdout
