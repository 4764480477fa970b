"""Countersign steps (会签 / 或签, the step key ``sign``): each signer's part, the tally, the one resolution.

A step with ``sign`` has no handler: entering it gives every candidate of ``sign.of`` a waiting
:class:`Signature` (the ``moves.ENTERED`` hook). Each signer submits the step's editable fields
for themselves (``sign``); their values stay on their signature, not on the ticket. When the rule
(all / any / ratio) is decided, the ticket's ``decision`` field takes ``pass`` or the first other
choice, the parts still waiting are released and the step's transition is taken as an ``advance``
by the deciding signer, so returns, dwell times, notices and reports see an ordinary move.

Signatures by different signers do not conflict, so ``sign`` does not ask for the page's version:
it locks the ticket's row instead (``FOR UPDATE`` on PostgreSQL; SQLite's IMMEDIATE transaction
already serialises writers) and re-reads it, so exactly one signature decides a round.
See docs/countersign.md.
"""

from __future__ import annotations

import json
import math
from datetime import datetime

from peewee import PostgresqlDatabase

from formbuilder import Msg, validate_step
from formbuilder.messages import N_
from workflows.people import roster
from workflows.processes import documents as docs
from workflows.storage.db import database
from workflows.storage.models import Notification, Signature, Ticket, User
from workflows.storage.prepared import Prepared
from workflows.tickets import moves
from workflows.tickets.access import ALL, filter_data, handled_steps, unreadable, visible_fields
from workflows.tickets.assignment import NO_CANDIDATE, Context, candidates
from workflows.tickets.errors import Conflict, Invalid
from workflows.tickets.present import stamp, usernames

NOTHING_SAVED = moves.NOTHING_SAVED
NOT_A_SIGNER = N_("You have no part to sign at this step.")
SIGN_STEP = N_("At a countersign step each signer signs their part: the ticket moves on when the rule is met.")
NO_TRANSITION = N_("The countersign step was decided, but none of its next steps is available.")
#: The parts of a round that count (a transferred part's old row is released and left out).
COUNTED = ("waiting", "signed")


def rule(step: dict | None) -> dict | None:
    """The step's ``sign`` object, or None for an ordinary step."""
    return step.get("sign") if step else None


def at_sign_step(ticket: Ticket) -> bool:
    if ticket.step == moves.END:
        return False
    return rule(moves.step_of(ticket.process_version, ticket.step)) is not None


def round_of(ticket: Ticket):
    """The signatures of the ticket's current stay at its step (a later return starts a new round)."""
    return Signature.select().where(Signature.ticket == ticket, Signature.step == ticket.step,
                                    Signature.entered_at == ticket.entered_at)


def signers(ticket: Ticket, step: dict) -> list[User]:
    """The candidates of ``sign.of``: every one of them signs (a list of departments or roles is their union)."""
    ctx = Context(ticket.process_version.document["code"], step, ticket.creator, ticket.creator, ticket.id, ticket)
    return candidates(rule(step)["of"], ctx)


def on_entered(ticket: Ticket, step: dict, now: datetime) -> None:
    """``moves.ENTERED`` hook: release parts of earlier rounds; at a sign step, give each signer their part.

    A process without sign steps never had a part to release: no statement (issue 24's budget).
    """
    if any(rule(s) is not None for s in ticket.process_version.document["steps"]):
        release(ticket, now)
    if rule(step) is None:
        return
    people = signers(ticket, step)
    if not people:
        raise Invalid(Msg(NOTHING_SAVED), {"assignee": [Msg(NO_CANDIDATE, {"step": step["name"]})]})
    Signature.insert_many([{"ticket": ticket.id, "step": step["key"], "entered_at": now, "signer": person.id,
                            "state": "waiting", "data": {}, "created_at": now} for person in people]).execute()
    notify(ticket, people, "assigned", now)


def notify(ticket: Ticket, people: list[User], kind: str, now: datetime) -> None:
    """Tell each signer of their part, as the notifications subscriber tells a new handler (it sees no signers)."""
    Notification.insert_many([{"user": person.id, "ticket": ticket.id, "kind": kind, "created_at": now,
                               "message": f"{ticket.number}: sign"} for person in people]).execute()


def release(ticket: Ticket, now: datetime) -> int:
    """Release every part of the ticket still waiting outside the round starting ``now`` (the step was left)."""
    return (Signature.update(state="released").where(Signature.ticket == ticket.id, Signature.state == "waiting",
                                                     Signature.entered_at != now).execute())


def lock(ticket: Ticket) -> None:
    """Lock the ticket's row for this transaction and take its latest state (PostgreSQL; SQLite is serialised)."""
    if not isinstance(database.obj, PostgresqlDatabase):
        return
    latest = Ticket.select().where(Ticket.id == ticket.id).for_update().get()
    for name in ("version", "data", "step", "status", "entered_at", "assignee"):
        ticket.__data__[name] = latest.__data__[name]


def part_of(ticket: Ticket, actor: User) -> Signature:
    """The actor's waiting part in the current round, or a 409 (signed already, released, step left)."""
    part = round_of(ticket).where(Signature.signer == actor.id, Signature.state == "waiting").first()
    if part is None or ticket.status != "open" or not at_sign_step(ticket):
        raise Conflict(Msg(NOT_A_SIGNER))
    return part


def text(value) -> str | None:
    """A decision as stored on a signature and compared with ``pass``: a string as is, anything else as JSON."""
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def own_values(spec, data: dict, hidden: frozenset[str]) -> dict:
    """What the signer may set at the step: its editable and required fields, as validated."""
    modes = spec.modes(data, hidden)
    return {k: data[k] for k, mode in modes.items() if mode in ("editable", "required") and k in data}


def _validated(ticket: Ticket, actor: User, step: dict, request: dict) -> dict:
    """The signer's values on top of the ticket's data, checked as an advance would be; 422 naming fields."""
    spec = docs.compiled(ticket.process_version, step["key"]).spec
    hidden = unreadable(actor, ticket.process_version)
    outcome = validate_step(spec, ticket.data, request.get("data") or {}, docs.dictionary_indexes(),
                            unreadable=hidden, people=roster.lazy())
    errors = dict(outcome.errors)
    if request.get("files"):
        errors["files"] = [Msg(N_("A signature takes no files: attach them to a note."))]
    decision = rule(step)["decision"]
    if outcome.data.get(decision) is None and decision not in errors:
        errors[decision] = [moves.REQUIRED]
    if errors:
        raise Invalid(Msg(NOTHING_SAVED), errors)
    return own_values(spec, outcome.data, hidden)


def sign(ticket: Ticket, actor: User, request: dict, now: datetime) -> None:
    """One signer's part: validate, store it on their signature, record it; then decide the round if it can be."""
    lock(ticket)
    part = part_of(ticket, actor)
    step = moves.step_of(ticket.process_version, ticket.step)
    values = _validated(ticket, actor, step, request)
    decision = rule(step)["decision"]
    comment = (request.get("comment") or "").strip() or None
    part.state, part.decision, part.data, part.comment, part.signed_at = (
        "signed", text(values.get(decision)), values, comment, now)
    part.save()
    moves.save(ticket, ticket.version, now)
    before = {k: ticket.data.get(k) for k in values}
    moves.record(ticket, "sign", actor, ticket.assignee_id, now, from_step=step["key"],
                 diff=moves.diff(before, values), comment=comment)
    outcome = tally(step, list(round_of(ticket)))
    if outcome["result"] is not None:
        resolve(ticket, actor, step, outcome, request, now)


def tally(step: dict, parts: list[Signature]) -> dict:
    """The rule's progress: counted signers, how many are needed, passed and failed, and the result if decided.

    ``result`` is "pass", "fail" or None (not yet): ``all`` fails at the first other choice, ``any``
    passes at the first pass, ``ratio`` passes at its share and fails once the share is out of reach.
    """
    sign_rule = rule(step)
    counted = [p for p in parts if p.state in COUNTED]
    signed = [p for p in counted if p.state == "signed"]
    passed = sum(1 for p in signed if p.decision == text(sign_rule["pass"]))
    total, failed = len(counted), len(signed) - passed
    mode = sign_rule["mode"]
    needed = total if mode == "all" else 1 if mode == "any" else math.ceil(sign_rule.get("ratio", 1) * total - 1e-9)
    needed = max(needed, 1)
    waiting = total - len(signed)
    result = "pass" if passed >= needed else "fail" if passed + waiting < needed else None
    return {"mode": mode, "ratio": sign_rule.get("ratio"), "total": total, "needed": needed, "passed": passed,
            "failed": failed, "waiting": waiting, "result": result}


def _result_value(step: dict, ticket: Ticket, outcome: dict):
    """``pass``, or the first other choice (by time of signing) as the signer gave it."""
    sign_rule = rule(step)
    if outcome["result"] == "pass":
        return sign_rule["pass"]
    other = (round_of(ticket).where(Signature.state == "signed", Signature.decision != text(sign_rule["pass"]))
             .order_by(Signature.signed_at, Signature.id).first())
    return other.data.get(sign_rule["decision"]) if other else None


def resolve(ticket: Ticket, actor: User, step: dict, outcome: dict, request: dict, now: datetime) -> None:
    """Decide the round once: set the decision field, release the rest, take the transition as an advance."""
    entered, before, old_data = ticket.entered_at, ticket.assignee_id, dict(ticket.data)
    ticket.data = {**ticket.data, rule(step)["decision"]: _result_value(step, ticket, outcome)}
    (Signature.update(state="released").where(Signature.ticket == ticket.id, Signature.step == step["key"],
                                              Signature.entered_at == entered, Signature.state == "waiting")
     .execute())
    spec = docs.compiled(ticket.process_version, step["key"]).spec
    offered = spec.offered(ticket.data)
    chosen = next((t for t in offered if t["to"] == request.get("transition")), offered[0] if offered else None)
    if chosen is None:
        raise Conflict(Msg(NO_TRANSITION))
    from workflows.tickets import engine  # the engine imports this module: not at the top

    errors: dict = {}
    for guard in engine.LEAVING:
        errors.update(guard(ticket, chosen))
    if not errors:
        engine._move(ticket, chosen, actor, next_handler(request.get("assignee"), chosen), now, errors)
    if errors:
        raise Invalid(Msg(NOTHING_SAVED), errors)
    moves.save(ticket, ticket.version, now)
    action = "close" if ticket.status == "closed" else "advance"
    moves.record(ticket, action, actor, before, now, entered, from_step=step["key"],
                 diff=moves.diff(old_data, ticket.data))


_PARTS = Prepared(lambda ticket_id: Signature.select().where(Signature.ticket == ticket_id)
                  .order_by(Signature.id), int)  # every ticket page reads them: text built once (issue 24)


def latest_rounds(ticket: Ticket) -> list[tuple[dict, list[Signature]]]:
    """The latest round of each countersign step the ticket went through, in the order they began: the page
    keeps showing who signed what at 会签 once the ticket has moved on to the next one."""
    steps = {s["key"]: s for s in ticket.process_version.document["steps"] if rule(s)}
    latest: dict[str, tuple] = {}
    for part in _PARTS.rows(ticket.id):
        began, parts = latest.get(part.step, (None, []))
        if part.step not in steps or (began is not None and part.entered_at < began):
            continue
        latest[part.step] = (part.entered_at, parts if part.entered_at == began else [])
        latest[part.step][1].append(part)
    return [(steps[key], parts) for key, (_, parts) in sorted(latest.items(), key=lambda item: item[1][0])]


def part_fields(reader: User, ticket: Ticket, step: dict, parts: list[Signature]) -> set[str] | None:
    """The fields of signatures ``reader`` may see: what they see of the ticket, and, for someone of the step
    (a signer of it, or who handled it), the step's fields that are not hidden (``x-readers`` still apply).

    A signer's values are not in the ticket's data, so the ticket's visible fields alone would miss them.
    """
    fields = visible_fields(reader, ticket)
    mine = any(p.signer_id == reader.id for p in parts) or step["key"] in handled_steps(reader, ticket)
    if fields is ALL or not mine:
        return fields
    spec = docs.compiled(ticket.process_version, step["key"]).spec
    shown = {k for k, mode in spec.modes(ticket.data, unreadable(reader, ticket.process_version)).items()
             if mode != "hidden"}
    return fields | shown


def present(reader: User, ticket: Ticket, parts: list[Signature] | None = None, step: dict | None = None) -> dict:
    """``signatures`` and the rule's progress ``sign`` as ``reader`` may see them.

    Without ``parts``, the current round at a countersign step (the API's ticket; nothing elsewhere); the
    page passes each step's latest round with its ``step`` (:func:`latest_rounds`). A signature's values
    and decision are filtered like the ticket's data (``visible_fields``).
    """
    if parts is None:
        if not at_sign_step(ticket):
            return {"signatures": [], "sign": None}
        step, parts = moves.step_of(ticket.process_version, ticket.step), list(round_of(ticket).order_by(Signature.id))
    fields = part_fields(reader, ticket, step, parts)
    decision = rule(step)["decision"]
    names = usernames(p.signer_id for p in parts)
    shown = [{"user": names.get(p.signer_id), "state": p.state, "comment": p.comment,
              "decision": p.decision if fields is None or decision in fields else None,
              "data": filter_data(p.data or {}, fields), "at": stamp(p.signed_at), "signed_at": stamp(p.signed_at)}
             for p in parts]
    progress = tally(step, parts)
    return {"signatures": shown, "sign": {**{k: progress[k] for k in ("mode", "ratio", "needed", "total", "passed",
                                                                       "failed", "waiting", "result")},
                                          "step": step["key"]}}


def next_handler(named, transition: dict) -> str | None:
    """Who the deciding signer names for the next step when its pick is by hand: one username (the API), or
    one per transition target (the page's selects), since nobody knows beforehand which way the step goes."""
    if isinstance(named, dict):
        named = named.get(transition["to"])
    return named if isinstance(named, str) and named else None


def may_sign(actor: User, ticket: Ticket) -> bool:
    """Only signers sign (an admin signs for nobody); one whose part was signed or released gets a 409 then.

    Any part of any round lets them past the permission check, so a signer who lost a race learns
    that the step moved on (409), on PostgreSQL (checked before the lock) as on SQLite.
    """
    return Signature.select().where(Signature.signer == actor.id, Signature.ticket == ticket.id).exists()


def transfer_candidates(ticket: Ticket, step: dict) -> list[User]:
    """Whom a signer may hand their part to: ``sign.of``'s candidates, or anyone with ``allow_transfer: "anyone"``."""
    if step.get("allow_transfer") == "anyone":
        return list(User.select().where(User.active == True).order_by(User.username))  # noqa: E712
    return signers(ticket, step)


def transfer_part(ticket: Ticket, actor: User, request: dict, now: datetime) -> None:
    """Hand the actor's waiting part to another candidate who has no part in this round; the rest stay as they are."""
    lock(ticket)
    part = part_of(ticket, actor)
    step = moves.step_of(ticket.process_version, ticket.step)
    if not step.get("allow_transfer"):
        raise Conflict(Msg(N_("This step does not allow transferring the ticket.")))
    comment = moves.comment_of(request)
    taken = {p.signer_id for p in round_of(ticket) if p.state in COUNTED}
    target = next((u for u in transfer_candidates(ticket, step)
                   if u.username == (request.get("assignee") or "") and u.id not in taken), None)
    if target is None:
        raise Invalid(Msg(NOTHING_SAVED), {"assignee": [Msg(N_("Choose another active user who may sign this "
                                                               "step and has no part in it yet."))]})
    part.state = "released"
    part.save()
    Signature.create(ticket=ticket, step=part.step, entered_at=part.entered_at, signer=target, state="waiting",
                     data={}, created_at=now)
    notify(ticket, [target], "transferred", now)
    moves.save(ticket, ticket.version, now)
    moves.record(ticket, "transfer", actor, actor.id, now, from_step=step["key"], comment=comment)


def _routed(action: str, ordinary):
    """The engine's handler for ``action``, with a countersign step's own rule in front of it.

    At a sign step an advance or close by hand is refused (the signatures decide) and a transfer
    hands over one signer's part; a return keeps the engine's rule (the whole ticket goes back
    and every part still waiting is released, by :func:`on_entered`).
    """
    def handler(ticket: Ticket, actor: User, request: dict, now: datetime) -> None:
        if not at_sign_step(ticket):
            return ordinary(ticket, actor, request, now)
        if action == "transfer":
            return transfer_part(ticket, actor, request, now)
        raise Conflict(Msg(SIGN_STEP))
    return handler


def install(register, handlers: dict, loose: dict) -> None:
    """Called by the engine each time it is (re)loaded: register ``sign``, route advance, close and transfer
    at sign steps, and let sign and a part's transfer skip the version check (the row lock orders them)."""
    register("sign", sign, ("open",), may=may_sign)
    for action in ("advance", "close", "transfer"):
        handlers[action] = _routed(action, handlers[action])
    loose["sign"] = lambda ticket: True
    loose["transfer"] = at_sign_step
    if on_entered not in moves.ENTERED:
        moves.ENTERED.append(on_entered)
    if release not in moves.CLOSED:
        moves.CLOSED.append(release)
