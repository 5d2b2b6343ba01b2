"""Detours keep the draft. Asking for help or another language in the middle
of a report answers, then brings the person back to the very question the
report waits in; nothing half-written is dropped without saying so.

The engine (bot/dispatcher.py) parks the draft in the detour's session under
PARKED when someone leaves a flow that can ask its waiting step again
(Flow.questions) for a detour flow (Flow.detour); this module says what a
parked draft is and where a detour leads when it is over.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from handlers.flow import Flow, Result, Resume, Turn, ask, ask_again, done, goto
from handlers.messages import Outbound

PARKED = "parked"


def parked_draft(flow: Flow, step: str, draft: Mapping[str, Any]) -> dict[str, Any] | None:
    """`flow`'s draft waiting in `step`, parked; None if there is nothing to
    keep or no way to ask that step again."""
    if not draft or step not in flow.questions:
        return None
    return {"flow": flow.name, "step": step, "draft": dict(draft)}


def resume(parked: Mapping[str, Any], *before: Outbound) -> Resume:
    return Resume(parked["flow"], parked["step"], parked["draft"], before)


def after_detour(detour: Flow, parked: Mapping[str, Any]) -> Result:
    """Where a detour taken with a parked draft leads when it is over."""
    if detour.detour == "return":
        return resume(parked)
    return goto(flow.name, {PARKED: parked})


async def start(turn: Turn):
    return ask(chose_resume, resume_question(turn))


def resume_question(turn: Turn):
    parked = turn.data[PARKED]
    choices = [("continue", f"detour.continue_{parked['flow']}"), ("drop", "detour.drop")]
    return turn.question("detour.question", choices)


async def chose_resume(turn: Turn):
    if turn.choice == "continue":
        return resume(turn.data[PARKED], turn.say("detour.continuing"))
    if turn.choice == "drop":
        return done(turn.say("common.draft_dropped"))
    return ask_again(chose_resume, turn, "common.pick_one", resume_question(turn))


flow = Flow.of("detour_end", start, chose_resume)
