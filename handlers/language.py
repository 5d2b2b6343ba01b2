"""Bahasa/Language: the chat's language, remembered on the chat row."""

from __future__ import annotations

from handlers.flow import Flow, Turn, ask, ask_again, done
from handlers.texts import LANGUAGES
from storage.chats import set_language


def language_question(turn: Turn):
    return turn.question("language.question", [(lang, f"language.{lang}") for lang in LANGUAGES])


async def start(turn: Turn):
    return ask(chose_language, language_question(turn))


async def chose_language(turn: Turn):
    if turn.choice not in LANGUAGES:
        return ask_again(chose_language, turn, "common.pick_one", language_question(turn))
    set_language(turn.db, chat=turn.chat, language=turn.choice)
    return done(turn.say("language.set"))


flow = Flow.of("language", start, chose_language, keywords="language", menu="menu.language")
