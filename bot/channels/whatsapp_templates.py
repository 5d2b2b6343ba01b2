"""Payung's own WhatsApp message templates (whatsapp_templates.yaml): what
each says, which message kinds it serves, and their review at Meta, read
and submitted through pywa. A kind that config.yaml's whatsapp.templates
maps to a template of the operators' own uses that one instead."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlmodel import Session

from bot.config import Settings, TemplateSettings
from bot.reminder_plan import template_key
from bot.transact import aside
from bot.types import Readiness, TemplatePreview
from storage import whatsapp_templates
from storage.db import Database
from storage.subscriptions import consenting_chats
from storage.yaml_files import read_yaml

if TYPE_CHECKING:  # pywa is 29 MiB, which a bot on Telegram alone never needs
    from pywa.types.templates import Template
    from pywa_async import WhatsApp

log = logging.getLogger(__name__)

SHIPPED = Path(__file__).with_name("whatsapp_templates.yaml")
LANGUAGES = ("id", "en")
# Statuses under which Meta may still approve a template: its messages wait.
UNDER_REVIEW = frozenset({"PENDING", "IN_APPEAL", "PAUSED", "LIMIT_EXCEEDED"})
FAMILY = re.compile(r"_\d+$")  # reminder_30 is a reminder, reminder_after_1 a reminder_after


@dataclass(frozen=True)
class Shipped:
    name: str
    serves: tuple[str, ...]  # the message kinds (TemplateRef keys) it carries
    parameters: tuple[str, ...]
    bodies: Mapping[str, str]  # language -> body with {{1}} ...
    examples: Mapping[str, tuple[str, ...]]  # language -> a value for each parameter

    def template(self, language: str) -> Template:
        """As submitted for review, in one language."""
        from pywa.types.templates import BodyText, ParamFormat, Template, TemplateCategory, TemplateLanguage

        body = BodyText(self.bodies[language], *self.examples[language])
        return Template(
            name=self.name,
            language=TemplateLanguage(language),
            category=TemplateCategory.UTILITY,
            components=[body],
            parameter_format=ParamFormat.POSITIONAL,
        )


@functools.cache  # a file that ships with the code: read once, not at every consent or preview
def shipped(path: Path = SHIPPED) -> dict[str, Shipped]:
    """The shipped templates by name."""
    found = {}
    for name, entry in read_yaml(path).items():
        found[name] = Shipped(
            name=name,
            serves=tuple(entry["serves"]),
            parameters=tuple(entry["parameters"]),
            bodies={language: entry[language] for language in LANGUAGES},
            examples={language: tuple(entry["examples"][language]) for language in LANGUAGES},
        )
    return found


def readiness_of(status: str | None) -> Readiness:
    """Meta's review status, as the sending decision reads it."""
    return "ready" if status == "APPROVED" else "pending" if status in UNDER_REVIEW else "missing"


@dataclass(frozen=True)
class Chosen:
    """The template a message kind goes as, in a chat's language."""

    settings: TemplateSettings
    readiness: Readiness


class Templates:
    """Which template carries each message kind, and whether it may go:
    an operator's own (config.yaml) always; a shipped one once Meta has
    approved it in that language, held back while it is under review."""

    def __init__(self, configured: Mapping[str, TemplateSettings]):
        self.configured = configured
        self.shipped = shipped()
        self.serving = {kind: item for item in self.shipped.values() for kind in item.serves}

    def choose(self, kind: str, language: str, statuses: Mapping[tuple[str, str], str]) -> Chosen | None:
        if kind in self.configured:
            return Chosen(self.configured[kind], "ready")
        item = self.serving.get(kind) or self.serving.get(FAMILY.sub("", kind))
        if item is None:
            return None
        # In the chat's language; where that one was refused or never made, in Indonesian.
        for tried in dict.fromkeys((language if language in item.bodies else LANGUAGES[0], LANGUAGES[0])):
            readiness = readiness_of(statuses.get((item.name, tried)))
            if readiness != "missing":
                break
        settings = TemplateSettings(name=item.name, language=tried, parameters=list(item.parameters))
        return Chosen(settings, readiness)

    def needed(self, kinds: list[str], statuses: Mapping[tuple[str, str], str]) -> dict[str, Readiness]:
        """Each kind's readiness in Indonesian, the language every chat can be sent."""
        result: dict[str, Readiness] = {}
        for kind in kinds:
            chosen = self.choose(kind, LANGUAGES[0], statuses)
            result[kind] = chosen.readiness if chosen else "missing"
        return result


async def read_statuses(client: WhatsApp, waba_id: str) -> list[tuple[str, str, str, str]]:
    """(name, language, status, id) of every template of the business account."""
    found, page = [], await client.get_templates(waba_id=waba_id)
    while True:
        found += [(item.name, str(item.language), str(item.status), item.id) for item in page]
        if not page.has_next:
            return found
        page = await page.next()


async def sync(client: WhatsApp, waba_id: str, db: Database, *, now: datetime) -> list[tuple[str, str, str, str]]:
    """Submit every shipped template (in each language) Meta does not have
    yet, then record and return every one's status."""
    present = {(name, language) for name, language, _, _ in await read_statuses(client, waba_id)}
    for item in shipped().values():
        for language in LANGUAGES:
            if (item.name, language) not in present:
                created = await client.create_template(item.template(language), waba_id=waba_id)
                log.info("whatsapp template %s (%s) submitted: %s", item.name, language, created.status)
    return await refresh(client, waba_id, db, now=now)


async def refresh(client: WhatsApp, waba_id: str, db: Database, *, now: datetime) -> list[tuple[str, str, str, str]]:
    """Read every template's review status from Meta, and record it."""
    found = await read_statuses(client, waba_id)

    def record() -> None:
        with db.transaction() as session:
            whatsapp_templates.record(session, found, now=now)

    await aside(db, record)
    return found


def reminders_ready(settings: Settings, session: Session) -> bool:
    """Whether every reminder stage's template may carry it now (read in
    the caller's transaction: a conversation step's)."""
    templates = Templates(settings.whatsapp.templates)
    kinds = [template_key(stage) for stage in settings.reminders.stages]
    statuses = whatsapp_templates.statuses(session)
    return all(state == "ready" for state in templates.needed(kinds, statuses).values())


def template_preview(
    settings: Settings, session: Session, key: str, language: str, values: Mapping[str, str]
) -> TemplatePreview:
    templates = Templates(settings.whatsapp.templates)
    chosen = templates.choose(key, language, whatsapp_templates.statuses(session))
    if chosen is None:
        return TemplatePreview("missing")
    item = templates.shipped.get(chosen.settings.name)
    if item is None:  # the operators' own: its words are kept at Meta
        return TemplatePreview(chosen.readiness, chosen.settings.name)
    words = item.bodies[chosen.settings.language]
    for number, name in enumerate(item.parameters, start=1):
        words = words.replace(f"{{{{{number}}}}}", one_line(values.get(name, "")))
    return TemplatePreview(chosen.readiness, item.name, words)


def one_line(value: object) -> str:
    """A template parameter as the Cloud API takes it: no line break, tab or
    run of spaces (each becomes one space; the template keeps its own breaks)."""
    return " ".join(str(value).split())


def not_ready(settings: Settings, statuses: Mapping[tuple[str, str], str]) -> list[tuple[str, Readiness]]:
    """The message kinds WhatsApp cannot carry past 24 hours yet, with why
    (under review, or no template): of the reminders' stages, notices (and
    digests), the helpdesk's answers, announcements and the renewal news."""
    kinds = [template_key(stage) for stage in settings.reminders.stages]
    kinds += ["notice", "answer", "announcement", "renewal"]
    readiness = Templates(settings.whatsapp.templates).needed(kinds, statuses)
    return [(kind, state) for kind, state in readiness.items() if state != "ready"]


def unready(settings: Settings, db: Database) -> str | None:
    """One loud line for `run` and `reminders plan`: WhatsApp chats have
    consented, but templates their messages need are not approved."""
    if not settings.whatsapp.enabled:
        return None
    with db.transaction() as session:
        chats = consenting_chats(session, channel="whatsapp")
        statuses = whatsapp_templates.statuses(session)
    if not chats:
        return None
    waiting = not_ready(settings, statuses)
    if not waiting:
        return None
    listed = ", ".join(f"{kind} ({state})" for kind, state in waiting)
    return (
        f"{chats:,} WhatsApp chats consented to reminders, but these have no approved template: {listed}. "
        "Outside 24 hours they wait (pending) or are not sent (missing): run `python -m bot whatsapp templates sync`."
    )
