"""Whatever people send, in whatever order, the bot answers and never raises."""

from __future__ import annotations

import asyncio
import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from storage.tables import CHATS, SESSIONS
from tests.conftest import FrozenClock, build
from tests.transcript import Chat

MEANINGFUL = [
    "halo",
    "menu",
    "batal",
    "/start",
    "berhenti",
    "bantuan",
    "bahasa",
    "1",
    "2",
    "3",
    "4",
    "5",
    "6",
    "7",
    "0",
    "ya",
    "tidak",
    "English",
    "Bahasa Indonesia",
    "Cek kepesertaan",
    "1603010503800001",
    "1603024512850002",
    "05-03-1980",
    "5 Desember 1985",
    "31-02-1980",
    "",
]
messages = st.one_of(st.sampled_from(MEANINGFUL), st.text(max_size=40))
taps = st.sampled_from(["coverage", "help", "language", "yes", "no", "back", "jkk", "en", "id", "bogus"])
events = st.lists(st.tuples(messages, st.one_of(st.none(), taps)), min_size=1, max_size=25)


def in_helpdesk(app, chat_id: str) -> bool:
    with app.db.transaction() as session:
        flow = session.connection().execute(
            select(SESSIONS.c.flow).join(CHATS, CHATS.c.id == SESSIONS.c.chat_pk).where(CHATS.c.chat_id == chat_id)
        )
        return flow.scalar() == "helpdesk"


def test_no_sequence_of_messages_makes_the_bot_raise_or_go_silent(tmp_path_factory):
    clock = FrozenClock()
    app = build(tmp_path_factory.mktemp("fuzz"), f"sqlite:///{tmp_path_factory.mktemp('db') / 'f.db'}", clock)
    chats = itertools.count()

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(events, st.integers(0, 40))
    def conversation(sequence, idle_minutes):
        chat = Chat(app, chat_id=f"fuzz-{next(chats)}")

        async def talk():
            for text, choice in sequence:
                clock.advance(minutes=idle_minutes)
                replies = await chat.send(text, choice=choice)
                # Silence is right only in a helpdesk thread: the person is writing to an operator.
                assert replies or in_helpdesk(app, chat.chat_id), f"silence after {text!r} / {choice!r}"
                assert all(reply.text.strip() for reply in replies)
                assert not any("Traceback" in reply.text or "Maaf, terjadi gangguan" in reply.text for reply in replies)

        asyncio.run(talk())

    try:
        conversation()
    finally:
        app.close()
