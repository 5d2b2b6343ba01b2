"""Looking a person up from the console: by NIK (hashed at once, never kept
or logged), by KPJ number or by name, within the account's kecamatan. Every
lookup is audited, the NIK masked."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from bot.ops.authority import Actor, Invalid
from handlers.parse import Invalid as Unreadable
from handlers.parse import parse_nik
from storage import console, incidents, subscriptions
from storage.incidents import Report
from storage.participants import ParticipantRow, find_participant, search_participants
from storage.privacy import IdentityHasher, mask_nik

MOST = 50  # people a name search shows
NIK_LIKE = re.compile(r"^[\d\s.-]{16,}$")
KPJ_LIKE = re.compile(r"^\d{6,15}$")


@dataclass(frozen=True)
class Card:
    person: ParticipantRow
    covered: bool  # today
    followers: list[tuple[str, bool]]  # chats reminded about them: channel, consent on
    reports: list[Report]


@dataclass(frozen=True)
class Found:
    how: str  # nik, kpj or name
    cards: list[Card]


def lookup(
    session: Session, *, actor: Actor, hasher: IdentityHasher, query: str, now: datetime, today, address: str | None
) -> Found:
    """People matching what was typed: 16 digits are a NIK, fewer a KPJ
    number, anything else a part of a name."""
    query = " ".join(query.split())
    if len(query) < 3:
        raise Invalid("type a NIK, a KPJ number, or at least 3 letters of a name")
    if NIK_LIKE.match(query):
        parsed = parse_nik(query)
        if isinstance(parsed, Unreadable):
            raise Invalid("a NIK has 16 digits")
        person = find_participant(session, nik_hash=hasher.nik_hash(parsed.digits))
        how, shown, people = "nik", mask_nik(parsed.digits), [person] if person else []
        people = [item for item in people if actor.sees(item.district)]
    elif KPJ_LIKE.match(query):
        how, shown = "kpj", query
        people = search_participants(session, kpj=query, districts=actor.districts, limit=MOST)
    else:
        how, shown = "name", query
        people = search_participants(session, name=query, districts=actor.districts, limit=MOST)
    console.record(
        session,
        account=actor.name,
        action="participant_lookup",
        target=f"{how}:{shown}",
        detail=f"{len(people)} found",
        address=address,
        now=now,
    )
    return Found(how, [_card(session, person, today) for person in people])


def _card(session: Session, person: ParticipantRow, today) -> Card:
    return Card(
        person=person,
        covered=person.cover_start <= today <= person.cover_end,
        followers=subscriptions.followers(session, participant_id=person.id),
        reports=incidents.reports_about(session, participant_id=person.id),
    )
