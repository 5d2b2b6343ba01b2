"""Commands operators type in their Telegram group:

    /status LK-2026-000123 diverifikasi catatan...

Only the Telegram users listed in telegram.operators may use them; the change
is recorded under their name, the reporter is told (a notice), and the group
gets one line back. The group is otherwise never answered: nobody's data is
shown there except in the notices operators are meant to read."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from bot.notices import Notices
from bot.ops.authority import Actor, Invalid, NotFound
from bot.ops.reports import allowed_moves, change_status, visible
from bot.types import Clock
from handlers.texts import OPERATORS_LANGUAGE, Catalogue
from storage import incidents
from storage.db import Database
from storage.processed import claim_message
from storage.report_statuses import STATUSES


@dataclass(frozen=True)
class Command:
    channel: str
    message_id: str  # the platform's, so a redelivery changes nothing twice
    operator_id: int
    operator_name: str
    text: str


@dataclass(frozen=True)
class OperatorCommands:
    db: Database
    notices: Notices
    catalogue: Catalogue
    operators: Collection[int]  # who may use them
    clock: Clock

    def run(self, command: Command) -> str | None:
        """The group's answer to a command, or None when it is not one (or was
        already handled)."""
        words = command.text.split()
        if not words or words[0].split("@")[0] != "/status":
            return None
        t = self.catalogue[OPERATORS_LANGUAGE]
        usage = t("operators.status_usage", statuses=", ".join(incidents.STATUSES))
        if command.operator_id not in self.operators:
            return t("operators.not_operator")
        if len(words) < 3:
            return usage
        reference, status, note = words[1].upper(), words[2].lower(), " ".join(words[3:]) or None
        if note is not None and len(note) > incidents.MAX_STATUS_NOTE:
            return t("operators.note_too_long", most=incidents.MAX_STATUS_NOTE, length=len(note))
        actor = Actor(f"telegram:{command.operator_name}", "operator")
        now = self.clock()
        # A refused command is committed as handled too: a redelivery is not run again.
        with self.db.transaction() as session:
            if not claim_message(session, channel=command.channel, message_id=command.message_id, now=now):
                return None
            try:
                current = visible(session, actor=actor, reference=reference).status
                if status in STATUSES and status not in allowed_moves(actor, current):
                    return t("operators.move_refused", reference=reference, current=t(f"status.{current}"))
                change_status(
                    session, actor=actor, reference=reference, status=status, note=note, notices=self.notices, now=now
                )
            except Invalid:
                return usage
            except NotFound:
                return t("operators.no_report", reference=reference)
        return t(
            "operators.status_done", reference=reference, status=t(f"status.{status}"), operator=command.operator_name
        )
