"""No dead ends: every step of every flow, reached as people reach it, gets
a wrong answer and must then still take a right one.

The walk starts from a few kinds of chat (new, following reminders, having
filed a report, a linked village officer) and visits every step it can
reach. At a step that offers choices, a wrong answer must be met by the
same choices and a way out, and then each choice must be taken; at a step
that waits for typing, a wrong answer must be asked again with a way out,
and then a right answer must move the conversation on. A helpdesk thread
takes anything in silence, and `menu` must lead out of it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import bindparam
from sqlmodel import select

from storage.models import Chat as ChatRow
from storage.models import ConversationState
from tests.test_transcript_incident import BUDI_BORN, BUDI_NIK, CHRONOLOGY, SITI_NIK, own_report
from tests.test_transcript_officer import RINA_BORN, RINA_NIK, with_rina
from tests.transcript import Chat, reply_text

WRONG = "99"  # no button has that number, and no typed answer reads it
# What a person may rightly type where a step waits for typing, by (flow, step).
TYPED = {
    ("coverage", "got_nik"): [BUDI_NIK],
    ("coverage", "got_birth_date"): [BUDI_BORN, "01-01-1977"],
    ("coverage", "got_phone"): ["0812 3456 7890", "0812 9999 0000"],
    ("incident", "got_own_nik"): [BUDI_NIK],
    ("incident", "got_own_birth_date"): [BUDI_BORN, "01-01-1977"],
    ("incident", "got_other_nik"): [SITI_NIK],
    ("incident", "got_name"): ["Siti Aminah"],
    ("incident", "got_resident_nik"): [BUDI_NIK],
    ("incident", "got_place"): ["Kebun sawit"],
    ("incident", "got_chronology"): [CHRONOLOGY],
    ("incident", "got_phone"): ["081234567890"],
    ("status", "got_reference"): ["LK-2026-000001"],
    ("officer_link", "got_nik"): [RINA_NIK],
    ("officer_link", "got_birth_date"): [RINA_BORN],
    ("officer_link", "got_phone"): ["0812 1111 2222"],
    ("officer_claim", "got_note"): ["Akta kematian menyusul minggu depan."],
}
# Steps where everything typed is for a person, not the bot (the helpdesk):
# the bot keeps quiet, and the way out was said when the thread opened.
LISTENING = {("helpdesk", "got_message")}
STARTS = {
    "a new chat": ("halo",),
    "a chat following reminders": ("halo", "1", BUDI_NIK, BUDI_BORN, "1"),
    "a reporter": (*own_report(), "1"),
    "a reporter back from help": ("halo", "2", "2", SITI_NIK, "Siti Aminah", "bantuan", "6"),
    "a village officer linking their chat": ("halo", "perangkat"),
    "a linked village officer": ("halo", "perangkat", RINA_NIK, RINA_BORN, "0812 1111 2222"),
}
MAX_STEPS = 30


@dataclass(frozen=True)
class Waiting:
    flow: str
    step: str
    choices: tuple[str, ...]  # ids of the buttons offered
    said: str


# Where a chat's session waits; built once, as the walk asks it after every
# message (built per call, it cost as much as the dispatcher's own work).
WAITING = (
    select(ConversationState.flow, ConversationState.step, ConversationState.choices)
    .join(ChatRow, ChatRow.id == ConversationState.chat_pk)
    .where(ChatRow.chat_id == bindparam("chat_id"))
)


class Walk:
    def __init__(self, app):
        self.app = app
        self.chats = 0
        self.refusals = [app.services.catalogue[language](key) for language in ("id", "en")
                         for key in ("common.pick_one", "menu.not_understood")]  # fmt: skip
        self.way_out = ("batal", "menu", "cancel")
        self.problems: list[str] = []

    async def play(self, script: tuple[str, ...]) -> Waiting:
        """The script typed into a new chat; where its session waits then."""
        return (await self.play_all(script))[-1]

    async def play_all(self, script: tuple[str, ...]) -> list[Waiting]:
        """The script typed into a new chat; where its session waits after each line."""
        self.chats += 1
        chat = Chat(self.app, chat_id=f"walk-{self.chats}")
        return [await self.said(chat, reply_text(await chat.send(line))) for line in script]

    async def said(self, chat: Chat, said: str) -> Waiting:
        with self.app.db.transaction() as session:
            state = session.connection().execute(WAITING, {"chat_id": chat.chat_id}).one()
            return Waiting(state.flow, state.step, tuple(choice for choice, _ in state.choices), said)

    def problem(self, script: tuple[str, ...], what: str) -> None:
        self.problems.append(f"{' → '.join(script)}: {what}")

    def refused(self, said: str) -> bool:
        return any(refusal in said for refusal in self.refusals)

    async def next_scripts(self, script: tuple[str, ...], here: Waiting) -> list[tuple[str, ...]]:
        """Check this step's wrong-then-right answers; the scripts that move on from it."""
        *_, before, again = await self.play_all((*script, WRONG))
        where = f"{here.flow}.{here.step}"
        if (again.flow, again.step) != (here.flow, here.step):
            self.problem(script, f"{WRONG!r} at {where} was taken as an answer")
            return []
        if (here.flow, here.step) in LISTENING:
            if again.said:
                self.problem(script, f"at {where} the bot spoke over the person's thread: {again.said!r}")
            left = await self.play((*script, WRONG, "menu"))
            if left.flow != "menu":
                self.problem(script, f"'menu' at {where} did not lead out of the thread")
            return []
        if here.flow != "menu" and not any(word in again.said.casefold() for word in self.way_out):
            self.problem(script, f"the re-ask at {where} does not say how to get out: {again.said!r}")
        if here.choices:
            if again.choices != before.choices:
                self.problem(script, f"after {WRONG!r} at {where} the choices {before.choices} became {again.choices}")
            for number in range(1, len(here.choices) + 1):
                taken = await self.play((*script, WRONG, str(number)))
                if self.refused(taken.said):
                    self.problem(script, f"at {where}, {number} after a wrong answer was refused: {taken.said!r}")
            return [(*script, str(number)) for number in range(1, len(here.choices) + 1)]
        right = TYPED.get((here.flow, here.step))
        if right is None:
            self.problem(script, f"no right answer is known for the typed step {where}: add it to TYPED")
            return []
        for answer in right:
            taken = await self.play((*script, WRONG, answer))
            if (taken.flow, taken.step) == (here.flow, here.step):
                self.problem(script, f"at {where}, {answer!r} after a wrong answer was refused: {taken.said!r}")
        return [(*script, answer) for answer in right]

    async def from_start(self, start: tuple[str, ...]) -> set[tuple[str, str]]:
        visited: set[Waiting] = set()
        steps: set[tuple[str, str]] = set()
        scripts = [start]
        while scripts:
            script = scripts.pop()
            here = await self.play(script)
            key = Waiting(here.flow, here.step, here.choices, "")
            if key in visited or len(script) > MAX_STEPS:
                continue
            visited.add(key)
            steps.add((here.flow, here.step))
            scripts += await self.next_scripts(script, here)
        return steps


async def test_no_step_is_a_dead_end_after_a_wrong_answer(app):
    with_rina(app)
    # The walk fails Budi's check from hundreds of chats; a real attacker would lock his NIK.
    app.services.settings = replace(app.services.settings, nik_max_failed_checks=1_000_000)
    walk = Walk(app)
    reached: set[tuple[str, str]] = set()
    for start in STARTS.values():
        reached |= await walk.from_start(start)
    assert not walk.problems, "\n".join(walk.problems)
    # The walk is only as good as what it reaches: every flow's every step.
    every_step = {(flow.name, name) for flow in app.dispatcher.flows.by_name.values() for name in flow.steps}
    formerly = {("menu", "chose"), ("reminders", "chose"), ("status", "got_pick")}  # old names, for saved sessions
    assert every_step - formerly - reached == set()


def test_every_step_of_a_report_can_be_asked_again_after_a_detour(app):
    for flow in app.dispatcher.flows.by_name.values():
        if flow.keeps_draft:
            assert set(flow.steps) == set(flow.questions), flow.name
