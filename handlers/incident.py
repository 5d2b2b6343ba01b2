"""Lapor kejadian: who was affected, what happened, when, where, how, files,
a phone number to call back; then a summary to check, change or send.

The draft lives in the session (turn.data), which is saved with every
message, so a report half-written when the process stops goes on where it
stopped; a sent one is in the database before its confirmation leaves.

A village officer's report for a resident is a hand-off to this flow with
the draft preset to `for_resident` (handlers/officer.py): the resident is
then chosen by NIK instead of asking who was affected.

Privacy (UU 27/2022): the affected person's NIK is kept only as its keyed
hash and a masked form. A reporter learns whether the person is covered only
after proving to be that person (NIK + birth date, under the coverage
check's attempt limit).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, TypedDict

from handlers.events import ReportFiled
from handlers.files import MAX_FILES, drafted, files_question, take_files
from handlers.flow import Ask, Flow, Turn, ask, ask_again, asking, done
from handlers.identity import ask_nik, locked_until, nik_then_birth_date, proven_participant, took_nik, typed_nik
from handlers.messages import Outbound
from handlers.parse import Invalid, parse_incident_date, parse_phone
from handlers.wording import long_date
from storage.incidents import DEATHS, KINDS, RELATIONS, file_incident
from storage.officers import linked_officer, resident
from storage.participants import find_participant
from storage.privacy import mask_nik

MAX_CHRONOLOGY = 1000
MIN_CHRONOLOGY_WORDS = 4
FIELDS = ("person", "kind", "date", "place", "chronology", "files", "phone")


class ReportDraft(TypedDict, total=False):
    """The draft's keys another flow may preset when it hands over."""

    files: list[dict[str, Any]]  # Media as JSON (handlers/files.py)
    for_resident: bool  # a linked village officer reports for a resident of their village


# -- who ---------------------------------------------------------------------


async def start(turn: Turn):
    turn.data.setdefault("files", [])
    if turn.data.get("for_resident"):
        return ask_resident(turn)
    return ask(got_who, who_question(turn))


def who_question(turn: Turn):
    return turn.question("incident.who", [("self", "incident.who_self"), ("other", "incident.who_other")])


async def got_who(turn: Turn):
    if turn.choice == "self":
        return ask_own_nik(turn)
    if turn.choice == "other":
        turn.data.pop("relation", None)
        return ask(got_other_nik, turn.say("incident.ask_other_nik"))
    return ask_again(got_who, turn, "common.pick_one", who_question(turn))


def ask_own_nik(turn: Turn):
    if locked_until(turn):
        # Checks are locked for this chat, not reports: a report discloses
        # nothing, so it goes on unchecked, the reporter naming themselves.
        turn.data["relation"] = "self"
        return ask(got_other_nik, turn.say("incident.ask_own_nik_unchecked"))
    return ask_nik(turn, got_own_nik, "incident.ask_own_nik")  # the coverage check's limit: one budget for both


async def proved_self(turn: Turn, born: date):
    person = proven_participant(turn, born)
    if person is None:
        return ask(got_not_proven, not_proven_question(turn))
    turn.data.update(
        affected="self",
        relation=None,
        name=person.name,
        cover_start=person.cover_start.isoformat(),
        cover_end=person.cover_end.isoformat(),
    )
    return onward(turn, ask_kind)


got_own_nik, got_own_birth_date = nik_then_birth_date(
    proved_self, "incident.ask_own_birth_date", names=("got_own_nik", "got_own_birth_date")
)


async def got_not_proven(turn: Turn):
    if turn.choice == "again":
        return ask_own_nik(turn)
    if turn.choice == "other":
        return ask(got_other_nik, turn.say("incident.ask_other_nik"))
    return ask_again(got_not_proven, turn, "common.pick_one", not_proven_question(turn))


def not_proven_question(turn: Turn):
    return turn.question("incident.not_proven", [("again", "incident.try_again"), ("other", "incident.as_other")])


async def got_other_nik(turn: Turn):
    # Found in the roster or not, the reporter is told nothing about it.
    turn.data.update(affected="other", cover_start=None, cover_end=None)
    own = turn.data.get("relation") == "self"
    return took_nik(turn, got_other_nik, got_name, "incident.ask_own_name" if own else "incident.ask_name")


async def got_name(turn: Turn):
    name = " ".join(turn.text.split())
    if not 2 <= len(name) <= 200 or not any(letter.isalpha() for letter in name):
        return ask_again(got_name, turn, "incident.name_invalid")
    turn.data["name"] = name
    if turn.data.get("relation") == "self":  # about oneself, unchecked: no relation to ask
        return onward(turn, ask_kind)
    return ask(got_relation, relation_question(turn))


def relation_question(turn: Turn):
    return turn.question(
        "incident.ask_relation", [(relation, f"incident.relation_{relation}") for relation in RELATIONS]
    )


async def got_relation(turn: Turn):
    return picked(turn, got_relation, RELATIONS, relation_question, "relation", ask_kind)


def ask_resident(turn: Turn):
    """A village officer reporting for a resident: who, by NIK."""
    return ask(got_resident_nik, turn.say("officer.ask_resident_nik"))


async def got_resident_nik(turn: Turn):
    nik = typed_nik(turn, got_resident_nik)
    if isinstance(nik, Ask):
        return nik
    officer = linked_officer(turn.db, chat=turn.chat)
    person = officer and resident(turn.db, nik_hash=turn.services.hasher.nik_hash(nik.digits), officer=officer)
    if person is None:
        # Not theirs to see: the same words whether the NIK exists elsewhere or not at all.
        return ask_again(got_resident_nik, turn, "officer.not_resident", village=officer.village if officer else "-")
    turn.data.update(
        affected="other",
        relation="village_officer",
        for_resident=True,
        name=person.name,
        nik_hash=person.nik_hash,
        nik_masked=mask_nik(nik.digits),
        cover_start=person.cover_start.isoformat(),
        cover_end=person.cover_end.isoformat(),
    )
    return onward(turn, ask_kind)


# -- what, when, where, how ----------------------------------------------------


def kind_question(turn: Turn):
    return turn.question("incident.ask_kind", [(kind, f"incident.kind_{kind}") for kind in KINDS])


def ask_kind(turn: Turn):
    return ask(got_kind, kind_question(turn))


async def got_kind(turn: Turn):
    if turn.choice in DEATHS:
        turn.data["kind"] = turn.choice
        return onward(turn, ask_date, turn.say("incident.condolences"))
    return picked(turn, got_kind, KINDS, kind_question, "kind", ask_date)


def date_question(turn: Turn):
    return turn.question("incident.ask_date", [("today", "incident.today"), ("yesterday", "incident.yesterday")])


def ask_date(turn: Turn):
    return ask(got_date, date_question(turn))


async def got_date(turn: Turn):
    if turn.choice in ("today", "yesterday"):
        day = turn.today - timedelta(days=0 if turn.choice == "today" else 1)
    else:
        day = parse_incident_date(turn.text, today=turn.today)
        if isinstance(day, Invalid):
            return ask_again(got_date, turn, f"incident.date_{day.reason}", date_question(turn))
    if day > turn.today:
        return ask_again(got_date, turn, "incident.date_future", date_question(turn))
    turn.data["occurred_on"] = day.isoformat()
    warning = outside_cover(turn, day)
    return onward(turn, ask_place, *([warning] if warning else []))


def outside_cover(turn: Turn, day: date):
    """Told only to a reporter who proved to be the person, or to their
    village officer: the cover period is theirs to know, nobody else's."""
    if turn.data.get("affected") != "self" and not turn.data.get("for_resident"):
        return None
    start, end = date.fromisoformat(turn.data["cover_start"]), date.fromisoformat(turn.data["cover_end"])
    if start <= day <= end:
        return None
    return turn.say("incident.maybe_not_covered", start=long_date(turn, start), end=long_date(turn, end))


def place_question(turn: Turn):
    return turn.request("incident.ask_place", "location")


def ask_place(turn: Turn):
    return ask(got_place, place_question(turn))


async def got_place(turn: Turn):
    if where := turn.inbound.location:
        turn.data.update(place=turn.t("incident.shared_location"), latitude=where.latitude, longitude=where.longitude)
        return onward(turn, ask_chronology)
    place = " ".join(turn.text.split())
    if not 3 <= len(place) <= 300:
        return ask_again(got_place, turn, "incident.place_invalid", place_question(turn))
    turn.data.update(place=place, latitude=None, longitude=None)
    return onward(turn, ask_chronology)


def ask_chronology(turn: Turn):
    return ask(got_chronology, turn.say("incident.ask_chronology"))


async def got_chronology(turn: Turn):
    voiced = [item for item in turn.inbound.media if item.is_voice]
    if voiced and len(turn.data["files"]) < MAX_FILES:
        # Many people speak more easily than they type: the voice note is the story.
        turn.data["files"].append(voiced[0].as_json())
        turn.data["chronology"] = turn.t("incident.voice_story")
        return onward(turn, ask_files)
    told = turn.text
    if len(told) > MAX_CHRONOLOGY:
        return ask_again(got_chronology, turn, "incident.chronology_long", length=len(told))
    if len(told.split()) < MIN_CHRONOLOGY_WORDS:
        return ask_again(got_chronology, turn, "incident.chronology_short")
    turn.data["chronology"] = told
    return onward(turn, ask_files)


# -- files and phone -------------------------------------------------------------


def ask_files(turn: Turn):
    return ask(got_files, files_question(turn, "incident.ask_files"))


async def got_files(turn: Turn):
    if turn.choice == "files_done":
        return onward(turn, ask_phone)
    return take_files(turn, turn.data["files"], got_files)


def ask_phone(turn: Turn):
    if phone := turn.inbound.sender_phone:  # WhatsApp: the sender's number is known
        turn.data["sender_phone"] = phone
        choices = [("this_number", "incident.use_this_number"), ("another_number", "incident.another_number")]
        return ask(got_phone, turn.question("incident.ask_phone_this", choices, phone=phone))
    return ask(got_phone, turn.request("incident.ask_phone", "contact"))


async def got_phone(turn: Turn):
    if turn.choice == "this_number" and turn.data.get("sender_phone"):
        phone = turn.data["sender_phone"]
    elif turn.choice == "another_number":
        return ask(got_phone, turn.say("incident.ask_phone_typed"))
    else:
        phone = parse_phone(turn.inbound.contact_phone or turn.text)
        if isinstance(phone, Invalid):
            return ask_again(got_phone, turn, "incident.phone_invalid")
    turn.data["phone"] = phone
    return ask_summary(turn)


# -- summary, change, send ---------------------------------------------------------


def picked(turn: Turn, step, options, question, field: str, next_question):
    """A pick among `options` kept in the draft as `field`, then onward;
    anything else asks `question` again."""
    if turn.choice not in options:
        return ask_again(step, turn, "common.pick_one", question(turn))
    turn.data[field] = turn.choice
    return onward(turn, next_question)


def onward(turn: Turn, next_question, *before):
    """The next question, or back to the summary when a field was changed."""
    following = ask_summary(turn) if turn.data.get("editing") else next_question(turn)
    return ask(following.step, *before, *following.messages)


def ask_summary(turn: Turn):
    return ask(got_summary, summary_question(turn))


def summary_question(turn: Turn):
    draft, t = turn.data, turn.t
    if draft["affected"] == "self":
        # NIK + birth date proved no more than a KTP's data: the roster's name is not shown.
        person = t("incident.person_self", nik=draft["nik_masked"])
    else:
        relation = t(f"incident.relation_{draft['relation']}")
        person = t("incident.person_other", name=draft["name"], nik=draft["nik_masked"], relation=relation)
    choices = [("submit", "incident.submit"), ("change", "incident.change")]
    return turn.question(
        "incident.summary",
        choices,
        person=person,
        kind=t(f"incident.kind_{draft['kind']}"),
        date=long_date(turn, date.fromisoformat(draft["occurred_on"])),
        place=draft["place"],
        chronology=draft["chronology"],
        files=len(draft["files"]),
        phone=draft["phone"],
    )


async def got_summary(turn: Turn):
    if turn.choice == "submit":
        return submit(turn)
    if turn.choice == "change":
        return ask(got_field, field_question(turn))
    return ask_again(got_summary, turn, "common.pick_one", summary_question(turn))


def field_question(turn: Turn):
    return turn.question("incident.which_field", [(field, f"incident.field_{field}") for field in FIELDS])


async def got_field(turn: Turn):
    if turn.choice not in FIELDS:
        return ask_again(got_field, turn, "common.pick_one", field_question(turn))
    turn.data["editing"] = True
    if turn.choice == "person":
        return ask_resident(turn) if turn.data.get("for_resident") else ask(got_who, who_question(turn))
    if turn.choice == "files":
        turn.data["files"] = []
        return ask(got_files, turn.say("incident.files_cleared"), *ask_files(turn).messages)
    ask_field = {
        "kind": ask_kind,
        "date": ask_date,
        "place": ask_place,
        "chronology": ask_chronology,
        "phone": ask_phone,
    }[turn.choice]
    return ask_field(turn)


def submit(turn: Turn):
    draft = turn.data
    occurred_on = date.fromisoformat(draft["occurred_on"])
    # Operators see whether the person is in the roster and was covered that
    # day, whoever reported; the reporter, only after proving to be them.
    person = find_participant(turn.db, nik_hash=draft["nik_hash"])
    covered = person.cover_start <= occurred_on <= person.cover_end if person else None
    fields = {
        name: draft[name]
        for name in ("affected", "relation", "nik_hash", "nik_masked", "name", "kind", "place", "chronology", "phone")
    }
    fields.update(
        participant_id=person and person.id,
        occurred_on=occurred_on,
        covered=covered,
        latitude=draft.get("latitude"),
        longitude=draft.get("longitude"),
    )
    reference = file_incident(
        turn.db, reporter=turn.chat, fields=fields, files=drafted(draft["files"]), now=turn.now, year=turn.today.year
    )
    turn.emit(ReportFiled(reference))
    if draft["affected"] == "self" or draft.get("for_resident"):
        coverage = turn.t("incident.covered_yes" if covered else "incident.covered_no")
    else:
        coverage = turn.t("incident.covered_checked")
    # A death is met with condolences and the heirs' next steps, never treatment advice.
    filed, next_steps = ("filed_death", "next_steps_death") if draft["kind"] in DEATHS else ("filed", "next_steps")
    return done(
        turn.say(f"incident.{filed}", reference=reference, name=draft["name"]),
        Outbound(f"{coverage}\n{turn.t(f'incident.{next_steps}', phone=draft['phone'])}"),
        Outbound(f"{turn.t('incident.documents')}\n{turn.t('documents.' + draft['kind'])}"),
    )


flow = Flow.of(
    "incident",
    start,
    got_who,
    got_own_nik,
    got_own_birth_date,
    got_not_proven,
    got_other_nik,
    got_name,
    got_relation,
    got_resident_nik,
    got_kind,
    got_date,
    got_place,
    got_chronology,
    got_files,
    got_phone,
    got_summary,
    got_field,
    menu="menu.incident",
    keeps_draft=True,
    questions={
        got_who: asking(got_who, who_question),
        got_own_nik: ask_own_nik,
        got_own_birth_date: asking(got_own_birth_date, lambda turn: turn.say("incident.ask_own_birth_date")),
        got_not_proven: asking(got_not_proven, not_proven_question),
        got_other_nik: asking(got_other_nik, lambda turn: turn.say("incident.ask_other_nik")),
        got_name: asking(got_name, lambda turn: turn.say("incident.ask_name")),
        got_relation: asking(got_relation, relation_question),
        got_resident_nik: ask_resident,
        got_kind: ask_kind,
        got_date: ask_date,
        got_place: ask_place,
        got_chronology: ask_chronology,
        got_files: ask_files,
        got_phone: ask_phone,
        got_summary: ask_summary,
        got_field: asking(got_field, field_question),
    },
)
