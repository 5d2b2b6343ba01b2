"""What an operator must know about the settings before trusting the bot:
shown as a banner on every console page."""

from __future__ import annotations

from bot.channels.whatsapp_templates import not_ready
from bot.config import ContactSettings, Settings
from bot.types import Readiness
from storage import whatsapp_templates
from storage.db import Database


def settings_warnings(settings: Settings) -> list[tuple[str, dict[str, str]]]:
    """(text key, values) of each problem."""
    warnings: list[tuple[str, dict[str, str]]] = []
    enabled = [section for section in settings.channels().values() if section.enabled]
    if not any(section.operator_addresses() for section in enabled):
        warnings.append(("banner.no_destination", {}))
    shipped = ContactSettings()
    if any(getattr(settings.contacts, name) == getattr(shipped, name) for name in ("bpjs_office", "dinas_pmd")):
        warnings.append(("banner.placeholder_contacts", {}))
    if not settings.programme.bpu.confirmed:
        warnings.append(("banner.bpu_unconfirmed", {}))
    return warnings


def unready_templates(settings: Settings, db: Database) -> list[tuple[str, Readiness]]:
    """The message kinds WhatsApp cannot carry past 24 hours yet (see not_ready)."""
    if not settings.whatsapp.enabled:
        return []
    with db.transaction() as session:
        return not_ready(settings, whatsapp_templates.statuses(session))
