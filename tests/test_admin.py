"""The admin's process list and step previews (dry runs), on both databases, logged in as an admin."""

from __future__ import annotations

import json

import pytest
from conftest import example

from formbuilder import cache
from workflows.processes import documents as docs
from workflows.storage.db import database

PREVIEW = "/admin/processes/return_goods/1/"


@pytest.fixture(autouse=True)
def logged_in_admin(auth):
    assert auth.login("admin").status_code == 302


def test_process_list_links_every_step(client, seeded):
    html = client.get("/admin/processes/").get_data(as_text=True)
    for key in ("register", "approve", "warehouse", "finance"):
        assert f'href="{PREVIEW}{key}"' in html


def test_preview_shows_only_the_fields_of_the_step(client, seeded):
    html = client.get(PREVIEW + "approve").get_data(as_text=True)
    assert 'data-lz-field="approval" data-lz-type="radio" data-lz-mode="required"' in html
    assert 'data-lz-field="order_no" data-lz-type="text" data-lz-mode="readonly"' in html
    for hidden in ("refund_amount", "退款金额", "received_at", "收到时间"):
        assert hidden not in html.split("lz-schema")[0]


def test_conditional_field_is_in_the_page_hidden_with_its_rule(client, seeded):
    html = client.get(PREVIEW + "approve").get_data(as_text=True)
    start = html.index('data-lz-field="reject_reason"')
    fieldset = html[start:html.index(">", start)]
    assert 'data-lz-mode="hidden"' in fieldset and "disabled" in fieldset and " hidden" in fieldset
    assert "data-lz-cond=" in fieldset and "&#34;reject&#34;" in fieldset


def test_preview_shows_the_effective_schema(client, seeded):
    html = client.get(PREVIEW + "finance").get_data(as_text=True)
    assert "&#34;required&#34;: [\n    &#34;refund_amount&#34;,\n    &#34;refund_channels&#34;\n  ]" in html


def test_dry_run_shows_errors_at_each_field_in_chinese(client, seeded):
    response = client.post(PREVIEW + "approve", data={"approval": "reject", "lz_present": "approval"},
                           headers={"Accept-Language": "zh-CN"})
    html = response.get_data(as_text=True)
    start = html.index('data-lz-field="reject_reason"')
    assert "此项为必填项。" in html[start:html.index("</fieldset>", start)]
    assert 'data-lz-mode="required"' in html[start:html.index(">", start)]


def test_dry_run_refuses_forged_values_in_english(client, seeded):
    response = client.post(PREVIEW + "approve", headers={"Accept-Language": "en"},
                           data={"approval": "approve", "order_no": "FORGED", "refund_amount": "1",
                                 "lz_present": "approval"})
    html = response.get_data(as_text=True)
    assert "This field is read-only at this step." in html
    assert "This field is hidden at this step and cannot be set." in html


def test_dry_run_accepts_valid_data_and_saves_nothing(client, seeded):
    data = {"order_no": "TH-1", "source": "phone", "category": "fr", "model": "fr-200",
            "purchase_date": "2026-11-01", "defect": "坏了",
            "lz_present": ["order_no", "source", "category", "model", "purchase_date", "defect", "photos"]}
    html = client.post(PREVIEW + "register", data=data, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Valid: the engine would accept this data." in html
    with database.connection_context():
        assert docs.get_version("return_goods").document == example("return_goods.process.json")


def test_a_second_request_builds_nothing(client, seeded):
    cache.clear()
    client.get(PREVIEW + "register")
    client.post(PREVIEW + "register", data={"order_no": "x"})
    client.get(PREVIEW + "register")
    assert cache.builds == {(("return_goods", 1), "register"): 1}


def test_unknown_version_or_step_is_404(client, seeded):
    assert client.get("/admin/processes/return_goods/9/approve").status_code == 404
    assert client.get(PREVIEW + "nosuch").status_code == 404


def test_admin_authored_strings_are_escaped(client, seeded, app):
    doc = example("return_goods.process.json")
    doc["name"] = "<script>alert('name')</script>"
    doc["hint"] = "<img src=x onerror=alert(1)>"
    doc["schema"]["properties"]["defect"]["description"] = "<b onclick=alert(2)>help</b>"
    doc["steps"][0]["transitions"][0]["label"] = "<svg onload=alert(3)>"
    with app.app_context(), database.connection_context():
        docs.save_process(doc, publish=True)
    pages = client.get("/admin/processes/").get_data(as_text=True)
    pages += client.get("/admin/processes/return_goods/2/register").get_data(as_text=True)
    for payload in ("<script>alert", "<img src=x", "<b onclick", "<svg onload"):
        assert payload not in pages
    assert "&lt;script&gt;alert(" in pages


def test_cascade_dictionaries_are_embedded_as_data(client, seeded):
    html = client.get(PREVIEW + "register").get_data(as_text=True)
    start = html.index('<script type="application/json" id="lz-dict-product">')
    tree = json.loads(html[start:html.index("</script>", start)].split(">", 1)[1])
    assert tree["fr"]["children"] == ["fr-200", "fr-450"] and tree["mw-old"]["enabled"] is False


def test_admin_menu_follows_the_language(client, seeded):
    assert "工单流程" in client.get("/admin/processes/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    english = client.get("/admin/processes/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Processes" in english and "工单流程" not in english


def test_dry_run_checks_uploads_against_the_field(client, seeded):
    from io import BytesIO

    pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"  # a real PDF; the field takes images only
    data = {"photos": (BytesIO(pdf), "scan.pdf", "application/pdf"), "lz_present": "photos"}
    html = client.post(PREVIEW + "register", data=data, content_type="multipart/form-data",
                       headers={"Accept-Language": "en"}).get_data(as_text=True)
    start = html.index('data-lz-field="photos"')
    assert "&#39;scan.pdf&#39; is a PDF file; accepted here: image/*." in html[start:html.index("</fieldset>", start)]
