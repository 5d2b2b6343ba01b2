"""Bantuan: short answers from the catalogue, one topic at a time."""

from __future__ import annotations

from handlers.flow import Flow, Turn, ask, ask_again, done

TOPICS = ("jkk", "jkm", "who", "accident", "contact")


def topics_question(turn: Turn, key: str = "help.question", **values):
    choices = [(topic, f"help.topic_{topic}") for topic in TOPICS] + [("back", "common.back")]
    return turn.question(key, choices, **values)


async def start(turn: Turn):
    return ask(chose_topic, topics_question(turn))


async def chose_topic(turn: Turn):
    if turn.choice == "back":
        return done()
    if turn.choice in TOPICS:
        return ask(chose_topic, turn.say(f"help.{turn.choice}"), topics_question(turn))
    return ask_again(chose_topic, turn, "common.pick_one", topics_question(turn))


flow = Flow.of("help", start, chose_topic, keywords="help", menu="menu.help")
