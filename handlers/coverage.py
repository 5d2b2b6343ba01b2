"""Cek kepesertaan: NIK, then birth date, then the cover card.

Nothing about a participant is shown until NIK *and* birth date match; the
privacy rules of every identity check are in handlers/identity.py.
"""

from __future__ import annotations

from datetime import date

from babel.units import format_unit

from handlers.events import Subscribed
from handlers.flow import Flow, Turn, ask, ask_again, done
from handlers.identity import ask_nik, nik_then_birth_date, proven_participant
from handlers.wording import long_date
from storage.models import Participant
from storage.privacy import mask_kpj, mask_name
from storage.subscriptions import subscribe


async def start(turn: Turn):
    return ask_nik(turn, got_nik, "coverage.ask_nik")


async def checked(turn: Turn, born: date):
    participant = proven_participant(turn, born)
    if participant is None:
        return done(turn.say("coverage.not_found"))
    turn.data = {"participant_id": participant.id, "cover_end": participant.cover_end.isoformat()}
    return ask(got_consent, card(turn, participant), consent_question(turn))


got_nik, got_birth_date = nik_then_birth_date(checked, "coverage.ask_birth_date")


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
        turn.emit(Subscribed(turn.chat.id))
        end = long_date(turn, date.fromisoformat(turn.data["cover_end"]))
        return done(turn.say("coverage.consent_yes", end=end))
    if turn.choice == "no":
        return done(turn.say("coverage.consent_no"))
    return ask_again(got_consent, turn, "common.pick_one", consent_question(turn))


flow = Flow.of("coverage", start, got_nik, got_birth_date, got_consent, menu="menu.coverage")
