"""Proving who someone is, for every flow that asks (the coverage check, a
report about oneself, a report's status, an officer's link).

Privacy rules kept here (UU 27/2022):
- a NIK lives in a session only as its keyed hash, never as typed;
- a wrong NIK and a wrong birth date cost the same and answer the same;
- failed checks from one chat are limited, one budget for every flow, and
  every check is recorded.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from babel.dates import format_time

from handlers.flow import Done, Turn, done
from storage import attempts
from storage.models import Participant
from storage.participants import find_participant

PURPOSE = "coverage_check"


def locked_until(turn: Turn) -> datetime | None:
    """When this chat may check again, or None if it may check now."""
    limits = turn.services.settings
    failures = attempts.failures_since(turn.db, chat=turn.chat, since=turn.since(limits.check_window_minutes))
    if len(failures) < limits.max_failed_checks:
        return None
    return failures[-limits.max_failed_checks] + timedelta(minutes=limits.check_window_minutes)


def refuse(turn: Turn, until: datetime) -> Done:
    """No more checks for now: say until when, and record the refusal."""
    attempts.record_attempt(turn.db, chat=turn.chat, purpose=PURPOSE, outcome=attempts.REFUSED, now=turn.now)
    local = until.astimezone(turn.services.zone)
    return done(turn.say("coverage.locked", until=format_time(local, "short", locale=turn.t.language)))


def matching_participant(turn: Turn, born: date) -> Participant | None:
    """The participant whose NIK hash the draft holds, if `born` is their
    birth date; None otherwise, at the same cost either way."""
    hasher = turn.services.hasher
    nik_hash = turn.data["nik_hash"]
    participant = find_participant(turn.db, nik_hash=nik_hash)
    # Hash the birth date even when no NIK matched: both paths cost the same.
    expected = hasher.birth_hash(nik_hash, born)
    if participant is None or not hasher.same(participant.birth_hash, expected):
        return None
    return participant


def record_check(turn: Turn, *, proven: bool, participant_id: int | None = None) -> None:
    """One identity check's outcome, counted against the chat's limit when it failed."""
    attempts.record_attempt(
        turn.db,
        chat=turn.chat,
        purpose=PURPOSE,
        outcome=attempts.FOUND if proven else attempts.NOT_FOUND,
        participant_id=participant_id,
        now=turn.now,
    )
