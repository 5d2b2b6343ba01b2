"""Commands operators type in their Telegram group:

    /status LK-2026-000123 diverifikasi catatan...

Only the Telegram users listed in telegram.operators may use them; the change
is recorded under their name, the reporter is told (a notice), and the group
gets one line back. The group is otherwise never answered: nobody's data is
shown there except in the notices operators are meant to read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot import notices
from handlers.flow import Services
from storage import incidents
from storage.db import Database
from storage.processed import claim_message

LANGUAGE = notices.OPERATORS_LANGUAGE


@dataclass(frozen=True)
class Command:
    channel: str
    message_id: str  # the platform's, so a redelivery changes nothing twice
    operator_id: int
    operator_name: str
    text: str


def run(command: Command, *, db: Database, services: Services, now: datetime) -> str | None:
    """The group's answer to a command, or None when it is not one (or was
    already handled)."""
    words = command.text.split()
    if not words or words[0].split("@")[0] != "/status":
        return None
    t = services.catalogue[LANGUAGE]
    if command.operator_id not in services.settings.telegram.operators:
        return t("operators.not_operator")
    if len(words) < 3:
        return t("operators.status_usage", statuses=", ".join(incidents.STATUSES))
    reference, status, note = words[1].upper(), words[2].lower(), " ".join(words[3:]) or None
    with db.transaction() as session:
        if not claim_message(session, channel=command.channel, message_id=command.message_id, now=now):
            return None
        try:
            changed = incidents.set_status(session, reference=reference, status=status, note=note,
                                           actor=f"telegram:{command.operator_name}", now=now)  # fmt: skip
        except incidents.StatusError:
            return t("operators.status_usage", statuses=", ".join(incidents.STATUSES))
        if changed is None:
            return t("operators.no_report", reference=reference)
        notices.status_changed(session, report=changed, note=note, services=services, now=now)
    return t("operators.status_done", reference=reference, status=t(f"status.{status}"), operator=command.operator_name)
