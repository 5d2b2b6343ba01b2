"""Status laporan: a reporter's own reports and each one's history; its
reporter, or the village officer of the person it is about, can send the
documents that were not ready when it was filed (a death certificate).

A report is seen by the chat that filed it, by the affected person's own
verified chat (handlers/identity.py) and by their village's linked officer;
every showing is audited. A reference number from any other chat shows
nothing, and an unknown number gets the very same answer, so nobody can
learn which numbers exist. There is no NIK-and-birth-date way in: a KTP
photocopy carries both.
"""

from __future__ import annotations

import re
from dataclasses import replace

from babel.dates import format_datetime

from handlers.events import FilesAdded
from handlers.files import drafted, files_question, take_files
from handlers.flow import Flow, Turn, ask, ask_again, done
from handlers.identity import audit
from handlers.messages import Choice, Outbound
from handlers.wording import long_date
from storage import attempts
from storage.incidents import Report, add_files, history, report, reports
from storage.officers import linked_officer
from storage.owners import owned

REFERENCE = re.compile(r"LK\W*(\d{4})\W*(\d{1,6})(?!\d)", re.IGNORECASE)
LISTED = 5  # the newest of a chat's reports offered as buttons


def own_reports(turn: Turn) -> list[Report]:
    """Reports filed from this chat, and those about a person it is proven to be."""
    return reports(turn.db, reporter=turn.chat, about=owned(turn.db, chat=turn.chat))


async def start(turn: Turn):
    if not own_reports(turn):
        return ask(got_reference, turn.say("status.none"), turn.say("status.ask_reference"))
    return ask(chose_report, own_reports_question(turn))


def own_reports_question(turn: Turn) -> Outbound:
    own = own_reports(turn)[:LISTED]
    choices = (
        *(Choice(item.reference, item.reference) for item in own),
        Choice("other", turn.t("status.other_reference")),
    )
    return Outbound(turn.t("status.pick"), choices=choices)


async def chose_report(turn: Turn):
    if turn.choice == "other":
        return ask(got_reference, turn.say("status.ask_reference"))
    if turn.choice is None and not typed_reference(turn):
        return ask_again(chose_report, turn, "common.pick_one", own_reports_question(turn))
    return await got_reference(turn)


def typed_reference(turn: Turn) -> str | None:
    """A report's number however it is typed (LK 2026 000001, lk-2026-1,
    lk2026000001), as it is stored: LK-2026-000001."""
    typed = REFERENCE.search(turn.choice or turn.text)
    return typed and f"LK-{typed[1]}-{int(typed[2]):06d}"


async def got_reference(turn: Turn):
    reference = typed_reference(turn)
    if reference is None:
        return ask_again(got_reference, turn, "status.reference_invalid")
    found = report(turn.db, reference=reference)
    proof = found and seen_as(turn, found)
    if not proof:
        return done(turn.say("status.not_found"))
    audit(turn, outcome=attempts.SHOWN, purpose="report", proof=proof, participant_id=found.participant_id)
    turn.data = {"reference": reference}
    return ask(chose_card, card_question(turn, found))


def seen_as(turn: Turn, found: Report) -> str | None:
    """The proof by which this chat may see the report: its reporter, the
    affected person's verified owner, or their village's linked officer."""
    if found.reporter_chat_pk == turn.chat.id:
        return attempts.REPORTER
    if found.participant_id is not None and found.participant_id in owned(turn.db, chat=turn.chat):
        return attempts.OWNER
    officer = linked_officer(turn.db, chat=turn.chat)
    if officer is not None and (found.village, found.district) == (officer.village, officer.district):
        return attempts.OFFICER
    return None


def card_question(turn: Turn, found: Report) -> Outbound:
    """The report's card, with a way to send what was not ready when it was filed."""
    choices = (Choice("add_files", turn.t("status.add_files")), Choice("back", turn.t("common.back")))
    return replace(card(turn, found), choices=choices)


async def chose_card(turn: Turn):
    if turn.choice == "add_files":
        turn.data["files"] = []
        return ask(got_files, files_question(turn, "status.ask_files"))
    if turn.choice == "back":
        return done()
    found = report(turn.db, reference=turn.data["reference"])
    return ask_again(chose_card, turn, "common.pick_one", card_question(turn, found))


async def got_files(turn: Turn):
    if turn.choice != "files_done":
        return take_files(turn, turn.data["files"], got_files)
    found = report(turn.db, reference=turn.data["reference"])
    files = drafted(turn.data["files"])
    if not files:
        return done(turn.say("status.no_files"))
    add_files(turn.db, incident_id=found.id, files=files, now=turn.now)
    officer = None if found.reporter_chat_pk == turn.chat.id else linked_officer(turn.db, chat=turn.chat)
    turn.emit(FilesAdded(found.reference, officer and officer.name, tuple(files)))
    return done(turn.say("status.files_added", count=len(files), reference=found.reference))


def card(turn: Turn, found: Report):
    zone, language = turn.services.zone, turn.t.language
    lines = []
    for change in history(turn.db, incident_id=found.id):
        at = format_datetime(change.at.astimezone(zone), "d MMM y HH:mm", locale=language)
        status = turn.t(f"status.{change.status}")
        key = "status.history_note" if change.note else "status.history_line"
        lines.append(turn.t(key, at=at, status=status, note=change.note or ""))
    return turn.say(
        "status.report",
        reference=found.reference,
        kind=turn.t(f"incident.kind_{found.kind}"),
        date=long_date(turn, found.occurred_on),
        status=turn.t(f"status.{found.status}"),
        history="\n".join(lines),
    )


flow = Flow.of(
    "status",
    start,
    chose_report,
    got_reference,
    chose_card,
    got_files,
    menu="menu.status",
    formerly={"got_pick": chose_report},
)
