"""Klaim warga: a village officer adds claim information to a report about a
resident of their village: the documents checklist of its kind, ticked item
by item, more files, and notes. When they finish, the operators get one
notice of what changed.

The checklist is the catalogue's list for the report's kind (documents.*),
one item a line; an item is stored by its Indonesian wording, so officers
using either language tick the same items.
"""

from __future__ import annotations

from handlers.events import ClaimUpdated
from handlers.files import drafted, files_question, take_files
from handlers.flow import Flow, Turn, ask, ask_again, done
from handlers.messages import Choice, Outbound
from handlers.texts import LANGUAGES, OPERATORS_LANGUAGE
from handlers.understand import mentioned
from storage.incidents import Report, add_files, add_note, report, ticked, toggle_document, village_reports
from storage.officers import linked_officer

LISTED = 8  # open reports offered at once, newest first
MAX_NOTE = 500


def items(turn: Turn, kind: str, language: str) -> list[str]:
    return turn.services.catalogue[language].lines(f"documents.{kind}")


async def start(turn: Turn):
    officer = linked_officer(turn.db, chat=turn.chat)
    if officer is None:
        return done(turn.say("officer.not_linked"))
    found = village_reports(turn.db, village=officer.village, district=officer.district)[:LISTED]
    if not found:
        return done(turn.say("claim.none", village=officer.village))
    turn.data = {"officer": officer.name, "changed": []}
    return ask(got_report, reports_question(turn, found))


def reports_question(turn: Turn, found: list[Report]) -> Outbound:
    choices = tuple(Choice(item.reference, f"{item.reference} {item.name}") for item in found)
    return Outbound(turn.t("claim.pick"), choices=choices)


async def got_report(turn: Turn):
    officer = linked_officer(turn.db, chat=turn.chat)
    found = turn.choice and report(turn.db, reference=turn.choice)
    if officer is None:
        return done(turn.say("officer.not_linked"))
    if not found or (found.village, found.district) != (officer.village, officer.district):
        offered = village_reports(turn.db, village=officer.village, district=officer.district)[:LISTED]
        return ask_again(got_report, turn, "common.pick_one", reports_question(turn, offered))
    turn.data["reference"] = found.reference
    return ask_checklist(turn, found)


def ask_checklist(turn: Turn, found: Report, *before: Outbound):
    return ask(got_checklist, *before, checklist_question(turn, found))


def checklist(turn: Turn, found: Report) -> tuple[list[str], tuple[Choice, ...], int]:
    """The report's documents marked ready (✓) or not (☐) in the chat's
    language, the buttons that tick them and the other actions, and how
    many are ready."""
    keys = items(turn, found.kind, LANGUAGES[0])
    shown = items(turn, found.kind, turn.t.language)
    if len(shown) != len(keys):  # a translation that lost step with the Indonesian list
        shown = keys
    ready = ticked(turn.db, incident_id=found.id)
    marked = [f"{'✓' if key in ready else '☐'} {text}" for key, text in zip(keys, shown, strict=True)]
    choices = tuple(Choice(f"item:{number}", line) for number, line in enumerate(marked))
    choices += tuple(Choice(action, turn.t(f"claim.{action}")) for action in ("add_files", "add_note", "finish"))
    return marked, choices, len(ready & set(keys))


def checklist_question(turn: Turn, found: Report) -> Outbound:
    marked, choices, ready = checklist(turn, found)
    text = turn.t(
        "claim.checklist",
        reference=found.reference,
        name=found.name,
        ready=ready,
        total=len(marked),
        lines="\n".join(marked),
    )
    return Outbound(text, choices=choices)


def ticked_line(turn: Turn, found: Report, number: int) -> Outbound:
    """What a tick answers: the one line it changed, and the same buttons."""
    marked, choices, ready = checklist(turn, found)
    return Outbound(turn.t("claim.ticked", line=marked[number], ready=ready, total=len(marked)), choices=choices)


async def got_checklist(turn: Turn):
    found = report(turn.db, reference=turn.data["reference"])
    keys = items(turn, found.kind, LANGUAGES[0])
    choice = turn.choice or mentioned(turn.text, [[c.id, c.title] for c in checklist(turn, found)[1]])
    if choice and choice.startswith("item:") and int(choice[5:]) < len(keys):
        number = int(choice[5:])
        now_ticked = toggle_document(
            turn.db, incident_id=found.id, item=keys[number], by=officer_name(turn), now=turn.now
        )
        turn.data["changed"].append(f"{'✓' if now_ticked else '☐'} {keys[number]}")
        return ask(got_checklist, ticked_line(turn, found, number))
    if choice == "add_files":
        turn.data["files"] = []
        return ask(got_files, files_question(turn, "claim.ask_files"))
    if choice == "add_note":
        return ask(got_note, turn.say("claim.ask_note"))
    if choice == "finish":
        if turn.data["changed"]:
            turn.emit(ClaimUpdated(found.reference, turn.data["officer"], tuple(turn.data["changed"])))
        return done(turn.say("claim.saved", reference=found.reference))
    return ask_again(got_checklist, turn, "common.pick_one", checklist_question(turn, found))


def for_operators(turn: Turn):
    """What changed is told to the operators, in their language."""
    return turn.services.catalogue[OPERATORS_LANGUAGE]


def officer_name(turn: Turn) -> str:
    return f"officer:{turn.data['officer']}"


async def got_files(turn: Turn):
    if turn.choice == "files_done":
        found = report(turn.db, reference=turn.data["reference"])
        added = add_files(turn.db, incident_id=found.id, files=drafted(turn.data["files"]), now=turn.now)
        if added:
            turn.data["changed"].append(for_operators(turn)("claim.files_added", count=added))
        return ask_checklist(turn, found)
    return take_files(turn, turn.data["files"], got_files)


async def got_note(turn: Turn):
    note = turn.text
    if not 3 <= len(note) <= MAX_NOTE:
        return ask_again(got_note, turn, "claim.note_invalid")
    found = report(turn.db, reference=turn.data["reference"])
    add_note(turn.db, incident_id=found.id, author=officer_name(turn), text=note, now=turn.now)
    turn.data["changed"].append(for_operators(turn)("claim.note_added", note=note))
    return ask_checklist(turn, found, turn.say("claim.note_saved"))


flow = Flow.of(
    "officer_claim",
    start,
    got_report,
    got_checklist,
    got_files,
    got_note,
    menu="menu.officer_claim",
    officers_only=True,
)
