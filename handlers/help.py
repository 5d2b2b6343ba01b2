"""Bantuan: short answers from the catalogue, one topic at a time. After
"what to do after an accident", a button starts the report itself."""

from __future__ import annotations

from handlers.flow import Flow, Turn, ask, ask_again, done, goto
from handlers.messages import Outbound
from handlers.renewal import after_the_end

TOPICS = ("jkk", "jkm", "who", "accident", "contact")
LATER_TOPICS = ("after",)  # added after "back", so the numbers people know stay theirs
# What a topic's answer offers besides the topics, last so the topics keep their numbers.
ONWARD = {"accident": [("incident", "help.report_now")]}


def topics_question(turn: Turn, key: str = "help.question", onward=(), **values):
    choices = [(topic, f"help.topic_{topic}") for topic in TOPICS] + [("back", "common.back"), *onward]
    later = [(topic, f"help.topic_{topic}") for topic in LATER_TOPICS]
    # Last, so the numbers people know stay theirs.
    return turn.question(key, [*choices, *later, ("helpdesk", "help.topic_person")], **values)


async def start(turn: Turn):
    return ask(chose_topic, topics_question(turn))


async def chose_topic(turn: Turn):
    if turn.choice == "back":
        return done()
    if turn.choice in ("incident", "helpdesk"):
        return goto(turn.choice)
    if turn.choice in (*TOPICS, *LATER_TOPICS):
        turn.data["topic"] = turn.choice  # its onward buttons stay offered until another topic
        return ask(chose_topic, answer(turn, turn.choice), topics_question(turn, onward=onward(turn)))
    return ask_again(chose_topic, turn, "common.pick_one", topics_question(turn, onward=onward(turn)))


def answer(turn: Turn, topic: str) -> Outbound:
    if topic == "after":  # what the regency decided, as operators set it
        facts = turn.services.settings.renewal
        return Outbound(after_the_end(turn.t, facts, facts.decision(turn.db)))
    return turn.say(f"help.{topic}")


def onward(turn: Turn):
    return ONWARD.get(turn.data.get("topic"), ())


flow = Flow.of("help", start, chose_topic, keywords="help", menu="menu.help", detour="offer")
