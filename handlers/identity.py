"""Proving who someone is, for every flow that asks (the coverage check, a
report about oneself, a report's status, an officer's link).

Privacy rules kept here (UU 27/2022):
- a NIK lives in a session only as its keyed hash, never as typed;
- a wrong NIK and a wrong birth date cost the same and answer the same;
- failed checks from one chat are limited, one budget for every flow, and
  every check is recorded.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta

from babel.dates import format_time

from handlers.flow import Ask, Done, Result, Step, Turn, ask, ask_again, done
from handlers.parse import Invalid, Nik, parse_birth_date, parse_nik
from storage import attempts
from storage.models import Participant
from storage.participants import find_participant
from storage.privacy import mask_nik

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


def typed_nik(turn: Turn, step: Step) -> Nik | Ask:
    """The NIK the person typed, or `step` asked again saying what was wrong."""
    nik = parse_nik(turn.text)
    return ask_again(step, turn, f"nik.{nik.reason}") if isinstance(nik, Invalid) else nik


def typed_birth_date(turn: Turn, step: Step) -> date | Ask:
    """The birth date the person typed, or `step` asked again saying what was wrong."""
    born = parse_birth_date(turn.text, today=turn.today)
    return ask_again(step, turn, f"date.{born.reason}") if isinstance(born, Invalid) else born


def took_nik(turn: Turn, step: Step, next_step: Step, question: str, *, keep_masked: bool = False) -> Ask:
    """The NIK typed in `step` kept in the draft as its hash (and its masked
    form, where the flow shows it back), then `question` asked in `next_step`."""
    nik = typed_nik(turn, step)
    if isinstance(nik, Ask):
        return nik
    turn.data["nik_hash"] = turn.services.hasher.nik_hash(nik.digits)
    if keep_masked:
        turn.data["nik_masked"] = mask_nik(nik.digits)
    return ask(next_step, turn.say(question))


def ask_nik(turn: Turn, step: Step, question: str) -> Ask | Done:
    """The first question of an identity check, unless the chat has used up its checks."""
    if until := locked_until(turn):
        return refuse(turn, until)
    return ask(step, turn.say(question))


def nik_then_birth_date(
    proven: Callable[[Turn, date], Awaitable[Result]],
    question: str,
    *,
    names: tuple[str, str] = ("got_nik", "got_birth_date"),
    keep_masked: bool = False,
) -> tuple[Step, Step]:
    """The two steps of every identity check, for a flow to list as its
    own (under `names`, which sessions store): the NIK, kept as its hash,
    then the birth date (`question` asks it), handed to `proven`."""

    async def got_nik(turn: Turn) -> Result:
        return took_nik(turn, got_nik, got_birth_date, question, keep_masked=keep_masked)

    async def got_birth_date(turn: Turn) -> Result:
        born = typed_birth_date(turn, got_birth_date)
        return born if isinstance(born, Ask) else await proven(turn, born)

    for step, name in zip((got_nik, got_birth_date), names, strict=True):
        step.__name__ = step.__qualname__ = name
    return got_nik, got_birth_date


def proven_participant(turn: Turn, born: date) -> Participant | None:
    """`matching_participant`, with the check recorded either way."""
    person = matching_participant(turn, born)
    record_check(turn, proven=person is not None, participant_id=person and person.id)
    return person
