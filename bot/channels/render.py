"""Rendering decisions shared by channels."""

from __future__ import annotations

from collections.abc import Sequence

from bot.messages import Choice


def numbered(choices: Sequence[Choice]) -> str:
    """Choices as numbered lines: the fallback every phone can show, and what
    a typed number resolves against."""
    return "\n".join(f"{number}. {choice.title}" for number, choice in enumerate(choices, 1))
