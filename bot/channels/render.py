"""Rendering decisions shared by channels."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from handlers.messages import Choice


def numbered(choices: Sequence[Choice]) -> str:
    """Choices as numbered lines: the fallback every phone can show, and what
    a typed number resolves against."""
    return "\n".join(f"{number}. {choice.title}" for number, choice in enumerate(choices, 1))


def utf16_length(text: str) -> int:
    """Telegram counts message length in UTF-16 code units (an emoji is two)."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int, measure: Callable[[str], int] = len) -> list[str]:
    """Pieces of at most `limit` (as `measure` counts), cut at the last
    paragraph break that fits, else the last line break, else the last
    space, and only as a last resort inside a word."""
    pieces = []
    while measure(text) > limit:
        fits = _longest_prefix(text, limit, measure)
        cut = next((at for sep in ("\n\n", "\n", " ") if (at := text.rfind(sep, 1, fits + 1)) > 0), fits)
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    return [*pieces, text]


def _longest_prefix(text: str, limit: int, measure: Callable[[str], int]) -> int:
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if measure(text[:middle]) <= limit:
            low = middle
        else:
            high = middle - 1
    return low
