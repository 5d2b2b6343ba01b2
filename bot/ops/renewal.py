"""The regency's renewal decision, as operators record it from the console
(admins) or the command line: checked, kept with its history, audited; and,
once the new period is confirmed, one digest for each village officer's chat."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlmodel import Session

from bot.ops.authority import Actor, Invalid
from storage import console, renewal
from storage.renewal import STATES, Decision

DIGEST_KEEPS = timedelta(days=14)  # not told within two weeks: not told late
MAX_NOTE = 200  # one short line; it rides in a WhatsApp template parameter too


def _note(text: str | None, language: str) -> str | None:
    text = " ".join((text or "").split())  # one line: a template parameter holds no line break
    if len(text) > MAX_NOTE:
        raise Invalid(f"the {language} note holds at most {MAX_NOTE} characters (this one has {len(text)})")
    return text or None


def decide(
    session: Session,
    *,
    actor: Actor,
    current: Decision,
    state: str,
    expected_start: date | None = None,
    note_id: str | None = None,
    note_en: str | None = None,
    decided_on: date | None = None,
    now: datetime,
) -> tuple[Decision, int]:
    """Record what the regency decided about the period after
    `current.period_end`; a confirmed renewal tells each village officer's
    chat how many of their residents were renewed and who was not; the
    decision, and how many digests were planned."""
    actor.require("manage")
    if actor.districts is not None:
        raise Invalid("the renewal is decided for the whole regency: a district account cannot record it")
    if state not in STATES:
        raise Invalid(f"the state is one of {', '.join(STATES)}")
    if expected_start is not None and expected_start <= current.period_end:
        raise Invalid(f"the new period starts after the current one ends ({current.period_end.isoformat()})")
    decision = Decision(
        period_end=current.period_end,
        state=state,
        expected_start=expected_start if state == "planned" else None,
        note_id=_note(note_id, "Indonesian"),
        note_en=_note(note_en, "English"),
        decided_on=decided_on,
        set_by=actor.name,
        set_at=now,
    )
    renewal.record(session, decision)
    detail = f"{state}; start {expected_start or '-'}; decided {decided_on or '-'}"
    target = f"renewal:{decision.period_end}"
    console.record(session, account=actor.name, action="renewal", target=target, detail=detail, now=now)
    digests = 0
    if state == "confirmed":
        digests = renewal.plan_renewal_digests(
            session, period_end=decision.period_end, now=now, stale_at=now + DIGEST_KEEPS
        )
    return decision, digests
