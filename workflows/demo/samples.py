"""The demo's sample tickets as scripts: who registered what and when, and what happened to it since.

Fixed content (no randomness), so pages, screenshots and docs/demo.md stay the same; only the
times move with the day of seeding (``tickets.moment``: ``-25m``, ``-3h`` before now, or a day
and a Beijing time, ``-2d 09:12``). ``who`` is a username, or ``@`` for whoever holds the ticket
at that moment (the process's round robin or least-loaded pick chose them); ``scripts.py`` has
the shapes. The return-goods and repair samples are here, the IT changes in ``samples_it.py``.
"""

from __future__ import annotations

from workflows.demo.samples_it import IT_CHANGES
from workflows.demo.scripts import Sample, Step, note, step

# The callers: several call more than once, so the call page shows a history.
WANG = {"name": "王建国", "phone": "13800138001", "email": "wangjg@example.com"}
LI = {"name": "李秀英", "phone": "13911112222"}
ZHANG = {"name": "张伟", "phone": "13700001234"}
LIU = {"name": "刘芳", "phone": "13612345678", "email": "liufang@example.com"}
CHEN = {"name": "陈明", "phone": "15900002222"}
YANG = {"name": "杨丽", "phone": "18612340000"}
ZHAO = {"name": "赵强", "phone": "13522223333"}
HUANG = {"name": "黄敏", "phone": "18800001111"}
ZHOU = {"name": "周杰", "phone": "13300004444"}

#: The files the samples attach, made in code (``tickets.upload``): a PNG's colour, a PDF's one line, a text.
FILES = {
    "微波炉门裂纹.png": (200, 60, 60), "冰箱侧板凹陷.png": (90, 140, 210), "空调外机.png": (120, 180, 120),
    "包装破损.png": (210, 170, 80), "压缩机启动器.png": (150, 150, 150), "温控器.png": (180, 120, 200),
    "现场照片.png": (70, 110, 160), "证书申请单.pdf": "LDAP certificate request CSR-2026-118",
    "发票.pdf": "Invoice JD20261118-2207  RMB 3299.00",
    "退货说明.txt": "冰箱侧板运输中凹陷，已按原包装寄回。\n快递单号 SF1400233456。\n",
}


def goods(order: str, category: str, model: str, defect: str, source: str = "phone", days: int = 20) -> dict:
    """A return-goods registration: the order, the product (``category``/``model`` from the product dictionary)."""
    return {"order_no": order, "source": source, "category": category, "model": model,
            "purchase_date": f"@date -{days}d", "defect": defect}


APPROVE = {"data": {"approval": "approve"}, "transition": "warehouse"}


def received(described: str = "yes", finance: str = "fin1") -> dict:
    return {"data": {"received": True, "received_at": "@now", "as_described": described},
            "transition": "finance", "assignee": finance}


def refund(amount: float, channels: tuple[str, ...] = ("original",)) -> dict:
    return {"data": {"refund_amount": amount, "refund_channels": list(channels)}, "transition": "$end"}


RETURN_GOODS = (
    Sample("R01", "approve", "return_goods", "agent", "-25m", customer=ZHANG, files={"photos": ["微波炉门裂纹.png"]},
           data=goods("JD20261201-3381", "mw", "mw-a1", "微波炉门玻璃有裂纹，收货当天发现。")),
    Sample("R02", "approve, urgent", "return_goods", "agent", "-70m", customer=WANG, priority="urgent",
           data=goods("JD20261203-0912", "fr", "fr-200", "冰箱不制冷，客户要求退货，情绪激动。", days=6),
           then=(note("-60m", "agent", "客户第二次来电，@supervisor 请优先审批。"),)),
    Sample("R03", "approve, overdue", "return_goods", "agent", "-1d 10:20", customer=LI,
           data=goods("JD20261125-7710", "ac", "ac-1p", "空调外机噪音大，安装师傅说是机器问题。"),
           files={"photos": ["空调外机.png"]}),
    Sample("R04", "approve, overdue", "return_goods", "agent", "-2d 16:05", customer=YANG, channel="online",
           data=goods("JD20261120-5521", "mw", "mw-a2", "转盘不转，加热正常。", source="online"),
           then=(note("-1d 09:30", "agent", "客户在线催问进度，已安抚。"),)),
    Sample("R05", "approve", "return_goods", "agent", "-3h", customer=CHEN,
           data=goods("JD20261202-1177", "fr", "fr-450", "冷藏室灯不亮，门封条脱落。", days=4),
           then=(note("-2h", "agent", "门封条脱落位置已确认，@supervisor2 这位客户上周也投诉过。"),)),
    Sample("R06", "returned to the agent", "return_goods", "agent", "-1d 11:40", customer=HUANG,
           data=goods("JD2026112-0001", "mw", "mw-a1", "外壳掉漆。"),
           then=(step("-1d 14:10", "return", comment="订单号位数不对，请与客户核实后重新提交。"),)),
    Sample("R07", "warehouse", "return_goods", "agent", "-1d 09:15", customer=LIU,
           files={"photos": ["冰箱侧板凹陷.png"]},
           data=goods("JD20261118-2207", "fr", "fr-450", "冰箱侧板运输凹陷，包装也有破损。"),
           then=(step("-1d 10:02", "advance", **APPROVE),
                 note("-1d 10:30", "agent", "客户说今天下午三点前在家，@wh1 请安排取件。"),
                 step("-4h", "mail", subject="发票和退货说明", text="您好，附件是发票和退货说明，请查收。",
                      files=["发票.pdf", "退货说明.txt"]))),
    Sample("R08", "warehouse, overdue", "return_goods", "agent", "-5d 10:00", customer=ZHAO,
           data=goods("JD20261110-0456", "ac", "ac-3p", "柜机显示 E4 故障码，反复报修未解决。", days=40),
           files={"photos": ["包装破损.png"]},
           then=(step("-5d 11:20", "advance", **APPROVE),
                 note("-3d 15:00", "@", "快递在途，预计明天到仓。"),
                 note("-1d 16:40", "supervisor", "@wh_lead 这单已超时，请跟进。"))),
    Sample("R09", "warehouse, transferred", "return_goods", "agent", "-2d 09:40", customer=ZHOU,
           data=goods("JD20261122-8803", "mw", "mw-a2", "按键失灵。"),
           then=(step("-2d 13:00", "advance", **APPROVE),
                 step("-1d 10:00", "transfer", assignee="wh1", comment="我明天休假，转给小陈跟进收货。"))),
    Sample("R10", "finance", "return_goods", "agent", "-2d 10:30", customer=WANG,
           data=goods("JD20261119-6620", "mw", "mw-a1", "通电后跳闸。"),
           then=(step("-2d 11:00", "advance", **APPROVE), step("-2h", "advance", **received()))),
    Sample("R11", "finance, overdue", "return_goods", "agent", "-6d 14:00", customer=CHEN,
           data=goods("JD20261108-3390", "fr", "fr-200", "冷冻室结霜严重。", days=30),
           then=(step("-6d 15:30", "advance", **APPROVE), step("-4d 10:10", "advance", **received("no", "fin2")),
                 note("-4d 10:15", "@", "实物与描述不符：结霜系使用不当，@fin2 退款金额请与主管确认。"))),
    Sample("R12", "warehouse, returned by finance", "return_goods", "agent", "-3d 09:20", customer=YANG,
           data=goods("JD20261115-4471", "ac", "ac-1p", "遥控器缺失。"),
           then=(step("-3d 10:00", "advance", **APPROVE), step("-2d 15:00", "advance", **received()),
                 step("-3h", "return", comment="收货时间填错了，请仓库核对签收单。"))),
    Sample("R13", "closed, refused", "return_goods", "agent", "-3d 14:20", customer=LI,
           data=goods("JD20260905-1020", "mw", "mw-a1", "使用三个月后不想要了。", days=90),
           then=(step("-3d 16:00", "advance", data={"approval": "reject",
                                                    "reject_reason": "已超过七天无理由退货期，且无质量问题。"},
                      transition="$end"),)),
    Sample("R14", "closed, rated 5", "return_goods", "agent", "-6d 09:05", customer=HUANG,
           data=goods("JD20261102-2218", "fr", "fr-200", "门把手断裂。", days=35),
           files={"photos": ["包装破损.png"]},
           then=(step("-6d 10:00", "advance", **APPROVE), step("-5d 14:00", "advance", **received()),
                 step("-4d 11:00", "advance", **refund(1299)),
                 step("-4d 18:20", "rate", score=5, comment="处理很快，退款已到账，谢谢！"))),
    Sample("R15", "closed, rated 2", "return_goods", "agent", "-5d 15:10", customer=ZHANG,
           data=goods("JD20261106-5502", "ac", "ac-1p", "制热效果差。", days=28),
           then=(step("-5d 16:00", "advance", **APPROVE), step("-3d 10:30", "advance", **received("yes", "fin2")),
                 step("-2d 17:00", "advance", **refund(1800, ("original", "coupon"))),
                 step("-1d 09:00", "rate", score=2, comment="退款太慢了，前后等了一周，希望改进。"))),
    Sample("R16", "closed", "return_goods", "agent", "-4d 10:40", customer=ZHOU,
           data=goods("JD20261112-9034", "mw", "mw-a2", "内腔有异味。"),
           then=(step("-4d 11:30", "advance", **APPROVE), step("-2d 10:00", "advance", **received()),
                 step("-1d 15:30", "advance", **refund(499)))),
)


def repair(category: str, model: str, fault: str, address: str, engineer: str, parts: list | None = None) -> dict:
    return {"category": category, "model": model, "purchase_date": "@date -300d", "fault": fault,
            "address": address, "engineer": engineer, "parts": parts or []}


def visited(labour: float, note_text: str, parts: list | None = None) -> dict:
    data = {"labour": labour, "repair_note": note_text, **({"parts": parts} if parts is not None else {})}
    return {"data": data, "transition": "warehouse"}


WANG_HOME = "上海市浦东新区张杨路 1200 弄 5 号 302"
STARTER = [{"part": "压缩机启动器", "qty": 1, "price": 85}]
THERMO = [{"part": "温控器", "qty": 1, "price": 60}, {"part": "门封条", "qty": 2, "price": 25}]
OUT = {"data": {}, "transition": "settle"}
SETTLED = {"data": {"paid": True}, "transition": "$end"}

REPAIRS = (
    Sample("P01", "visit", "repair", "agent", "-40m", customer=WANG,
           data=repair("fr", "fr-450", "冰箱冷藏室不制冷，压缩机不启动。", WANG_HOME, "eng1", STARTER),
           files={"parts/0/photo": ["压缩机启动器.png"]}),
    Sample("P02", "visit", "repair", "agent", "-1d 13:20", customer=LI,
           data=repair("ac", "ac-3p", "柜机不出风，显示屏正常。", "上海市徐汇区漕溪北路 88 号 1801", "eng2"),
           then=(Step("-1d 15:00", "note", "eng2", {"text": "已约客户明天上午十点上门，附上客户发来的**现场照片**。",
                                                    "files": ["现场照片.png"]}),)),
    Sample("P03", "visit, returned by the warehouse", "repair", "agent", "-2d 10:10", customer=CHEN,
           data=repair("fr", "fr-200", "冷冻室温度偏高。", "上海市静安区南京西路 1515 号 906", "eng1", THERMO),
           then=(step("-1d 16:00", "advance", **visited(150, "更换温控器和门封条，需出库配件。")),
                 step("-5h", "return", comment="门封条型号与 200 升冰箱不符，请工程师确认后重新申请。"))),
    Sample("P04", "visit", "repair", "agent", "-3h", customer=ZHAO,
           data=repair("mw", "mw-a1", "微波炉加热时有火花。", "上海市闵行区莘庄镇沪闵路 6088 号", "eng_lead"),
           then=(note("-2h", "agent", "客户是老用户，@eng_lead 麻烦安排经验丰富的师傅。"),)),
    Sample("P05", "warehouse", "repair", "agent", "-1d 09:30", customer=YANG,
           data=repair("fr", "fr-450", "冰箱噪音大，夜间明显。", "上海市长宁区天山路 789 号 1203", "eng2", STARTER),
           files={"parts/0/photo": ["温控器.png"]},
           then=(step("-5h", "advance", **visited(120, "更换压缩机启动器后噪音消失。")),)),
    Sample("P06", "warehouse", "repair", "agent", "-2d 14:00", customer=HUANG,
           data=repair("ac", "ac-1p", "空调漏水。", "上海市杨浦区国定路 335 号 502", "eng1"),
           then=(step("-1d 10:30", "advance", **visited(80, "排水管堵塞，已疏通；需更换保温棉。",
                                                         [{"part": "保温棉", "qty": 2, "price": 15}])),)),
    Sample("P07", "settle", "repair", "agent", "-3d 10:00", customer=ZHANG,
           data=repair("mw", "mw-a2", "转盘电机不转。", "上海市普陀区长寿路 652 号 1101", "eng2",
                       [{"part": "转盘电机", "qty": 1, "price": 45}]),
           then=(step("-2d 15:00", "advance", **visited(60, "更换转盘电机。")), step("-1d 11:00", "advance", **OUT))),
    Sample("P08", "warehouse, returned by finance", "repair", "agent", "-4d 09:50", customer=LIU,
           data=repair("fr", "fr-200", "冰箱门关不严。", "上海市黄浦区西藏中路 268 号 703", "eng1", THERMO[1:]),
           then=(step("-3d 14:00", "advance", **visited(50, "更换门封条两根。")), step("-2d 10:00", "advance", **OUT),
                 step("-1d 16:00", "return", comment="出库单与配件明细数量不一致，请仓库重新核对。"))),
    Sample("P09", "register, returned to the agent", "repair", "agent", "-4h", customer=ZHOU,
           data=repair("ac", "ac-3p", "柜机制冷效果差。", "上海市宝山区", "eng2"),
           then=(step("-2h", "return", comment="地址不全，缺门牌号，请联系客户补充。"),)),
    Sample("P10", "closed, rated 5", "repair", "agent", "-6d 10:30", customer=WANG,
           data=repair("ac", "ac-1p", "空调异味。", WANG_HOME, "eng1"),
           then=(step("-5d 14:00", "advance", **visited(100, "清洗蒸发器，消毒。")),
                 step("-5d 16:00", "advance", **OUT),
                 step("-4d 10:00", "advance", **SETTLED), step("-4d 12:00", "rate", score=5, comment="师傅很专业。"))),
    Sample("P11", "closed, rated 3", "repair", "agent", "-5d 11:00", customer=CHEN,
           data=repair("mw", "mw-a1", "按键面板失灵。", "上海市静安区南京西路 1515 号 906", "eng2",
                       [{"part": "按键面板", "qty": 1, "price": 70}]),
           then=(step("-4d 15:00", "advance", **visited(60, "更换按键面板。")),
                 step("-4d 20:00", "reply", text="师傅迟到了一个小时，不过修好了。"),
                 step("-3d 10:00", "advance", **OUT), step("-2d 14:00", "advance", **SETTLED),
                 step("-1d 10:00", "rate", score=3, comment="修好了，但上门迟到。"))),
    Sample("P12", "closed", "repair", "agent", "-3d 09:00", customer=ZHAO,
           data=repair("fr", "fr-450", "制冰机不出冰。", "上海市闵行区莘庄镇沪闵路 6088 号", "eng_lead"),
           then=(step("-2d 10:00", "advance", **visited(0, "在保修期内免人工费：重置制冰模式即恢复。")),
                 step("-2d 14:00", "advance", **OUT),
                 step("-1d 11:00", "advance", **SETTLED))),
)

SAMPLES = RETURN_GOODS + REPAIRS + IT_CHANGES
