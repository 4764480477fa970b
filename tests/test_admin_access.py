"""Every admin URL, discovered from the app's url map (a new route cannot be forgotten), is for admins only."""

from __future__ import annotations

import re

import pytest

SAMPLES = {"code": "return_goods", "number": "1", "step": "approve", "key": "order_no", "kind": "text",
           "move": "up", "value": "mw", "username": "agent", "entry_id": "1", "token_id": "1", "filename": "x.css"}


def admin_urls(app) -> list[tuple[str, str]]:
    """(method, url) of every /admin rule except Flask-Admin's static files, parameters filled in."""
    out = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin") or rule.endpoint.endswith(".static"):
            continue
        url = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: SAMPLES.get(m.group(1), "x"), rule.rule)
        out += [(method, url) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return out


def test_the_url_map_has_the_admin_screens(app):
    urls = {url for _, url in admin_urls(app)}
    for url in ("/admin/processes/return_goods/edit", "/admin/processes/return_goods/matrix",
                "/admin/dictionaries/", "/admin/users/", "/admin/departments/", "/admin/tokens/", "/admin/audit/"):
        assert url in urls, url
    assert len(urls) > 40


@pytest.mark.parametrize("username", ["agent", "supervisor", "wh1"])
def test_non_admins_get_403_on_every_admin_url(app, client, auth, seeded, username):
    auth.login(username)
    app.config["WTF_CSRF_ENABLED"] = False  # the refusal must come from the access rule, not the CSRF check
    refused = {(method, url): client.open(url, method=method).status_code for method, url in admin_urls(app)}
    assert {key: status for key, status in refused.items() if status != 403} == {}


def test_anonymous_visitors_are_sent_to_login_from_every_admin_url(app, client, seeded):
    app.config["WTF_CSRF_ENABLED"] = False
    for method, url in admin_urls(app):
        response = client.open(url, method=method)
        assert response.status_code == 302 and "/login" in response.location, (method, url)


def test_admins_reach_every_admin_page(app, client, auth, seeded):
    auth.login("admin")
    broken = {url: client.get(url).status_code for method, url in admin_urls(app) if method == "GET"}
    assert {url: status for url, status in broken.items() if status >= 500} == {}
