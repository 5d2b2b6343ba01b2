"""What an operator must know about the settings before trusting the bot:
shown as a banner on every console page."""

from __future__ import annotations

from bot.config import ContactSettings, Settings
from bot.reminder_plan import template_key


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
    if settings.whatsapp.enabled:
        # The reminders', the notices', the helpdesk's answers', the announcements' and the renewal news'.
        wanted = [template_key(stage) for stage in settings.reminders.stages]
        wanted += ["notice", "answer", "announcement", "renewal"]
        missing = [key for key in wanted if key not in settings.whatsapp.templates]
        if missing:
            warnings.append(("banner.missing_templates", {"keys": ", ".join(missing)}))
    return warnings
