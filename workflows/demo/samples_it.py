"""The demo's sample IT changes (it_change): countersign half done, returned, at the CAB, implemented,
waiting, overdue, verified and closed. The same script shapes as ``samples.py`` (``scripts.py``)."""

from __future__ import annotations

from workflows.demo.scripts import Sample, Step, note, step


def change(title: str, systems: list[str], start: str, hours: int, risk: str, plan: str, rollback: str) -> dict:
    """An application: the window starts at ``start`` (a day and a Beijing time) and lasts ``hours``."""
    day, clock = start.split()
    end_hour = int(clock[:2]) + hours
    end = f"{int(day[:-1]) + end_hour // 24:+d}d {end_hour % 24:02d}:{clock[3:]}"
    return {"title": title, "systems": systems, "window_start": f"@time {start}", "window_end": f"@time {end}",
            "risk": risk, "plan": plan, "rollback": rollback}


def signed(at: str, who: str, decision: str = "approve", remark: str | None = None) -> Step:
    data = {"review": decision, **({"review_note": remark} if remark else {})}
    return step(at, "sign", who, data=data)


def all_signed(*moments: str) -> tuple[Step, ...]:
    """Network, DBA and security agree, at three moments."""
    return tuple(signed(at, who) for at, who in zip(moments, ("net1", "dba1", "sec1"), strict=True))


def cab(at: str, who: str, decision: str = "approve", remark: str | None = None) -> Step:
    return step(at, "sign", who, data={"cab_decision": decision, **({"cab_note": remark} if remark else {})})


def implemented(at: str, result: str) -> Step:
    return step(at, "advance", data={"result": result}, transition="verify")


def verified(at: str, outcome: str = "ok") -> Step:
    return step(at, "advance", data={"verified": outcome}, transition="$end" if outcome == "ok" else "implement")


IT_CHANGES = (
    Sample("C01", "countersign, nobody signed yet", "it_change", "ops_lead", "-1h", priority="high", channel=None,
           data=change("核心交换机固件升级", ["network"], "+2d 22:00", 4, "high",
                       "分两批升级核心交换机，先备机后主机。", "保留旧固件镜像，异常时 10 分钟内回切。")),
    Sample("C02", "countersign, two of three signed", "it_change", "supervisor", "-1d 14:00", channel=None,
           data=change("呼叫中心录音服务器扩容", ["server", "application"], "+3d 21:00", 3, "medium",
                       "新增两块 8T 硬盘并扩展录音卷。", "扩容失败时卸载新盘，录音写回原卷。"),
           then=(signed("-1d 16:00", "net1"), signed("-3h", "dba1", remark="不涉及数据库，同意。"))),
    Sample("C03", "countersign, one of three signed", "it_change", "eng_lead", "-5h", channel=None,
           data=change("维修派单系统数据库索引优化", ["database"], "+4d 23:00", 2, "low",
                       "为派单表增加 (engineer, status) 联合索引。", "删除新索引即可。"),
           then=(signed("-2h", "sec1", remark="无安全影响。"),)),
    Sample("C04", "returned to the applicant by a countersign", "it_change", "fin_lead", "-2d 10:00", channel=None,
           data=change("财务系统数据库版本升级", ["database", "application"], "+5d 22:00", 6, "high",
                       "PostgreSQL 升级到新大版本，使用 pg_upgrade。", "保留旧数据目录，回切旧版本。"),
           then=(signed("-2d 14:00", "net1"),
                 signed("-1d 10:00", "dba1", "reject", "回退方案缺少数据校验步骤，请补充后重新提交。"),
                 note("-1d 11:30", "fin_lead", "@dba1 收到，周一补充校验脚本后重新提交。"))),
    Sample("C05", "CAB, all three managers waiting", "it_change", "ops_lead", "-1d 09:30", channel=None,
           data=change("机房 UPS 电池更换", ["server"], "+6d 20:00", 4, "medium", "逐组更换 UPS 电池，市电直供。",
                       "更换中断时恢复旧电池组。"),
           then=all_signed("-1d 11:00", "-1d 14:30", "-6h")),
    Sample("C06", "implement", "it_change", "supervisor2", "-2d 11:00", channel=None,
           data=change("坐席软电话客户端升级", ["application"], "+1d 19:00", 2, "low", "分批推送新版客户端。",
                       "推送旧版安装包。"),
           then=(*all_signed("-2d 14:00", "-2d 15:00", "-1d 09:40"), cab("-90m", "cab1", remark="低风险，批准。"))),
    Sample("C07", "implement, urgent and overdue (manager notified)", "it_change", "ops_lead", "-8d 10:00",
           priority="urgent", channel=None,
           data=change("防火墙策略调整：开放新 CRM 接口", ["network", "application"], "-7d 20:00", 2, "medium",
                       "新增三条入站策略，仅放行 CRM 服务器地址。", "删除新增策略。"),
           then=(*all_signed("-8d 11:00", "-8d 11:30", "-8d 13:00"), cab("-8d 16:00", "cab2"),
                 note("-6d 10:00", "ops_lead", "@ops1 这是紧急变更，请今天完成。"))),
    Sample("C08", "waiting until a set time", "it_change", "eng_lead", "-3d 10:00", channel=None,
           data=change("维修备件库存系统迁移", ["server", "database"], "+3d 22:00", 5, "high",
                       "迁移到新虚拟化集群，数据库主从切换。", "切回旧集群，DNS 指回。"),
           then=(*all_signed("-3d 11:00", "-3d 14:00", "-3d 16:30"), cab("-2d 10:00", "cab3", remark="需供应商在场。"),
                 step("-1d 15:00", "wait", comment="等待供应商提供迁移脚本。", until="+2d 10:00"))),
    Sample("C09", "transferred, then waiting", "it_change", "admin", "-2d 09:00", channel=None,
           data=change("统一认证 LDAP 证书更新", ["server", "application"], "+2d 21:00", 1, "medium",
                       "替换 LDAP 服务器证书并重启服务。", "恢复旧证书。"),
           then=(*all_signed("-2d 10:00", "-2d 11:00", "-2d 13:00"), cab("-1d 11:00", "cab1"),
                 step("-1d 14:00", "transfer", assignee="ops_lead", comment="证书需主管账号申请，转秦主管。"),
                 Step("-1d 15:30", "note", "ops_lead", {"text": "证书申请已提交给 CA，申请单见附件。",
                                                         "files": ["证书申请单.pdf"]}),
                 step("-5h", "wait", comment="等待 CA 签发新证书。"))),
    Sample("C10", "verify (the applicant)", "it_change", "supervisor", "-3d 13:00", channel=None,
           data=change("工单系统邮件网关切换", ["application"], "-1d 20:00", 2, "low", "切换 SMTP 网关到新服务商。",
                       "配置改回旧网关。"),
           then=(*all_signed("-3d 15:00", "-3d 16:00", "-2d 09:30"), cab("-2d 14:00", "cab2"),
                 implemented("-3h", "已切换，测试邮件收发正常。"))),
    Sample("C11", "implement again: verification failed", "it_change", "wh_lead", "-4d 10:00", channel=None,
           data=change("仓库扫码枪驱动升级", ["application"], "-2d 19:00", 1, "low", "升级扫码枪驱动到新版本。",
                       "卸载新驱动，安装旧版。"),
           then=(*all_signed("-4d 11:00", "-4d 13:00", "-4d 15:00"), cab("-3d 10:00", "cab3"),
                 implemented("-2d 20:00", "驱动已升级。"), verified("-1d 10:00", "failed"),
                 note("-1d 10:05", "wh_lead", "二号仓的扫码枪仍无法识别条码，@ops_lead 请再看一下。"))),
    Sample("C12", "closed, verified", "it_change", "ops_lead", "-6d 09:00", channel=None,
           data=change("监控告警阈值调整", ["server"], "-5d 20:00", 1, "low", "CPU 告警阈值由 80% 调到 90%。",
                       "恢复原阈值。"),
           then=(*all_signed("-6d 10:00", "-6d 10:30", "-6d 11:00"), cab("-6d 14:00", "cab1"),
                 implemented("-5d 21:00", "已调整并观察一小时无误报。"), verified("-4d 10:00"))),
    Sample("C13", "closed, refused by the CAB", "it_change", "supervisor2", "-5d 10:00", channel=None,
           data=change("全量数据库迁移至新机房", ["database", "network"], "-3d 22:00", 8, "high",
                       "停机迁移全部业务数据库。", "切回旧机房。"),
           then=(*all_signed("-5d 11:00", "-5d 14:00", "-5d 16:00"),
                 cab("-4d 10:00", "cab1", "reject", "停机时间过长，请拆分方案。"), cab("-4d 11:00", "cab2", "reject"),
                 cab("-4d 15:00", "cab3", "reject", "同意拆分后再议。"))),
)
