"""Who looked at whose data: the audit trail for a data-subject request
under UU 27/2022 ("who looked at my data?"). Only an administrator may read
it; the NIK asked about is hashed at once and shown back masked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from bot.ops.authority import Actor, Invalid
from handlers.parse import Invalid as Unreadable
from handlers.parse import parse_nik
from storage.attempts import AuditRow, audit_rows
from storage.participants import find_participant
from storage.privacy import IdentityHasher, mask_nik


@dataclass(frozen=True)
class AuditTrail:
    about: str | None  # the masked NIK asked about, if any
    in_roster: bool
    rows: list[AuditRow]


def audit_trail(
    session: Session, *, actor: Actor, hasher: IdentityHasher, nik: str | None = None, since: datetime | None = None
) -> AuditTrail:
    """Every check and disclosure from `since` on: about one NIK (its roster
    row, or checks of it that matched nobody), or all of them."""
    actor.require("manage")
    if nik is None:
        return AuditTrail(None, False, audit_rows(session, since=since))
    parsed = parse_nik(nik)
    if isinstance(parsed, Unreadable):
        raise Invalid("the NIK must be 16 digits")
    nik_hash = hasher.nik_hash(parsed.digits)
    person = find_participant(session, nik_hash=nik_hash)
    rows = audit_rows(session, participant_id=person and person.id, nik_hash=nik_hash, since=since)
    return AuditTrail(mask_nik(parsed.digits), person is not None, rows)
