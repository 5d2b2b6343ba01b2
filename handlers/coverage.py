"""Cek kepesertaan: NIK, then birth date, then the cover card.

Privacy rules this flow keeps (UU 27/2022):
- the session holds only the keyed NIK hash, never the NIK or birth date;
- nothing about a participant is shown until NIK *and* birth date match;
- a wrong NIK and a wrong birth date get the very same answer;
- failed checks from one chat are limited, and every check is audited.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from babel.dates import format_date, format_time
from babel.units import format_unit

from handlers.flow import Flow, Turn, ask, ask_again, done
from handlers.parse import Invalid, parse_birth_date, parse_nik
from storage import attempts
from storage.models import Participant
from storage.participants import find_participant
from storage.privacy import mask_kpj, mask_name
from storage.subscriptions import subscribe

PURPOSE = "coverage_check"


def locked_until(turn: Turn) -> datetime | None:
    """When this chat may check again, or None if it may check now."""
    limits = turn.services.settings.coverage
    failures = attempts.failures_since(turn.db, chat=turn.chat, since=turn.since(limits.window_minutes))
    if len(failures) < limits.max_failed_checks:
        return None
    return failures[-limits.max_failed_checks] + timedelta(minutes=limits.window_minutes)


def refuse(turn: Turn, until: datetime):
    attempts.record_attempt(turn.db, chat=turn.chat, purpose=PURPOSE, outcome=attempts.REFUSED, now=turn.now)
    local = until.astimezone(turn.services.zone)
    return done(turn.say("coverage.locked", until=format_time(local, "short", locale=turn.t.language)))


async def start(turn: Turn):
    if until := locked_until(turn):
        return refuse(turn, until)
    return ask(got_nik, turn.say("coverage.ask_nik"))


async def got_nik(turn: Turn):
    nik = parse_nik(turn.text)
    if isinstance(nik, Invalid):
        return ask_again(got_nik, turn, nik, "nik")
    turn.data["nik_hash"] = turn.services.hasher.nik_hash(nik.digits)
    return ask(got_birth_date, turn.say("coverage.ask_birth_date"))


async def got_birth_date(turn: Turn):
    born = parse_birth_date(turn.text, today=turn.today)
    if isinstance(born, Invalid):
        return ask_again(got_birth_date, turn, born, "date")
    participant = matching_participant(turn, born)
    if participant is None:
        attempts.record_attempt(turn.db, chat=turn.chat, purpose=PURPOSE, outcome=attempts.NOT_FOUND, now=turn.now)
        return done(turn.say("coverage.not_found"))
    attempts.record_attempt(
        turn.db, chat=turn.chat, purpose=PURPOSE, outcome=attempts.FOUND,
        participant_id=participant.id, now=turn.now,
    )  # fmt: skip
    turn.data = {"participant_id": participant.id, "cover_end": participant.cover_end.isoformat()}
    return ask(got_consent, card(turn, participant), consent_question(turn))


def matching_participant(turn: Turn, born: date) -> Participant | None:
    hasher = turn.services.hasher
    nik_hash = turn.data["nik_hash"]
    participant = find_participant(turn.db, nik_hash=nik_hash)
    # Hash the birth date even when no NIK matched: both paths cost the same.
    expected = hasher.birth_hash(nik_hash, born)
    if participant is None or not hasher.same(participant.birth_hash, expected):
        return None
    return participant


def long_date(turn: Turn, day: date) -> str:
    return format_date(day, "d MMMM y", locale=turn.t.language)


def card(turn: Turn, person: Participant):
    start, end = long_date(turn, person.cover_start), long_date(turn, person.cover_end)
    if turn.today < person.cover_start:
        status, remaining = "not_started", turn.t("coverage.remaining_not_started", start=start)
    elif turn.today > person.cover_end:
        status, remaining = "ended", turn.t("coverage.remaining_ended", end=end)
    elif turn.today == person.cover_end:
        status, remaining = "active", turn.t("coverage.remaining_last_day")
    else:
        days = format_unit((person.cover_end - turn.today).days, "duration-day", locale=turn.t.language)
        status, remaining = "active", turn.t("coverage.remaining_active", days=days)
    return turn.say(
        "coverage.card",
        name=mask_name(person.name),
        kpj=mask_kpj(person.kpj),
        status=turn.t(f"coverage.status_{status}"),
        start=start,
        end=end,
        remaining=remaining,
        category=turn.t(f"category.{person.category}"),
        village=person.village,
        district=person.district,
    )


def consent_question(turn: Turn):
    return turn.question(
        "coverage.consent_question", [("yes", "common.answer_yes"), ("no", "common.answer_no")]
    )


async def got_consent(turn: Turn):
    if turn.choice == "yes":
        subscribe(turn.db, chat=turn.chat, participant_id=turn.data["participant_id"], now=turn.now)
        end = long_date(turn, date.fromisoformat(turn.data["cover_end"]))
        return done(turn.say("coverage.consent_yes", end=end))
    if turn.choice == "no":
        return done(turn.say("coverage.consent_no"))
    return ask(got_consent, turn.say("common.pick_one"), consent_question(turn))


flow = Flow.of("coverage", start, got_nik, got_birth_date, got_consent)
