"""Bahasa/Language: the chat's language, remembered on the chat row.

"english" or "bahasa indonesia", typed as a first message or at the menu,
switches at once; "bahasa" asks which."""

from __future__ import annotations

from handlers.flow import Flow, Turn, ask, ask_again, done
from handlers.texts import LANGUAGES
from handlers.understand import resolve_choice
from storage.chats import set_language


def language_question(turn: Turn):
    return turn.question("language.question", [(lang, f"language.{lang}") for lang in LANGUAGES])


async def start(turn: Turn):
    question = language_question(turn)
    if turn.inbound.choice is None and not turn.text.isdigit():  # a typed word, not the menu's number
        offered = [[choice.id, choice.title] for choice in question.choices]
        named = resolve_choice(turn.inbound, offered, turn.services.catalogue.answers)
        if named is not None:
            return switch(turn, named)
    return ask(chose_language, question)


async def chose_language(turn: Turn):
    if turn.choice not in LANGUAGES:
        return ask_again(chose_language, turn, "common.pick_one", language_question(turn))
    return switch(turn, turn.choice)


def switch(turn: Turn, language: str):
    set_language(turn.db, chat=turn.chat, language=language)
    return done(turn.say("language.set"))


flow = Flow.of("language", start, chose_language, keywords="language", menu="menu.language", detour="return")
