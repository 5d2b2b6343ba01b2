"""Bantuan: short answers from the catalogue, one topic at a time. After
"what to do after an accident", a button starts the report itself."""

from __future__ import annotations

from handlers.flow import Flow, Turn, ask, ask_again, done, goto

TOPICS = ("jkk", "jkm", "who", "accident", "contact")
# What a topic's answer offers besides the topics, last so the topics keep their numbers.
ONWARD = {"accident": [("incident", "help.report_now")]}


def topics_question(turn: Turn, key: str = "help.question", onward=(), **values):
    choices = [(topic, f"help.topic_{topic}") for topic in TOPICS] + [("back", "common.back"), *onward]
    # Last, so the numbers people know stay theirs.
    return turn.question(key, [*choices, ("helpdesk", "help.topic_person")], **values)


async def start(turn: Turn):
    return ask(chose_topic, topics_question(turn))


async def chose_topic(turn: Turn):
    if turn.choice == "back":
        return done()
    if turn.choice in ("incident", "helpdesk"):
        return goto(turn.choice)
    if turn.choice in TOPICS:
        turn.data["topic"] = turn.choice  # its onward buttons stay offered until another topic
        return ask(chose_topic, turn.say(f"help.{turn.choice}"), topics_question(turn, onward=onward(turn)))
    return ask_again(chose_topic, turn, "common.pick_one", topics_question(turn, onward=onward(turn)))


def onward(turn: Turn):
    return ONWARD.get(turn.data.get("topic"), ())


flow = Flow.of("help", start, chose_topic, keywords="help", menu="menu.help", detour="offer")
