"""Cek kepesertaan: NIK, then birth date, then what that proof may see.

NIK + birth date is what any KTP photocopy carries, so it earns only
whether that NIK is covered by the regency's programme and until when. The
whole card (name, KPJ, category, village) is for the person's own chat: one
whose platform-verified number is the roster's phone for them (WhatsApp's
sender at once; on Telegram a shared own contact, offered as a button). The
rules of every identity check are in handlers/identity.py.
"""

from __future__ import annotations

from datetime import date

from handlers.events import Subscribed
from handlers.flow import Ask, Flow, Turn, ask, ask_again, done
from handlers.identity import (
    ask_nik,
    audit,
    matching_participant,
    nik_locked,
    nik_then_birth_date,
    proven_owner,
    record_check,
    roster_phone,
    verified_phone,
)
from handlers.messages import Outbound
from handlers.wording import long_date, written_days
from storage import attempts
from storage.owners import record_owner
from storage.participants import ParticipantRow, participant_by_id
from storage.privacy import mask_kpj, mask_name
from storage.subscriptions import subscribe


async def start(turn: Turn):
    return ask_nik(turn, got_nik, "coverage.ask_nik")


async def checked(turn: Turn, born: date):
    match = matching_participant(turn, born)
    person, owner = match.person, proven_owner(turn, match)
    if nik_locked(turn) and not owner:
        # The same words whether the birth date matched or not.
        audit(turn, outcome=attempts.REFUSED)
        return done(turn.say("coverage.nik_locked"))
    proof = attempts.OWNER if owner else attempts.KTP
    record_check(turn, proven=person is not None, participant_id=person and person.id, proof=proof)
    if person is None:
        return done(turn.say("coverage.not_found"))
    # Where the chat can still prove it is the person's own: a button for it.
    may_prove = not owner and roster_phone(person) is not None and turn.capabilities.verified_phone != "sender"
    turn.data = {"participant_id": person.id, "cover_end": person.cover_end.isoformat(), "may_prove": may_prove}
    if owner:
        return whole_card(turn, person)
    return ask(got_consent, cover_answer(turn, person), consent_question(turn))


got_nik, got_birth_date = nik_then_birth_date(checked, "coverage.ask_birth_date")


def status_and_period(turn: Turn, person: ParticipantRow) -> dict[str, str]:
    start, end = long_date(turn, person.cover_start), long_date(turn, person.cover_end)
    if turn.today < person.cover_start:
        status, remaining = "not_started", turn.t("coverage.remaining_not_started", start=start)
    elif turn.today > person.cover_end:
        status, remaining = "ended", turn.t("coverage.remaining_ended", end=end)
    elif turn.today == person.cover_end:
        status, remaining = "active", turn.t("coverage.remaining_last_day")
    else:
        days = written_days(turn.t, (person.cover_end - turn.today).days)
        status, remaining = "active", turn.t("coverage.remaining_active", days=days)
    return {"status": turn.t(f"coverage.status_{status}"), "start": start, "end": end, "remaining": remaining}


def cover_answer(turn: Turn, person: ParticipantRow) -> Outbound:
    """What KTP data may learn: covered or not, until when; and how to see more."""
    answer = turn.t("coverage.covered", **status_and_period(turn, person))
    if roster_phone(person) is None:
        more = "coverage.no_phone"
    elif turn.capabilities.verified_phone == "sender":
        more = "coverage.other_phone"  # WhatsApp's sender was not the roster's number
    else:
        more = "coverage.prove_hint"
    return Outbound(f"{answer}\n{turn.t(more)}")


def whole_card(turn: Turn, person: ParticipantRow) -> Ask:
    audit(turn, outcome=attempts.SHOWN, purpose="card", proof=attempts.OWNER, participant_id=person.id)
    turn.data["may_prove"] = False
    return ask(got_consent, card(turn, person), consent_question(turn))


def card(turn: Turn, person: ParticipantRow):
    return turn.say(
        "coverage.card",
        name=mask_name(person.name),
        kpj=mask_kpj(person.kpj),
        category=turn.t(f"category.{person.category}"),
        village=person.village,
        district=person.district,
        **status_and_period(turn, person),
    )


def consent_question(turn: Turn):
    """Reminders, for anyone who proved the KTP data (a son for his father),
    and the button to prove more where that is still possible."""
    choices = [("yes", "common.answer_yes"), ("no", "common.answer_no")]
    if turn.data.get("may_prove"):
        choices.append(("prove", "coverage.prove"))
    return turn.question("coverage.consent_question", choices)


async def got_consent(turn: Turn):
    if turn.choice == "yes":
        subscribe(turn.db, chat=turn.chat, participant_id=turn.data["participant_id"], now=turn.now)
        turn.emit(Subscribed(turn.chat.id))
        end = long_date(turn, date.fromisoformat(turn.data["cover_end"]))
        if not turn.services.reminders_reach(turn.db, turn.inbound.channel):  # promise nothing that cannot go yet
            return done(turn.say("coverage.consent_yes_later", end=end))
        return done(turn.say("coverage.consent_yes", end=end))
    if turn.choice == "no":
        return done(turn.say("coverage.consent_no"))
    if turn.choice == "prove" and turn.data.get("may_prove"):
        return ask(got_phone, phone_question(turn))
    return ask_again(got_consent, turn, "common.pick_one", consent_question(turn))


def phone_question(turn: Turn) -> Outbound:
    if turn.capabilities.verified_phone == "typed":  # the administrator's console has no contact button
        return turn.say("coverage.ask_phone_typed")
    return turn.request("coverage.ask_phone", "contact")


async def got_phone(turn: Turn):
    """The chat's own number, shared with the platform's button (or typed on
    the administrator's console): the roster's phone makes it the owner."""
    person = participant_by_id(turn.db, turn.data["participant_id"])
    phone = verified_phone(turn)
    if phone is None:
        return ask_again(got_phone, turn, "coverage.phone_button", phone_question(turn))
    if phone != roster_phone(person):
        audit(turn, outcome=attempts.NOT_FOUND, purpose="owner_proof", participant_id=person.id)
        turn.data["may_prove"] = False
        return ask(got_consent, turn.say("coverage.other_phone"), consent_question(turn))
    record_owner(turn.db, chat=turn.chat, participant=person, now=turn.now)
    return whole_card(turn, person)


flow = Flow.of("coverage", start, got_nik, got_birth_date, got_consent, got_phone, menu="menu.coverage")
