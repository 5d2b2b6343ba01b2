"""The message catalogue: every word a person reads, per language.

The shipped files are id.yaml (default) and en.yaml. An operator corrects a
text without a release by putting a file of the same name in `texts_dir`
(config): its keys replace the shipped ones. Values may use {placeholders};
the contact settings ({bpjs_care_line}, ...) are available to every text.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from handlers.understand import normalise
from storage.errors import PlainError
from storage.yaml_files import read_yaml

SHIPPED = Path(__file__).parent
LANGUAGES = ("id", "en")
# Operators read every notice in one language, whatever the person chose.
OPERATORS_LANGUAGE = LANGUAGES[0]


class CatalogueError(PlainError):
    pass


def _flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def _read(path: Path) -> dict[str, Any]:
    try:
        return _flatten(read_yaml(path) or {})
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{path} is not valid YAML: {exc}") from None


class Texts:
    """The catalogue seen in one language."""

    def __init__(self, language: str, entries: dict[str, Any], params: Mapping[str, str]):
        self.language = language
        self.entries = entries
        self._params = params

    def __call__(self, key: str, **values: Any) -> str:
        return str(self.entries[key]).format_map({**self._params, **values}).strip()

    def words(self, key: str) -> list[str]:
        return [str(word) for word in self.entries[key]]

    def lines(self, key: str) -> list[str]:
        """A bulleted text's lines, bullets off (a claim's documents checklist)."""
        return [line.lstrip("•").strip() for line in self(key).splitlines() if line.strip()]


class Catalogue:
    def __init__(self, entries: dict[str, dict[str, Any]], params: Mapping[str, str]):
        self.entries = entries
        self._by_language = {lang: Texts(lang, entries[lang], params) for lang in entries}

    @classmethod
    def load(cls, *, params: Mapping[str, str], override_dir: Path | None = None, shipped: Path = SHIPPED) -> Catalogue:
        """The shipped texts (the bot's, or `shipped`: the web console's), with
        the operator's corrections from `override_dir`."""
        entries = {lang: _read(shipped / f"{lang}.yaml") for lang in LANGUAGES}
        if override_dir is not None:
            for lang in LANGUAGES:
                path = Path(override_dir) / f"{lang}.yaml"
                if not path.exists():
                    continue
                overrides = _read(path)
                unknown = sorted(set(overrides) - set(entries[lang]))
                if unknown:
                    raise CatalogueError(f"{path}: unknown text keys {', '.join(unknown)}")
                entries[lang].update(overrides)
        return cls(entries, params)

    def __getitem__(self, language: str) -> Texts:
        return self._by_language.get(language) or self._by_language[LANGUAGES[0]]

    def keywords(self, key: str) -> frozenset[str]:
        """A keyword list in every language at once: 'batal' and 'cancel'
        both work whatever language the chat is set to."""
        return self.phrases(f"keywords.{key}")

    def phrases(self, key: str) -> frozenset[str]:
        """A phrase list (a list-valued text) in every language at once."""
        return frozenset(
            normalise(word) for texts in self._by_language.values() if key in texts.entries for word in texts.words(key)
        )

    @cached_property
    def answers(self) -> dict[str, frozenset[str]]:
        """The everyday words for each choice id (answers.<choice id>): what a
        typed answer may say instead of the button's number or title."""
        ids = {
            key.removeprefix("answers.")
            for texts in self._by_language.values()
            for key in texts.entries
            if key.startswith("answers.")
        }
        return {choice_id: self.phrases(f"answers.{choice_id}") for choice_id in ids}
