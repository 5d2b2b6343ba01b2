"""The Helpdesk: operators answer the people who asked to talk to a person.
An answer goes through the outbox like every message Payung starts, so it is
paced, retried and survives a crash."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.ops.authority import Actor, Invalid, NotFound
from handlers.helpdesk import after_hours
from handlers.helpdesk import flow as helpdesk_flow
from handlers.messages import Capabilities
from handlers.office_hours import OfficeHours
from handlers.texts import Catalogue
from storage import console, helpdesk, outbox
from storage.chats import addressee, end_conversation
from storage.helpdesk import Message, Thread
from storage.media import Media
from storage.owners import owned_by_chat
from storage.participants import ParticipantRow, participant_by_id

MAX_ANSWER = 2000
HELPDESK_FLOW = helpdesk_flow.name
PAGE = 50


@dataclass(frozen=True)
class Waiting:
    thread: Thread
    people: list[ParticipantRow]  # whom the chat has proven to be (its verified number), if anyone


def _people(session: Session, chat_pk: int) -> list[ParticipantRow]:
    return [participant_by_id(session, participant_id) for participant_id in sorted(owned_by_chat(session, chat_pk))]


def _visible(actor: Actor, people: list[ParticipantRow]) -> bool:
    """A district-limited account sees the threads of people proven to live
    there; a thread of nobody proven belongs to the regency-wide accounts."""
    return actor.districts is None or any(actor.sees(person.district) for person in people)


def open_threads(session: Session, *, actor: Actor, state: str = helpdesk.OPEN) -> list[Waiting]:
    """Threads the actor may see, the longest-waiting first."""
    found, _ = helpdesk.threads(session, state=state, limit=500)
    waiting = [Waiting(thread, _people(session, thread.chat_pk)) for thread in found]
    return [item for item in waiting if _visible(actor, item.people)]


@dataclass(frozen=True)
class ThreadView:
    thread: Thread
    people: list[ParticipantRow]
    messages: list[Message]


def thread_view(session: Session, *, actor: Actor, thread_id: int, after: int = 0) -> ThreadView:
    found = helpdesk.thread(session, thread_id=thread_id)
    people = _people(session, found.chat_pk) if found else []
    if found is None or not _visible(actor, people):
        raise NotFound(f"no conversation {thread_id}")
    return ThreadView(found, people, helpdesk.messages(session, thread_id=thread_id, after=after))


def take(session: Session, *, actor: Actor, thread_id: int, now: datetime) -> None:
    """Say that this account answers the thread, so another does not unknowingly."""
    actor.require("change")
    thread_view(session, actor=actor, thread_id=thread_id)
    helpdesk.take(session, thread_id=thread_id, by=actor.name, now=now)
    console.record(session, account=actor.name, action="helpdesk_take", target=f"thread:{thread_id}", now=now)


def answer(
    session: Session,
    *,
    actor: Actor,
    thread_id: int,
    text: str,
    files: Iterable[Media],
    capabilities: Mapping[str, Capabilities],
    now: datetime,
) -> None:
    """An operator's answer: kept in the thread and sent through the outbox.
    Where the platform allows free text only within a window since the
    person's last message (WhatsApp's 24 hours) and that has passed, the
    template goes now and the whole answer when the person next writes."""
    actor.require("change")
    text, files = text.strip(), list(files)
    if not text and not files:
        raise Invalid("write an answer or attach a file")
    if len(text) > MAX_ANSWER:
        raise Invalid(f"an answer holds at most {MAX_ANSWER} characters (this one has {len(text)})")
    view = thread_view(session, actor=actor, thread_id=thread_id)
    if view.thread.state != helpdesk.OPEN:
        raise Invalid("this conversation is closed")
    chat = addressee(session, channel=view.thread.channel, chat_id=view.thread.chat_id)
    hours = capabilities[view.thread.channel].reply_window_hours if view.thread.channel in capabilities else None
    outside = hours is not None and (
        chat.last_inbound_at is None or now - chat.last_inbound_at >= timedelta(hours=hours)
    )
    message_id = helpdesk.add_message(
        session, thread_id=thread_id, author=actor.name, text=text, attachments=files, now=now, awaiting_person=outside
    )
    if view.thread.taken_by is None:
        helpdesk.take(session, thread_id=thread_id, by=actor.name, now=now)
    outbox.notify(
        session,
        key=f"answer:{message_id}",
        chat_pk=view.thread.chat_pk,
        body=text,
        attachments=files,
        kind=outbox.ANSWER,
        now=now,
    )
    console.record(session, account=actor.name, action="helpdesk_answer", target=f"thread:{thread_id}", now=now)


def close(session: Session, *, actor: Actor, thread_id: int, catalogue: Catalogue, now: datetime) -> None:
    """Close the thread and tell the person they are back with the bot."""
    actor.require("change")
    view = thread_view(session, actor=actor, thread_id=thread_id)
    if not helpdesk.close(session, thread_id=thread_id, by=actor.name, now=now):
        raise Invalid("this conversation is already closed")
    end_conversation(session, chat_pk=view.thread.chat_pk, flow=HELPDESK_FLOW)
    body = catalogue[view.thread.language]("helpdesk.closed")
    outbox.notify(session, key=f"notice:help-closed:{thread_id}", chat_pk=view.thread.chat_pk, body=body, now=now)
    console.record(session, account=actor.name, action="helpdesk_close", target=f"thread:{thread_id}", now=now)


def tell_waiting_after_hours(session: Session, *, office: OfficeHours, catalogue: Catalogue, local: datetime) -> int:
    """Outside office hours, each person still waiting for an answer hears
    once (per wait) when to expect one; how many were told."""
    if office.is_open(local):
        return 0
    waiting = helpdesk.waiting_untold(session)
    for thread_id, chat_pk, language in waiting:
        body = after_hours(catalogue[language], office, local)
        key = f"notice:help-hours:{thread_id}:{local.isoformat()}"
        outbox.notify(session, key=key, chat_pk=chat_pk, body=body, now=local)
        helpdesk.told_after_hours(session, thread_id=thread_id, now=local)
    return len(waiting)
