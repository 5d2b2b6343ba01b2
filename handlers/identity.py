"""Proving who someone is, for every flow that asks (the coverage check, a
report about oneself, an officer's link), and how much each proof may see.

The birth date is written inside the NIK, so NIK + birth date proves only
that someone holds a KTP's data (a photocopy will do): it may learn whether
that NIK is covered and until when, nothing more. A chat whose
platform-verified number (WhatsApp's sender, a Telegram contact that is the
sender's own) is the roster's phone for that person is their owner and may
see their whole card and reports; the proof lasts while the roster keeps
that phone.

Privacy rules kept here (UU 27/2022):
- a NIK lives in a session only as its keyed hash and masked form, never as typed;
- a wrong NIK and a wrong birth date cost the same and answer the same;
- failed checks are limited per chat (one budget for every flow; more for a
  village officer) and per NIK across every chat and channel;
- every check and every disclosure is recorded, with its proof, never a NIK.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import NamedTuple

from babel.dates import format_time

from handlers.events import CheckFailed, NikLocked
from handlers.flow import Ask, Done, Result, Step, Turn, ask, ask_again, done
from handlers.parse import Invalid, Nik, parse_birth_date, parse_nik, parse_phone
from storage import attempts
from storage.officers import linked_officer
from storage.owners import find_participant_for_chat, record_owner
from storage.participants import ParticipantRow, find_participant
from storage.privacy import mask_nik

PURPOSE = attempts.CHECK


def locked_until(turn: Turn) -> datetime | None:
    """When this chat may check again, or None if it may check now."""
    limits = turn.services.settings
    allowed = limits.officer_max_failed_checks if linked_officer(turn.db, chat=turn.chat) else limits.max_failed_checks
    failures = attempts.failures_since(turn.db, chat=turn.chat, since=turn.since(limits.check_window_minutes))
    if len(failures) < allowed:
        return None
    return failures[-allowed] + timedelta(minutes=limits.check_window_minutes)


def nik_failures(turn: Turn) -> int:
    """Failed checks of the draft's NIK within the window, from any chat on any channel."""
    since = turn.since(turn.services.settings.nik_window_minutes)
    return attempts.nik_failures_since(turn.db, nik_hash=turn.data["nik_hash"], since=since)


def nik_locked(turn: Turn) -> bool:
    """Whether the draft's NIK answers only its verified owner for now."""
    return nik_failures(turn) >= turn.services.settings.nik_max_failed_checks


def refuse(turn: Turn, until: datetime) -> Done:
    """No more checks for now: say until when, and record the refusal."""
    audit(turn, outcome=attempts.REFUSED)
    local = until.astimezone(turn.services.zone)
    return done(turn.say("coverage.locked", until=format_time(local, "short", locale=turn.t.language)))


class Match(NamedTuple):
    person: ParticipantRow | None
    proven_before: bool  # this chat was proven the person's own earlier (storage/owners.py)


def matching_participant(turn: Turn, born: date) -> Match:
    """The participant whose NIK hash the draft holds, if `born` is their
    birth date (else no one), at the same cost either way."""
    hasher = turn.services.hasher
    nik_hash = turn.data["nik_hash"]
    participant, proven_before = find_participant_for_chat(turn.db, nik_hash=nik_hash, chat=turn.chat)
    # Hash the birth date even when no NIK matched: both paths cost the same.
    expected = hasher.birth_hash(nik_hash, born)
    if participant is None or not hasher.same(participant.birth_hash, expected):
        return Match(None, False)
    return Match(participant, proven_before)


def audit(
    turn: Turn, *, outcome: str, purpose: str = PURPOSE, proof: str = attempts.KTP, participant_id: int | None = None
) -> None:
    """One row of the audit table: this chat, its proof, the outcome, whom it was about."""
    officer = linked_officer(turn.db, chat=turn.chat)
    attempts.record_attempt(
        turn.db,
        chat=turn.chat,
        purpose=purpose,
        outcome=outcome,
        participant_id=participant_id,
        nik_hash=turn.data.get("nik_hash"),
        proof=attempts.OFFICER if officer and proof == attempts.KTP else proof,
        officer_id=officer and officer.id,
        now=turn.now,
    )


def record_check(turn: Turn, *, proven: bool, participant_id: int | None = None, proof: str = attempts.KTP) -> None:
    """One identity check's outcome, counted against the chat's and the NIK's
    limits when it failed. The failure that locks a NIK tells the operators."""
    audit(turn, outcome=attempts.FOUND if proven else attempts.NOT_FOUND, proof=proof, participant_id=participant_id)
    if proven:
        return
    turn.emit(CheckFailed(turn.now))
    if "nik_hash" in turn.data and nik_failures(turn) == turn.services.settings.nik_max_failed_checks:
        person = find_participant(turn.db, nik_hash=turn.data["nik_hash"])
        turn.emit(NikLocked(turn.data["nik_masked"], person and person.village, person and person.district))


def verified_phone(turn: Turn) -> str | None:
    """This chat's own number as its platform vouches for it: WhatsApp's
    sender, a Telegram contact the channel checked is the sender's own; on
    the administrator's console, a typed one."""
    inbound = turn.inbound
    phone = inbound.sender_phone or inbound.contact_phone
    if phone is None and turn.capabilities.verified_phone == "typed":
        phone = turn.text
    parsed = parse_phone(phone or "")
    return None if isinstance(parsed, Invalid) else parsed


def roster_phone(person: ParticipantRow) -> str | None:
    parsed = parse_phone(person.phone or "")
    return None if isinstance(parsed, Invalid) else parsed


def proven_owner(turn: Turn, match: Match) -> bool:
    """Whether this chat is the matched person's own: proven before while
    the roster kept the same phone, or now by its verified number (recorded)."""
    person = match.person
    if person is None:
        return False
    if match.proven_before:
        return True
    phone = verified_phone(turn)
    if phone is None or phone != roster_phone(person):
        return False
    record_owner(turn.db, chat=turn.chat, participant=person, now=turn.now)
    return True


def typed_nik(turn: Turn, step: Step) -> Nik | Ask:
    """The NIK the person typed, or `step` asked again saying what was wrong."""
    nik = parse_nik(turn.text)
    return ask_again(step, turn, f"nik.{nik.reason}") if isinstance(nik, Invalid) else nik


def typed_birth_date(turn: Turn, step: Step) -> date | Ask:
    """The birth date the person typed, or `step` asked again saying what was wrong."""
    born = parse_birth_date(turn.text, today=turn.today)
    return ask_again(step, turn, f"date.{born.reason}") if isinstance(born, Invalid) else born


def took_nik(turn: Turn, step: Step, next_step: Step, question: str) -> Ask:
    """The NIK typed in `step` kept in the draft as its hash and its masked
    form, then `question` asked in `next_step`."""
    nik = typed_nik(turn, step)
    if isinstance(nik, Ask):
        return nik
    turn.data.update(nik_hash=turn.services.hasher.nik_hash(nik.digits), nik_masked=mask_nik(nik.digits))
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
) -> tuple[Step, Step]:
    """The two steps of every identity check, for a flow to list as its
    own (under `names`, which sessions store): the NIK, kept as its hash,
    then the birth date (`question` asks it), handed to `proven`."""

    async def got_nik(turn: Turn) -> Result:
        return took_nik(turn, got_nik, got_birth_date, question)

    async def got_birth_date(turn: Turn) -> Result:
        born = typed_birth_date(turn, got_birth_date)
        return born if isinstance(born, Ask) else await proven(turn, born)

    for step, name in zip((got_nik, got_birth_date), names, strict=True):
        step.__name__ = step.__qualname__ = name
    return got_nik, got_birth_date


def proven_participant(turn: Turn, born: date) -> ParticipantRow | None:
    """`matching_participant`, with the check recorded either way; None
    while the NIK is locked, unless this chat is its verified owner."""
    match = matching_participant(turn, born)
    if nik_locked(turn) and not proven_owner(turn, match):
        audit(turn, outcome=attempts.REFUSED)
        return None
    person = match.person
    record_check(turn, proven=person is not None, participant_id=person and person.id)
    return person
