"""A customer on a phone finds a public help article (issue 23): search, open, no sideways scroll, "helpful".

In Debian's Chromium at 390 x 844 CSS pixels, without a login, on both databases:

- the customer opens ``/help``, types a two-character Chinese query in the search box, opens the public
  article from the results and answers "was this helpful" with Yes; every page fits the screen
  (``scrollWidth <= clientWidth``) and the answer is counted once on the article;
- on the web form the customer types a description and the matching public article appears above the
  submit button before anything is submitted (the internal article with the same words never does);
- axe-core (vendored) finds no serious or critical violation on the help pages and on the web form with
  its suggestions shown; each page has ``lang``, one ``h1``, one ``main`` and a header landmark.

Screenshots: ``tests/artifacts/phone-help-*.png``. JavaScript errors fail the test.
"""

from __future__ import annotations

import json
import re

import pytest
from conftest import ROOT, example
from designer_meter import axe_violations
from playwright.sync_api import expect
from test_axe_browser import BONES_JS

from workflows.kb import articles
from workflows.processes import documents as docs
from workflows.storage.db import database
from workflows.storage.models import Article, User

ARTIFACTS = ROOT / "tests" / "artifacts"
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 10_000
FITS_JS = "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
PUBLIC_TITLE = "冰箱退货的运费由谁承担"
INTERNAL_TITLE = "内部：退货运费结算流程"
LONG_BODY = ("质量问题退货，运费由我们承担；非质量问题退货，运费由您承担。\n\n"
             "## 如何申请\n\n1. 在网页表单填写订单号 JD-20261101-000123456789012345678901234567890\n"
             "2. 上传照片\n\n| 情况 | 运费 |\n|---|---|\n| 质量问题 | 我们承担 |\n| 不想要了 | 您承担 |\n")


def publish(admin: User, title: str, body: str, visibility: str, category: str) -> str:
    article = articles.create(admin, title=title, body=body, category=category, visibility=visibility)
    articles.submit(admin, article.number)
    articles.publish(admin, article.number)
    return article.number


@pytest.fixture
def help_world(app, seeded, users) -> dict[str, str]:
    """The kb_category dictionary, a public and an internal article with the same words, and the web form on."""
    with app.app_context(), database.connection_context():
        docs.import_dictionary(json.loads((ROOT / "workflows/demo/kb_category.dictionary.json").read_text("utf-8")))
        document = example("return_goods.process.json")
        document["web_form"] = {"enabled": True, "title": "在线退货申请"}
        docs.save_process(document, publish=True)
        admin = User.get(User.username == "admin")
        return {"public": publish(admin, PUBLIC_TITLE, LONG_BODY, "public", "returns"),
                "internal": publish(admin, INTERNAL_TITLE, "退货运费的内部结算：" + LONG_BODY, "internal", "returns")}


@pytest.fixture
def phone(live_server, browser):
    """A page of a new anonymous zh-CN context at 390 x 844; JavaScript errors fail the test."""
    contexts, errors = [], []

    def open_page():
        context = browser.new_context(locale="zh-CN", base_url=live_server, viewport=PHONE)
        context.set_default_timeout(TIMEOUT_MS)
        context.on("page", lambda page: page.on("pageerror", lambda error: errors.append(str(error))))
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()
    assert errors == []


def fits(page, name: str, request) -> None:
    """No sideways scrolling; a screenshot of the first screen."""
    scroll, client = page.evaluate(FITS_JS)
    print(f"help phone {name:<10} scrollWidth={scroll} clientWidth={client}")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"phone-help-{name}-{request.node.callspec.params['db_url']}.png"))
    assert scroll <= client, (name, scroll, client)


def test_a_customer_finds_the_public_article_on_a_phone(app, phone, help_world, request):
    page = phone()
    page.goto("/help")
    fits(page, "index", request)
    expect(page.locator("h1")).to_have_count(1)
    expect(page.get_by_text(INTERNAL_TITLE)).to_have_count(0)
    page.locator("#lz-help-q").fill("运费")
    with page.expect_navigation():
        page.locator("#lz-help-q").press("Enter")
    assert "/help/search" in page.url
    fits(page, "search", request)
    expect(page.get_by_text(INTERNAL_TITLE)).to_have_count(0)
    with page.expect_navigation():
        page.get_by_role("link", name=PUBLIC_TITLE).click()
    expect(page.locator("h1")).to_have_text(PUBLIC_TITLE)
    fits(page, "article", request)
    with page.expect_navigation():
        page.get_by_role("button", name=re.compile(r"^(是|Yes)$")).click()
    expect(page.locator(".lz-help-thanks")).to_be_visible()
    expect(page.locator(".lz-help-answer")).to_have_count(0)
    fits(page, "voted", request)
    with app.app_context(), database.connection_context():
        article = Article.get(Article.number == help_world["public"])
        assert (article.helpful_yes, article.helpful_no) == (1, 0)


def test_the_web_form_suggests_the_public_article_while_typing(phone, help_world, request):
    page = phone()
    page.goto("/forms/return_goods")
    suggestions = page.locator("[data-lz-help-suggest]")
    expect(suggestions).to_be_hidden()
    page.locator("textarea[name=defect]").press_sequentially("冰箱坏了想退货，运费谁出", delay=20)
    link = suggestions.get_by_role("link", name=PUBLIC_TITLE)
    expect(link).to_be_visible()
    expect(link).to_have_attribute("href", f"/help/{help_world['public']}")
    expect(suggestions.get_by_text(INTERNAL_TITLE)).to_have_count(0)
    fits(page, "webform", request)
    page.locator("textarea[name=defect]").fill("")
    page.locator("textarea[name=defect]").press("Space")
    expect(suggestions).to_be_hidden()


def test_the_help_pages_have_no_serious_violation(phone, help_world):
    page, failures = phone(), []
    number = help_world["public"]
    for url in ["/help", "/help/c/returns", "/help/search?q=运费", "/help/search?q=无此内容", f"/help/{number}",
                "/forms/return_goods"]:
        response = page.goto(url)
        assert response is not None and response.status == 200, url
        if url.startswith("/forms"):  # with its suggestions shown
            page.locator("textarea[name=defect]").press_sequentially("退货运费", delay=20)
            expect(page.locator("[data-lz-help-suggest] a")).to_have_count(1)
        found, bones = axe_violations(page), page.evaluate(BONES_JS)
        print(f"axe help {url:<40} serious+critical={sum(len(v['nodes']) for v in found)} "
              f"rules={[v['id'] for v in found]} h1={bones['h1']} main={bones['main']} lang={bones['lang']}")
        if found or not bones["lang"] or bones["h1"] != 1 or bones["main"] != 1 or not bones["banner"]:
            failures.append((url, found, bones))
    assert failures == []
