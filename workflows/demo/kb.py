"""The demo knowledge base (issue 23, docs/kb.md): a few published articles, public and internal, and a draft."""

from __future__ import annotations

from workflows.kb import articles
from workflows.storage.models import Article, User

#: title, category, tags, visibility, status, body
ARTICLES = (
    ("冰箱不制冷怎么办", "repair", ["冰箱", "制冷"], "public", "published",
     "1. 检查电源插头是否插好。\n2. 温控旋钮调到 **4 档** 以上。\n3. 仍不制冷请登记报修，并提供型号和购买日期。"),
    ("七天无理由退货须知", "returns", ["退货", "退款"], "public", "published",
     "签收后七天内、商品完好且包装齐全的，可申请 **无理由退货**。\n\n"
     "退货运费：质量问题由我们承担，其它情况由顾客承担。"),
    ("洗衣机安装与首次使用", "install", ["洗衣机", "安装"], "public", "published",
     "- 拆除底部运输螺栓\n- 调平机身\n- 首次使用先空桶洗一次"),
    ("退货超过三千元的内部审批", "internal", ["退货", "审批"], "internal", "published",
     "退款金额超过 3000 元的退货单需主管在 **财务审核** 步骤前审批；在工单备注中 @ 主管。"),
    ("空调加氟收费标准（草稿）", "repair", ["空调"], "internal", "draft", "待财务确认。"),
)


def seed_articles() -> list[str]:
    """Create the demo articles once (as the demo supervisor), through the audited lifecycle."""
    if Article.select().exists():
        return []
    editor = User.get(User.username == "supervisor")
    lines = []
    for title, category, tags, visibility, status, body in ARTICLES:
        article = articles.create(editor, title=title, body=body, category=category, tags=tags,
                                  visibility=visibility)
        if status == "published":
            articles.submit(editor, article.number)
            articles.publish(editor, article.number)
        lines.append(f"article {article.number} {status}")
    return lines
