"""Issue 20's must-show: an admin builds the format-2 repair process in the designer by pointer and keyboard,
with no key typed, publishes it, and an agent creates a ticket with it. Clicks, keystrokes and page loads
after opening the designer are counted and printed; axe finds no serious or critical violation.

Debian's Chromium through Playwright, on both databases; the admin works in English, the agent in Chinese.
Screenshots of the designer at 1440 and 1024 px go to ``tests/artifacts/``.
"""

from __future__ import annotations

import re

import pytest
from conftest import ROOT, browser_login
from designer_meter import Meter, axe_violations
from playwright.sync_api import expect

from workflows.processes import documents as docs
from workflows.storage.db import database
from workflows.storage.models import Process, Ticket

ARTIFACTS = ROOT / "tests" / "artifacts"
TIMEOUT_MS = 15_000
CODE = "bao_xiu_deng_ji"


@pytest.fixture
def person(seeded, users, live_server, browser):
    contexts, errors = [], []
    with database.connection_context():
        docs.import_dictionary(__import__("json").loads((ROOT / "workflows/demo/product.dictionary.json").read_text()))

    def sign_in(username: str, locale: str, width: int = 1440):
        context = browser.new_context(locale=locale, base_url=live_server, viewport={"width": width, "height": 900},
                                      extra_http_headers={"Accept-Language": locale})
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        context.on("page", lambda p: p.on("pageerror", lambda error: errors.append(str(error))))
        return browser_login(context, username)

    yield sign_in
    for context in contexts:
        context.close()
    assert not errors, errors


def snap(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def accessible(page, where: str) -> None:
    found = axe_violations(page)
    assert not found, (where, found)


def panel(page):
    return page.locator("#lz-d-panel")


def add(m: Meter, kind: str, label: str) -> None:
    """A field from the palette by pointer; its label typed where the cursor lands, Enter saves it."""
    m.click(m.page.locator(f"button.lz-d-kind[data-lz-kind={kind}]"))
    expect(m.page.locator("#lzp-title")).to_be_focused()
    m.type(label)
    m.press("Enter")
    expect(m.page.locator(".lz-d-field.is-selected .lz-d-pick")).to_contain_text(label)


def build_fields(m: Meter) -> None:
    page = m.page
    add(m, "select", "品类")
    m.choose(panel(page).get_by_label("Dictionary", exact=True), "产品 (product)")
    add(m, "cascade", "型号")
    m.choose(panel(page).get_by_label("Dictionary", exact=True), "产品 (product)")
    add(m, "integer", "保修期（月）")
    m.choose(panel(page).get_by_label("Compute it as"), "warranty_months of the 型号 chosen")
    add(m, "textarea", "故障描述")
    add(m, "user", "上门工程师")
    add(m, "table", "配件明细")
    first = panel(page).locator(".lz-d-col-label").first
    m.click(first)
    page.keyboard.press("Control+A")
    m.keys += 1
    m.type("配件")
    m.press("Enter")
    for kind, label in (("Whole number", "数量"), ("Number", "单价")):
        m.choose(panel(page).get_by_label("Add a column"), kind)
        m.type(label)
        m.press("Enter")
    add(m, "number", "配件合计")
    m.choose(panel(page).get_by_label("Compute it as"), "Sum of 配件明细: 数量 × 单价")
    add(m, "number", "应收费用")
    m.click(panel(page).locator(".lz-setting-lzp-reader_departments").get_by_label("财务"))


def diagram(page):
    return page.locator(".lz-d-diagram")


def add_step(m: Meter, name: str) -> None:
    m.click(m.page.get_by_role("button", name="+ Step"))
    expect(m.page.locator("#lzs-name")).to_be_focused()
    m.type(name)
    m.press("Enter")
    expect(panel(m.page).locator("#lz-d-panel-title")).to_contain_text(name)


def handler(m: Meter, query: str, choice: str) -> None:
    """Find the handler by name (typed, Enter) and take it with one click."""
    m.tab_to(m.page.locator("#lzs-who-q"))
    m.type(query)
    m.press("Enter")
    m.click(panel(m.page).locator(".lz-d-who-pick", has_text=choice).first)


def modes(m: Meter, step: str, wanted: dict[str, str]) -> None:
    """Show ``step`` on the canvas (one click in the diagram), then set each field's mode by keyboard."""
    m.click(diagram(m.page).locator(f'[data-lz-step]:has-text("{step}")').first)
    expect(m.page.locator("#lz-d-step-switch option:checked")).to_contain_text(step)
    order = ["hidden", "readonly", "editable", "required"]
    for label, mode in wanted.items():
        item = m.page.locator(".lz-d-field", has=m.page.locator(".lz-d-pick", has_text=label))
        button = item.locator(".lz-d-mode")
        now = item.get_attribute("class").split("lz-d-mode-")[1].split()[0]
        cycle = order[:2] if item.locator("[data-lz-computed]").count() else order
        m.tab_to(button)
        for _ in range((cycle.index(mode) - cycle.index(now)) % len(cycle)):
            m.press("Enter")
        expect(item).to_have_class(re.compile(f"lz-d-mode-{mode}"))


def select_step(m: Meter, name: str) -> None:
    m.click(diagram(m.page).locator(f'[data-lz-step]:has-text("{name}")').first)
    expect(panel(m.page).locator("#lz-d-panel-title")).to_contain_text(name)


def countersign(m: Meter) -> None:
    """The shown step becomes a countersign of every supervisor, decided by 审批意见 (pass: 同意), by keyboard."""
    page = m.page
    add(m, "radio", "审批意见")
    options = panel(page).get_by_label("Options, one a line: value=label")
    m.tab_to(options)
    page.keyboard.press("Control+A")
    m.keys += 1
    m.type("同意\n驳回")
    m.press("Tab")
    select_step(m, "主管会签")
    m.tab_to(panel(page).locator("summary", has_text="Countersign"))
    m.press("Enter", settle=False)
    m.pick(page.locator("#flow-sign_mode"), "All must pass (会签)")
    m.tab_to(page.locator(".lz-setting-flow-sign_of_roles").get_by_label("Supervisor"))
    m.press("Space")
    m.pick(page.locator("#flow-sign_decision"), "审批意见 (shen_pi_yi_jian)")
    m.pick(page.locator("#flow-sign_pass"), "同意")
    m.tab_to(page.get_by_role("button", name="Save the countersign"))
    m.press("Enter")


def guard(m: Meter) -> None:
    """上门维修 → 财务结算 directly, offered only when 品类 is 微波炉 (the value chosen from the dictionary)."""
    page = m.page
    select_step(m, "上门维修")
    m.click(panel(page).locator(".lz-d-draw-to", has_text="财务结算"))
    expect(page.locator("#lzt-label")).to_be_focused()
    m.type("直接结算")
    m.press("Enter")
    m.pick(page.locator("#lzt-field"), "品类")
    m.pick(page.locator("#lzt-value"), "微波炉")
    accessible(page, "the transition panel")


def build_flow(m: Meter) -> None:
    add_step(m, "上门维修")
    handler(m, "上门", "上门工程师")
    add_step(m, "主管会签")
    countersign(m)
    add_step(m, "财务结算")
    handler(m, "财务", "财务")
    guard(m)
    modes(m, "登记派单", {"上门工程师": "required", "故障描述": "required", "应收费用": "hidden"})
    modes(m, "上门维修", {"故障描述": "readonly", "配件合计": "readonly"})
    modes(m, "主管会签", {"审批意见": "required", "配件合计": "readonly"})
    modes(m, "财务结算", {"配件合计": "readonly", "应收费用": "required"})


def publish(m: Meter) -> None:
    page = m.page
    m.click(page.get_by_role("button", name="Publish…"))
    expect(page.locator(".lz-d-changes")).to_be_visible()
    expect(page.locator(".lz-d-changes")).to_contain_text("first version: 9 fields, 4 steps")
    accessible(page, "the publish dialog")
    m.click(page.get_by_role("button", name="Publish version 1"))
    expect(page.locator(".lz-d-said")).to_contain_text("Published version 1")


def published_document() -> dict:
    with database.connection_context():
        return docs.latest_version(CODE).document


def check_published(doc: dict) -> None:
    """What the designer wrote is the format-2 repair process the issue asks for."""
    steps = {s["name"]: s for s in doc["steps"]}
    assert list(steps) == ["登记派单", "上门维修", "主管会签", "财务结算"]
    assert doc["format"] == 2
    assert steps["上门维修"]["assignee"] == {"type": "field", "value": "shang_men_gong_cheng_shi"}
    assert steps["主管会签"]["sign"]["mode"] == "all" and steps["主管会签"]["sign"]["decision"] == "shen_pi_yi_jian"
    assert steps["财务结算"]["assignee"]["type"] == "department" and steps["财务结算"]["assignee"]["value"] == "finance"
    guarded = [t for t in steps["上门维修"]["transitions"] if "when" in t]
    assert guarded and guarded[0]["label"] == "直接结算"
    assert guarded[0]["when"]["properties"]["pin_lei"] == {"const": "mw"}
    assert steps["财务结算"]["fields"]["ying_shou_fei_yong"] == "required"
    assert "ying_shou_fei_yong" not in steps["登记派单"]["fields"]


def agent_registers(person) -> str:
    """The agent registers a repair with the published process (Chinese UI) and gets its number."""
    page = person("agent", "zh-CN")
    page.goto(f"/call?process={CODE}&phone=13700002222")
    page.get_by_label(re.compile(r"^\s*客户姓名")).fill("周女士")
    page.select_option("select[name=pin_lei]", "fr")
    expect(page.locator("select[name=xing_hao] option[value=fr-450]")).to_have_count(1)
    page.select_option("select[name=xing_hao]", "fr-450")
    expect(page.locator("input[name=bao_xiu_qi_yue]")).to_have_value("36")  # warranty from the model
    page.get_by_label(re.compile(r"^\s*故障描述")).fill("冰箱不制冷")
    page.locator("input[name=pei_jian_ming_xi-0-item]").fill("压缩机")
    page.locator("input[name=pei_jian_ming_xi-0-shu_liang]").fill("2")
    page.locator("input[name=pei_jian_ming_xi-0-dan_jia]").fill("350.55")
    expect(page.locator("input[name=pei_jian_he_ji]")).to_have_value("701.1")  # the computed total, live
    engineer = page.get_by_role("combobox", name=re.compile(r"^\s*上门工程师"))
    engineer.press_sequentially("马")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.locator("select[name=shang_men_gong_cheng_shi]")).to_have_value("eng1")
    with page.expect_navigation():
        page.get_by_role("button", name="提交工单").click()
    with database.connection_context():
        ticket = Ticket.select().order_by(Ticket.id.desc()).first()
        return ticket.number, ticket.step, ticket.assignee.username, ticket.data


def test_admin_designs_the_repair_process_and_an_agent_uses_it(person):
    admin = person("admin", "en")
    admin.goto("/admin/processes/new")
    accessible(admin, "the new process page")
    admin.get_by_label("Name", exact=True).fill("报修登记")
    admin.get_by_label("Name of the first step").fill("登记派单")
    with admin.expect_navigation():
        admin.get_by_role("button", name="Create").click()
    assert admin.url.endswith(f"/admin/processes/{CODE}/design")
    m = Meter(admin)
    build_fields(m)
    snap(admin, "designer-form-1440")
    print(f"\ndesigner (fields): {m.report()}")
    assert m.loads == 0
    with database.connection_context():
        doc = Process.get(Process.code == CODE).draft
    fields = doc["schema"]["properties"]
    assert [s["title"] for s in fields.values()] == ["品类", "型号", "保修期（月）", "故障描述", "上门工程师",
                                                     "配件明细", "配件合计", "应收费用"]
    assert fields["xing_hao"]["x-cascade"] == "pin_lei"
    assert fields["bao_xiu_qi_yue"]["x-formula"] == {"item": ["product", {"var": "xing_hao"}, "warranty_months"]}
    assert fields["ying_shou_fei_yong"]["x-readers"] == {"departments": ["finance"]}
    assert list(fields["pei_jian_ming_xi"]["items"]["properties"]) == ["item", "shu_liang", "dan_jia"]
    accessible(admin, "the field panel")
    build_flow(m)
    accessible(admin, "the step panel")
    snap(admin, "designer-flow-1440")
    admin.set_viewport_size({"width": 1024, "height": 768})  # a tablet
    snap(admin, "designer-flow-1024")
    accessible(admin, "the designer at 1024 px")
    admin.set_viewport_size({"width": 1440, "height": 900})
    publish(m)
    print(f"\ndesigner (fields, flow, publish): {m.report()}")
    assert m.loads == 0 and m.clicks <= 45
    check_published(published_document())
    admin.goto(f"/admin/processes/{CODE}/migrate")
    accessible(admin, "the migration page")
    number, step, assignee, data = agent_registers(person)
    assert (step, assignee) == ("shang_men_wei_xiu", "eng1")
    assert str(data["pei_jian_he_ji"]) == "701.1" and data["bao_xiu_qi_yue"] == 36


def drag(page, source, target, steps: int = 20) -> None:
    """Press on ``source``, move in small steps to the top of ``target``, release (as a hand does)."""
    start, end = source.bounding_box(), target.bounding_box()
    x, y = start["x"] + 4, start["y"] + 4
    page.mouse.move(x, y)
    page.mouse.down()
    for i in range(1, steps + 1):
        page.mouse.move(x + (end["x"] + 8 - x) * i / steps, y + (end["y"] + 6 - y) * i / steps)
        page.wait_for_timeout(15)
    page.mouse.up()


def field_keys(page) -> list[str]:
    return page.eval_on_selector_all("[data-lz-key]", "els => els.map(e => e.dataset.lzKey)")


def test_drag_and_keys_arrange_fields_and_ctrl_z_undoes(person):
    admin = person("admin", "en", width=1024)
    admin.goto("/admin/processes/return_goods/design")
    m = Meter(admin)
    first = field_keys(admin)
    drag(admin, admin.locator("li[data-lz-kind=date]"), admin.locator(f"[data-lz-key={first[1]}]"))
    m.settle()
    assert field_keys(admin)[:3] == [first[0], "date", first[1]]  # dropped where it landed
    drag(admin, admin.locator(f"[data-lz-key={first[2]}] .lz-d-handle"), admin.locator(f"[data-lz-key={first[0]}]"))
    m.settle()
    assert field_keys(admin)[0] == first[2]
    admin.locator(f"[data-lz-key={first[2]}] .lz-d-pick").focus()
    admin.keyboard.press("Alt+ArrowDown")
    m.settle()
    assert field_keys(admin)[1] == first[2]
    expect(admin.locator(f"[data-lz-key={first[2]}] .lz-d-pick")).to_be_focused()  # the cursor stays on it
    admin.locator("body").click(position={"x": 5, "y": 300})
    admin.keyboard.press("Control+z")
    m.settle()
    assert field_keys(admin)[0] == first[2]
    admin.keyboard.press("Control+y")
    m.settle()
    assert field_keys(admin)[1] == first[2]
    assert m.loads == 0
