"""Cek kepesertaan: NIK, then birth date, then the cover card.

Nothing about a participant is shown until NIK *and* birth date match; the
privacy rules of every identity check are in handlers/identity.py.
"""

from __future__ import annotations

from datetime import date

from babel.units import format_unit

from handlers.flow import Flow, Turn, ask, ask_again, done
from handlers.identity import locked_until, matching_participant, record_check, refuse
from handlers.parse import Invalid, parse_birth_date, parse_nik
from handlers.wording import long_date
from storage.models import Participant
from storage.privacy import mask_kpj, mask_name
from storage.subscriptions import subscribe


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
    record_check(turn, proven=participant is not None, participant_id=participant and participant.id)
    if participant is None:
        return done(turn.say("coverage.not_found"))
    turn.data = {"participant_id": participant.id, "cover_end": participant.cover_end.isoformat()}
    return ask(got_consent, card(turn, participant), consent_question(turn))


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
    return turn.question("coverage.consent_question", [("yes", "common.answer_yes"), ("no", "common.answer_no")])


async def got_consent(turn: Turn):
    if turn.choice == "yes":
        subscribe(turn.db, chat=turn.chat, participant_id=turn.data["participant_id"], now=turn.now)
        end = long_date(turn, date.fromisoformat(turn.data["cover_end"]))
        return done(turn.say("coverage.consent_yes", end=end))
    if turn.choice == "no":
        return done(turn.say("coverage.consent_no"))
    return ask(got_consent, turn.say("common.pick_one"), consent_question(turn))


flow = Flow.of("coverage", start, got_nik, got_birth_date, got_consent, menu="menu.coverage")
