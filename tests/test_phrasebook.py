"""The phrasebook: what people in Muara Enim type (tests/phrasebook), each
utterance sent where it is typed in a real conversation, and the meaning the
bot must give it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlmodel import select

from storage.models import Chat as ChatRow
from storage.models import ConversationState
from tests.test_transcript_incident import BUDI_BORN, BUDI_NIK, SITI_NIK
from tests.transcript import Chat, reply_text

# Every value a string, as typed: 05031980 keeps its zero, 1980-03-05 stays text.
PHRASEBOOK = yaml.load((Path(__file__).parent / "phrasebook" / "utterances.yaml").read_text(), Loader=yaml.BaseLoader)
BEFORE = {
    "first": (),
    "menu": ("halo",),
    "consent": ("halo", "1", BUDI_NIK, BUDI_BORN),
    "birth": ("halo", "1", BUDI_NIK),
    # Reporting for a neighbour, an accident at work, up to "when".
    "relation": ("halo", "2", "2", SITI_NIK, "Siti Aminah"),
    "incident_date": ("halo", "2", "2", SITI_NIK, "Siti Aminah", "2", "1"),
}
UTTERANCES = [(place, typed, meaning) for place, lines in PHRASEBOOK.items() for typed, meaning in lines.items()]


def test_the_phrasebook_holds_at_least_150_utterances():
    assert len(UTTERANCES) >= 150


def waiting(app, chat_id: str) -> tuple[str, str, dict, str]:
    with app.db.transaction() as session:
        state, chat = session.exec(
            select(ConversationState, ChatRow)
            .join(ChatRow, ChatRow.id == ConversationState.chat_pk)
            .where(ChatRow.chat_id == chat_id)
        ).one()
        return state.flow, state.step, state.data, chat.language


@pytest.mark.parametrize(("place", "typed", "meaning"), UTTERANCES, ids=[f"{p}:{t}" for p, t, _ in UTTERANCES])
async def test_each_utterance_means_what_it_says(app, place, typed, meaning):
    chat = Chat(app, chat_id=f"phrase-{place}")
    for line in BEFORE[place]:
        await chat.says(line)
    said = reply_text(await chat.send(typed))
    flow, _step, draft, language = waiting(app, chat.chat_id)
    t = app.services.catalogue["id"]
    if meaning == "reminders":  # a chat that follows nobody is told how to start, and stays at the menu
        assert t("reminders.none").splitlines()[0] in said
    elif place in ("first", "menu"):
        wanted, _, wanted_language = meaning.partition(" (")
        assert (flow, language) == (wanted, wanted_language.rstrip(")") or "id"), said
    elif place == "consent":
        expected = {"yes": "Baik, kami akan mengingatkan Anda", "no": t("coverage.consent_no")}[meaning]
        assert expected in said
    elif place == "birth":
        assert "NIK ini terdaftar dalam program" in said, said
    elif place == "relation":
        assert draft.get("relation") == meaning, said
    elif place == "incident_date":
        assert draft.get("occurred_on") == meaning, said
