"""Reading a typed answer as one of the buttons offered, as people type it:
the button's number, its title (whatever mark it starts with, and with one
letter slipped in a title of six letters or more), or one of the everyday
words the catalogue lists for that button (answers.<choice id>: "iya" for
yes, "kemaren" for yesterday, "cek bpjs" for the coverage check).

No language model: the catalogue's phrase lists and a maintained fuzzy
matcher (rapidfuzz), so an operator can add a word without a release.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from rapidfuzz.distance import Levenshtein

from handlers.messages import Inbound, choice_key

SPACES = re.compile(r"\s+")
NUMBER = re.compile(r"[0-9]{1,3}")
WORD = re.compile(r"\w+")
# What a title may start with that nobody types: a tick box, a bullet, its number.
MARKS = re.compile(r"^[\W_]*(?:\d{1,3}[.)]\s*)?[\W_]*")
FUZZY_FROM = 6  # a slip in a shorter word makes another word too easily


def normalise(text: str) -> str:
    return SPACES.sub(" ", text).strip().rstrip(".!?").casefold()


def bare(title: str) -> str:
    return MARKS.sub("", normalise(title))


def resolve_choice(
    inbound: Inbound, offered: Sequence[Sequence[str]], answers: Mapping[str, frozenset[str]] | None = None
) -> str | None:
    """The id of the choice (id, title) a tap, a typed number, a typed title
    or an everyday word for it selects; None when it selects none of them.
    A tap on a button that is no longer offered selects nothing."""
    ids = [choice_id for choice_id, _ in offered]
    if inbound.choice is not None:
        return next((choice_id for choice_id in ids if inbound.choice == choice_key(choice_id)), None)
    text = normalise(inbound.text)
    if not text:
        return None
    if NUMBER.fullmatch(text) and 1 <= int(text) <= len(offered):
        return ids[int(text) - 1]
    for choice_id, title in offered:
        if text in (normalise(title), bare(title), choice_id) or text in (answers or {}).get(choice_id, ()):
            return choice_id
    near = {
        choice_id
        for choice_id, title in offered
        if len(bare(title)) >= FUZZY_FROM and Levenshtein.distance(text, bare(title), score_cutoff=1) <= 1
    }
    return near.pop() if len(near) == 1 else None


def mentioned(text: str, offered: Sequence[Sequence[str]]) -> str | None:
    """The id of the one choice whose title holds every word typed ("akta
    kematian" names "☐ akta kematian (atau surat keterangan ...)"), a word of
    six letters or more with one letter slipped; None when no title or more
    than one does."""
    typed = WORD.findall(normalise(text))
    if not typed or all(len(word) < 3 for word in typed):
        return None

    def holds(title: str) -> bool:
        words = WORD.findall(bare(title))
        return all(any(same_word(word, other) for other in words) for word in typed)

    found = [choice_id for choice_id, title in offered if holds(title)]
    return found[0] if len(found) == 1 else None


def same_word(typed: str, word: str) -> bool:
    if typed == word:
        return True
    return len(word) >= FUZZY_FROM and Levenshtein.distance(typed, word, score_cutoff=1) <= 1
