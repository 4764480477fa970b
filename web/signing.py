"""The ticket page's countersign part: a signer's step form, the signatures panel and the rule's progress.

No routes of its own: the form posts action ``sign`` to ``/tickets/<n>/act`` like ``advance``
does, through the one step submission (``web/common/submit.submit``); the engine decides
(``workflows/tickets/signing.py``). See docs/countersign.md.
"""

from __future__ import annotations

from flask import flash, request
from flask_babel import gettext

from formbuilder.display import display
from workflows.processes import documents as docs
from workflows.storage.models import Ticket, User
from workflows.tickets import engine, signing
from workflows.tickets.access import signs, unreadable
from workflows.tickets.assignment import Context, offered

from .common.submit import submit


def progress(sign: dict | None) -> str:
    """"2 of 3 signed, all must pass" / "need 60%: 1 of 5 passed": the rule and where it stands."""
    if not sign:
        return ""
    done, total = sign["passed"] + sign["failed"], sign["total"]
    if sign["mode"] == "all":
        return gettext("%(signed)s of %(total)s signed, all must pass", signed=done, total=total)
    if sign["mode"] == "any":
        return gettext("%(signed)s of %(total)s signed, one pass is enough", signed=done, total=total)
    return gettext("Need %(percent)s%%: %(passed)s of %(needed)s passes so far (%(total)s signers)",
                   percent=round((sign["ratio"] or 0) * 100), passed=sign["passed"], needed=sign["needed"],
                   total=total)


def outcome(sign: dict | None) -> str:
    if not sign or sign["result"] is None:
        return gettext("Still to sign: %(num)s", num=sign["waiting"]) if sign else ""
    return gettext("Passed") if sign["result"] == "pass" else gettext("Not passed")


def rows(ticket: Ticket, view: dict, dictionaries) -> list[dict]:
    """Each signature for the panel: name, state, decision label, the signer's other values, comment, time."""
    if not view["sign"]:
        return []
    properties = ticket.process_version.document["schema"]["properties"]
    step = next(s for s in ticket.process_version.document["steps"] if s["key"] == view["sign"]["step"])
    decision = step["sign"]["decision"]
    names = dict(User.select(User.username, User.name).where(
        User.username.in_([s["user"] for s in view["signatures"]])).tuples())
    found, states = [], {"waiting": gettext("Not signed yet"), "signed": gettext("Signed"),
                      "released": gettext("Released (not needed)")}
    for part in view["signatures"]:
        values = part["data"]
        found.append({
            "user": part["user"], "name": names.get(part["user"]) or part["user"], "state": part["state"],
            "state_label": states[part["state"]],
            "decision": display(properties[decision], values[decision], dictionaries) if decision in values else "",
            "values": [(properties[k].get("title", k), display(properties[k], v, dictionaries))
                       for k, v in values.items() if k != decision and k in properties and v not in (None, "")],
            "comment": part["comment"], "at": part["signed_at"]})
    return found


def context(user: User, ticket: Ticket, dictionaries, form=None) -> dict:
    """What ``tickets/_signatures.html`` needs; ``form``: the signer's form as posted (shown again with errors)."""
    signer = signs(user, ticket)
    if signer and form is None:
        compiled = docs.compiled(ticket.process_version, ticket.step)
        form = compiled.form_class(None, data=ticket.data, dictionaries=dictionaries,
                                   unreadable=unreadable(user, ticket.process_version))
    panels = [panel(user, ticket, step, parts, dictionaries) for step, parts in signing.latest_rounds(ticket)]
    return {"sign_panels": panels, "sign_form": form if signer else None,
            "sign_current": signing.at_sign_step(ticket), "sign_transfer_to": hand_to(ticket) if signer else [],
            "sign_choices": choices(user, ticket) if signer else {}}


def panel(user: User, ticket: Ticket, step: dict, parts: list, dictionaries) -> dict:
    """One countersign step's latest round as the page shows it: the rule's progress and each signature."""
    view = signing.present(user, ticket, parts, step=step)
    return {"view": view, "step": step, "rows": rows(ticket, view, dictionaries), "progress": progress(view["sign"]),
            "outcome": outcome(view["sign"])}


def hand_to(ticket: Ticket) -> list[User]:
    """Whom a signer may hand their part to: the candidates without a part in this round (the engine checks again)."""
    step = next(s for s in ticket.process_version.document["steps"] if s["key"] == ticket.step)
    if not step.get("allow_transfer"):
        return []
    taken = {p.signer_id for p in signing.round_of(ticket) if p.state in signing.COUNTED}
    return [u for u in signing.transfer_candidates(ticket, step) if u.id not in taken]


def choices(user: User, ticket: Ticket) -> dict[str, list[User]]:
    """For each transition whose target is handled by someone picked by hand, whom the signer may name
    (used only if their signature decides the step and that transition is taken)."""
    step = next(s for s in ticket.process_version.document["steps"] if s["key"] == ticket.step)
    steps = {s["key"]: s for s in ticket.process_version.document["steps"]}
    found = {}
    for transition in step.get("transitions", []):
        target = steps.get(transition["to"])
        if target is not None and not target.get("sign"):
            people = offered(target["assignee"], Context(ticket.process_version.document["code"], target,
                                                         ticket.creator, user))
            if people:
                found[transition["to"]] = people
    return found


def named(ticket: Ticket) -> dict[str, str]:
    step = next(s for s in ticket.process_version.document["steps"] if s["key"] == ticket.step)
    return {t["to"]: request.form.get(f"assignee_{t['to']}") or "" for t in step.get("transitions", [])}


def sign(user: User, ticket: Ticket, render):
    """The signer's form through the one submission; ``render(ticket, form, status)`` if refused, else None."""
    compiled = docs.compiled(ticket.process_version, ticket.step)
    hidden = unreadable(user, ticket.process_version)
    done, submission = submit(compiled, ticket.data, lambda data, files: engine.act(
        user, ticket.number, "sign", version=request.form.get("version", type=int), data=data, files=files or None,
        comment=request.form.get("comment"), assignee=named(ticket)), unreadable=hidden)
    if done is None:
        if submission.message:
            flash(submission.message)
        return render(ticket, submission.form, submission.status)
    return None
