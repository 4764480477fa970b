"""Several hosts for real (issue 24): two hosts in network namespaces behind HAProxy, one killed mid-load.

Short mode of ``python -m bench.hosts``: a fresh migrated PostgreSQL database with the demo, two
application hosts (gunicorn -w 2 and ``flask worker --sla`` each) on one uploads directory, two
client threads creating and advancing tickets through the balancer; host1 is SIGKILLed after 3 s and
the load goes on for 5 s. Every acknowledged action must be in the database, and every request sent
more than 3 s after the kill must succeed. Needs root (namespaces), ``ip`` and ``haproxy``; CI has them.
"""

from __future__ import annotations

import http.client
import json
import uuid

from bench import hostload
from bench.hosts import APP_PORT, two_hosts
from bench.seeding import migrated
from formbuilder import cache


def upload(address: str, token: str, name: str, content: bytes) -> str:
    """POST /api/v1/attachments to one host directly (multipart ``file``); the stored key."""
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            f"Content-Type: text/plain\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
    conn = http.client.HTTPConnection(address, APP_PORT, timeout=20)
    conn.request("POST", "/api/v1/attachments", body=body, headers={
        "Authorization": f"Bearer {token}", "Content-Type": f"multipart/form-data; boundary={boundary}"})
    answer = conn.getresponse()
    text = answer.read()
    assert answer.status == 201, text
    return json.loads(text)["id"]


def download(address: str, token: str, key: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(address, APP_PORT, timeout=20)
    conn.request("GET", f"/api/v1/attachments/{key}", headers={"Authorization": f"Bearer {token}"})
    answer = conn.getresponse()
    return answer.status, answer.read()


def test_a_killed_host_loses_no_accepted_action_and_the_other_carries_on(tmp_path):
    drops: list = []
    try:
        url = migrated("postgresql", drops)
        keys = hostload.tokens()
        with two_hosts(url, tmp_path / "uploads") as site:
            first, second = site.hosts
            content = b"shared storage: written by host1, read by host2\n"
            key = upload(first.address, keys["agent"], "note.txt", content)
            assert download(second.address, keys["agent"], key) == (200, content)

            result = hostload.load_with_kill(site, keys, before=3, after=5, threads=2)
            print(result.report())
            assert result.missing == []
            assert result.late_failures() == []
            assert result.after_kill() >= 10
            assert not first.alive() and second.alive()  # host2's gunicorn and background worker still run
            assert site.states() == {"host1": "DOWN", "host2": "UP"}
    finally:
        for drop in drops:
            drop()
        cache.clear()  # what the demo's seeding compiled here must not outlive this database
