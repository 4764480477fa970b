"""The demo organisation, its own copies of the return-goods documents, the format-2 repair and IT change processes."""

from __future__ import annotations

import json
from importlib import resources

from workflows.calendars import store as calendars
from workflows.people import org
from workflows.processes import documents as docs
from workflows.storage.models import Department, User

DICTIONARIES = ("channel.dictionary.json", "product.dictionary.json", "kb_category.dictionary.json")
#: Working-time calendars (docs/calendars.md), seeded before the processes whose SLAs name them.
CALENDARS = ("cn_workdays.calendar.json",)
#: return_goods (format 1, as ../shared/examples has it), repair and it_change (format 2: docs/examples/, whose
#: it_change counts its SLA and timeout on the cn_workdays calendar: stored before it is published).
PROCESSES = ("return_goods.process.json", "repair.process.json", "it_change.process.json")
PASSWORD = "demo12345"
# code, name, manager
DEPARTMENTS = (
    ("service", "客服中心", "supervisor"),
    ("warehouse", "仓库", "wh_lead"),
    ("finance", "财务", "fin_lead"),
    ("repair", "维修部", "eng_lead"),
    # it_change (docs/flows.md): one signer in each of network, dba and security (会签 all), a CAB of three
    # managers (或签 any), the implementers and their manager (SLA escalation notifies them).
    ("network", "网络组", "net1"),
    ("dba", "数据库组", "dba1"),
    ("security", "信息安全组", "sec1"),
    ("cab", "变更委员会", "cab1"),
    ("itops", "运维组", "ops_lead"),
)
# username, role, department, name
USERS = (
    ("admin", "admin", None, "管理员"),
    ("supervisor", "supervisor", "service", "主管王"),
    ("supervisor2", "supervisor", "service", "主管李"),
    ("agent", "agent", "service", "坐席小张"),
    ("wh1", "handler", "warehouse", "仓管小陈"),
    ("wh2", "handler", "warehouse", "仓管小刘"),
    ("wh_lead", "supervisor", "warehouse", "仓库主管赵"),
    ("fin1", "handler", "finance", "财务小周"),
    ("fin2", "handler", "finance", "财务小吴"),
    ("fin_lead", "supervisor", "finance", "财务主管孙"),
    ("eng1", "handler", "repair", "工程师马师傅"),
    ("eng2", "handler", "repair", "工程师高师傅"),
    ("eng_lead", "supervisor", "repair", "维修主管钱"),
    ("net1", "handler", "network", "网络工程师林"),
    ("dba1", "handler", "dba", "DBA 郑工"),
    ("sec1", "handler", "security", "安全工程师何"),
    ("cab1", "supervisor", "cab", "CAB 经理冯"),
    ("cab2", "supervisor", "cab", "CAB 经理陈"),
    ("cab3", "supervisor", "cab", "CAB 经理褚"),
    ("ops1", "handler", "itops", "运维小杨"),
    ("ops2", "handler", "itops", "运维小朱"),
    ("ops_lead", "supervisor", "itops", "运维主管秦"),
)


def _load(name: str) -> dict:
    return json.loads(resources.files(__package__).joinpath(name).read_text("utf-8"))


def seed_org() -> list[str]:
    """Create the demo departments and users that do not exist yet, then their managers."""
    lines = []
    for code, name, _ in DEPARTMENTS:
        if Department.get_or_none(Department.code == code) is None:
            org.create_department(code, name)
            lines.append(f"department {code} created")
    for username, role, department, name in USERS:
        if User.get_or_none(User.username == username) is None:
            org.create_user(username, PASSWORD, role, department=department, name=name)
            lines.append(f"user {username} created")
    for code, _, manager in DEPARTMENTS:
        if Department.get(Department.code == code).manager_id is None:
            org.set_manager(code, manager)
    return lines


def seed_documents() -> list[str]:
    """Import the demo dictionaries and publish the return-goods, repair and IT change processes."""
    lines = []
    for name in DICTIONARIES:
        document = _load(name)
        if docs.dictionary_indexes().get(document["code"]) is None:
            docs.import_dictionary(document)
            lines.append(f"dictionary {document['code']} imported")
    for name in CALENDARS:
        document = _load(name)
        if calendars.get(document["code"]) is None:
            calendars.save_calendar(document, None, "calendar.import")
            lines.append(f"calendar {document['code']} imported")
    for name in PROCESSES:
        _, version = docs.save_process(_load(name), publish=True, actor="demo")
        lines.append(f"process {version.process.code} version {version.number} published")
    return lines


def logins() -> list[str]:
    """The demo logins, one line each: username, role, password."""
    width = max(len(username) for username, *_ in USERS)
    return ["Demo logins (username, role, password):"] + [
        f"  {username:<{width}}  {role:<10}  {PASSWORD}" for username, role, *_ in USERS]


def seed(tickets: bool = False) -> list[str]:
    """Seed the organisation, then the documents, then (``tickets``) the sample tickets; running it again
    changes nothing. Tests seed without tickets; ``python app.py`` and ``flask demo`` with (docs/demo.md)."""
    from workflows.demo.kb import seed_articles  # the knowledge base's demo articles (docs/kb.md), with the tickets
    from workflows.demo.tickets import seed_tickets  # the engine and its subscribers: only when asked for

    return seed_org() + seed_documents() + (seed_tickets() + seed_articles() if tickets else []) + logins()
