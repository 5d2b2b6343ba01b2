"""Village officers (perangkat desa).

Linking ("perangkat" anywhere): NIK + birth date + the chat's own phone
number (WhatsApp: the sender's; Telegram: a shared own contact) must match
one row of the officers' list. Every mismatch gets the same answer and counts
against the coverage check's attempt limit.

A linked chat's menu adds Lapor untuk warga (the incident report, for a
resident of the officer's own village chosen by NIK) and Rekap desa (the
village at a glance).
"""

from __future__ import annotations

from datetime import date

from handlers.flow import Flow, Turn, ask, ask_again, done, goto
from handlers.identity import ask_nik, nik_then_birth_date, record_check
from handlers.incident import ReportDraft
from handlers.messages import Choice, Outbound
from handlers.parse import Invalid, parse_phone
from handlers.wording import written_date
from storage.officers import (
    OfficerRow,
    VillageSummary,
    align_village,
    find_officer,
    link,
    linked_officer,
    not_opted_in,
    village_summary,
)

# -- linking -------------------------------------------------------------------


async def start_link(turn: Turn):
    if officer := linked_officer(turn.db, chat=turn.chat):
        return done(turn.say("officer.already_linked", position=officer.position, village=officer.village))
    return ask_nik(turn, got_nik, "officer.ask_nik")


async def checked(turn: Turn, born: date):
    turn.data["birth_hash"] = turn.services.hasher.birth_hash(turn.data["nik_hash"], born)
    if turn.inbound.sender_phone:  # WhatsApp: the chat's own number is known already
        return linked(turn, turn.inbound.sender_phone)
    return ask(got_phone, turn.request("officer.ask_phone", "contact"))


got_nik, got_birth_date = nik_then_birth_date(checked, "officer.ask_birth_date")


async def got_phone(turn: Turn):
    if turn.inbound.contact_phone:
        return linked(turn, turn.inbound.contact_phone)
    if turn.capabilities.verified_phone == "typed":  # no contact button: the operator's own console
        typed = parse_phone(turn.text)
        if not isinstance(typed, Invalid):
            return linked(turn, typed)
    return ask(got_phone, turn.request("officer.phone_button", "contact"))


def linked(turn: Turn, phone: str):
    hasher = turn.services.hasher
    officer = find_officer(turn.db, nik_hash=turn.data["nik_hash"])
    phone = parse_phone(phone)
    matched = (
        officer is not None and hasher.same(officer.birth_hash, turn.data["birth_hash"]) and officer.phone == phone
    )
    record_check(turn, proven=matched)
    if not matched:
        return done(turn.say("officer.not_matched"))
    officer = align_village(turn.db, officer)
    link(turn.db, officer_id=officer.id, chat=turn.chat, now=turn.now)
    return done(turn.say("officer.linked", position=officer.position, village=officer.village))


link_flow = Flow.of("officer_link", start_link, got_nik, got_birth_date, got_phone, keywords="officer")


# -- Lapor untuk warga -----------------------------------------------------------


async def start_report(turn: Turn):
    """A hand-off: the incident flow, for a resident of the officer's village."""
    if linked_officer(turn.db, chat=turn.chat) is None:
        return done(turn.say("officer.not_linked"))
    return goto("incident", ReportDraft(files=[], for_resident=True))


report_flow = Flow.of("officer_report", start_report, menu="menu.officer_report", officers_only=True)


# -- Rekap desa ------------------------------------------------------------------


PAGE = 10  # residents listed at once: a short message on a small screen


async def start_summary(turn: Turn):
    officer = linked_officer(turn.db, chat=turn.chat)
    if officer is None:
        return done(turn.say("officer.not_linked"))
    summary = village_summary(turn.db, officer=officer)
    if not summary.not_opted_in:
        return done(Outbound(summary_text(turn, officer, summary)))
    return ask(chose_summary, summary_question(turn, officer, summary))


def summary_question(turn: Turn, officer: OfficerRow, summary: VillageSummary) -> Outbound:
    choices = (Choice("not_opted_in", turn.t("officer.list_not_opted_in")), Choice("back", turn.t("common.back")))
    return Outbound(summary_text(turn, officer, summary), choices=choices)


async def chose_summary(turn: Turn):
    officer = linked_officer(turn.db, chat=turn.chat)
    if officer is None:
        return done(turn.say("officer.not_linked"))
    if turn.choice == "not_opted_in":
        turn.data["page"] = 0
        return ask(chose_page, page_question(turn, officer))
    if turn.choice == "back":
        return done()
    summary = village_summary(turn.db, officer=officer)
    return ask_again(chose_summary, turn, "common.pick_one", summary_question(turn, officer, summary))


def page_question(turn: Turn, officer: OfficerRow) -> Outbound:
    """One page of the residents not opted in to reminders, by name."""
    first = turn.data["page"] * PAGE
    # One more than a page says whether there is a next one.
    names = not_opted_in(turn.db, officer=officer, offset=first, limit=PAGE + 1)
    lines = [
        f"{number}. {name} ({turn.t(f'category.{category}')})"
        for number, (name, category) in enumerate(names[:PAGE], start=first + 1)
    ]
    text = turn.t("officer.not_opted_in_page", village=officer.village, lines="\n".join(lines) or "-")
    choices = [Choice("next", turn.t("officer.next_page"))] if len(names) > PAGE else []
    return Outbound(text, choices=(*choices, Choice("back", turn.t("common.back"))))


async def chose_page(turn: Turn):
    officer = linked_officer(turn.db, chat=turn.chat)
    if officer is None:
        return done(turn.say("officer.not_linked"))
    if turn.choice == "next":
        turn.data["page"] += 1
        return ask(chose_page, page_question(turn, officer))
    if turn.choice == "back":
        return done()
    return ask_again(chose_page, turn, "common.pick_one", page_question(turn, officer))


def summary_text(turn: Turn, officer: OfficerRow, summary: VillageSummary) -> str:
    t = turn.t

    def lines(rows, label):
        return "\n".join(f"• {label(value)}: {count}" for value, count in rows) or "• -"

    return t(
        "officer.summary",
        village=officer.village,
        district=officer.district,
        residents=summary.residents,
        categories=lines(summary.by_category, lambda value: t(f"category.{value}")),
        ends=lines(summary.cover_ends, lambda day: written_date(t, day)),
        reports=lines(summary.reports_by_status, lambda status: t(f"status.{status}")),
        not_opted_in=summary.not_opted_in,
    )


summary_flow = Flow.of(
    "officer_summary", start_summary, chose_summary, chose_page, menu="menu.officer_summary", officers_only=True
)
