"""Collecting photos and documents over several messages, for a report and
for a village officer's claim: the same question, limit and replies."""

from __future__ import annotations

from typing import Any

from handlers.flow import Ask, Step, Turn, ask
from handlers.messages import Outbound
from storage.media import Media

MAX_FILES = 5


def files_question(turn: Turn, key: str, **values: Any) -> Outbound:
    return turn.question(key, [("files_done", "incident.files_done")], **values)


def take_files(turn: Turn, files: list[dict[str, Any]], step: Step) -> Ask:
    """Keep the message's files in `files` (the draft's list, as Media JSON),
    at most MAX_FILES, and ask for more in `step`."""
    if not turn.inbound.media:
        return ask(step, files_question(turn, "incident.files_waiting"))
    for item in turn.inbound.media:
        if len(files) >= MAX_FILES:
            return ask(step, files_question(turn, "incident.files_full"))
        files.append(item.as_json())
    return ask(step, files_question(turn, "incident.file_received", count=len(files)))


def drafted(files: list[dict[str, Any]]) -> list[Media]:
    """A draft's files as Media again."""
    return [Media.from_json(item) for item in files]
