"""Announcements: operators' news to the consenting chats of a segment (a
kecamatan, a desa, a category, a cover status), previewed, then planned
into the outbox once for each chat and sent at the reminders' pace and hours."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session

from bot.ops.authority import Actor, Invalid
from bot.types import Readiness, TemplatePreview
from handlers.messages import Capabilities
from storage import announcements, console
from storage.announcements import Progress, Segment

MAX_TEXT = 1000  # a WhatsApp template's text parameter holds 1,024
STALE_AFTER = timedelta(days=7)  # news not out within a week is not sent late


@dataclass(frozen=True)
class Draft:
    text_id: str
    text_en: str | None
    segment: Segment


def checked(actor: Actor, *, text_id: str, text_en: str, segment: Segment, districts: list[str]) -> Draft:
    """The announcement as written, or Invalid saying what is wrong."""
    text_id, text_en = text_id.strip(), text_en.strip()
    if not text_id:
        raise Invalid("write the announcement in Indonesian")
    for text in (text_id, text_en):
        if len(text) > MAX_TEXT:
            raise Invalid(f"an announcement holds at most {MAX_TEXT} characters (this one has {len(text)})")
    if segment.district and segment.district not in districts:
        raise Invalid(f"not a kecamatan of the regency: {segment.district}")
    if segment.district and not actor.sees(segment.district):
        raise Invalid(f"{segment.district} is outside your kecamatan")
    if segment.cover not in (None, *announcements.COVERS):
        raise Invalid("the cover status is active or ended")
    return Draft(text_id, text_en or None, segment)


@dataclass(frozen=True)
class Rendition:
    """What one group of the audience would receive, as counted now."""

    channel: str
    language: str
    chats: int
    text: str  # the words they read
    template: str | None = None  # past the reply window: the template carrying them
    readiness: Readiness = "ready"  # pending: it waits for the template's approval; missing: not sent

    @property
    def sent(self) -> int:
        return 0 if self.readiness == "missing" else self.chats


PastWindow = Callable[[str, str, str], TemplatePreview]  # (channel, language, text) -> how it would go


def renditions(
    session: Session,
    *,
    actor: Actor,
    draft: Draft,
    today: date,
    now: datetime,
    capabilities: Mapping[str, Capabilities],
    past_window: PastWindow,
) -> list[Rendition]:
    """The exact message each channel's chats would get, within the actor's
    kecamatan: as written inside a reply window (WhatsApp's 24 hours), and
    outside it as the channel's "announcement" template says it, waiting
    for its approval, or not at all."""
    windows = {
        name: now - timedelta(hours=known.reply_window_hours)
        for name, known in capabilities.items()
        if known.reply_window_hours is not None
    }
    reach = announcements.audience(
        session, segment=draft.segment, districts=actor.districts, today=today, since=windows
    )
    result = []
    for (channel, language, recent), chats in sorted(reach.items()):
        text = draft.text_en if language == "en" and draft.text_en else draft.text_id
        if channel not in windows or recent:
            result.append(Rendition(channel, language, chats, text))
            continue
        preview = past_window(channel, language, text)
        result.append(Rendition(channel, language, chats, preview.words or text, preview.name, preview.readiness))
    return result


def send(session: Session, *, actor: Actor, draft: Draft, today: date, now: datetime) -> tuple[int, int]:
    """Plan it for every chat of the segment; its id and how many chats."""
    actor.require("change")
    announcement_id, planned = announcements.create(
        session,
        text_id=draft.text_id,
        text_en=draft.text_en,
        segment=draft.segment,
        districts=actor.districts,
        by=actor.name,
        today=today,
        now=now,
        stale_at=now + STALE_AFTER,
    )
    detail = f"{planned} chats; {draft.segment.as_json()}"
    target = f"announcement:{announcement_id}"
    console.record(session, account=actor.name, action="announce", target=target, detail=detail, now=now)
    return announcement_id, planned


def sent_so_far(session: Session) -> list[Progress]:
    return announcements.progress(session)
