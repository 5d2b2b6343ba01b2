"""The message catalogue and the configuration."""

from __future__ import annotations

import string
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, load_settings
from handlers.texts import LANGUAGES, Catalogue, CatalogueError

ROOT = Path(__file__).parent.parent
PARAMS = {"regency": "R", "bpjs_care_line": "175", "bpjs_office": "O", "dinas_pmd": "D"}


def test_every_text_exists_in_every_language():
    catalogue = Catalogue.load(params=PARAMS)
    keys = {lang: set(catalogue.entries[lang]) for lang in LANGUAGES}
    for lang in LANGUAGES:
        for other in LANGUAGES:
            assert not keys[lang] - keys[other], f"in {lang}, missing from {other}: {sorted(keys[lang] - keys[other])}"


def test_every_text_uses_the_same_placeholders_in_every_language():
    catalogue = Catalogue.load(params=PARAMS)

    def fields(value) -> set[str]:
        if isinstance(value, list):
            return set()
        return {name for _, name, _, _ in string.Formatter().parse(value) if name}

    for key, value in catalogue.entries["id"].items():
        assert fields(value) == fields(catalogue.entries["en"][key]), key


def test_operators_can_correct_a_text_without_a_release(tmp_path):
    (tmp_path / "id.yaml").write_text("coverage:\n  ask_nik: Tulis NIK Bapak/Ibu.\n", encoding="utf-8")
    catalogue = Catalogue.load(params=PARAMS, override_dir=tmp_path)
    assert catalogue["id"]("coverage.ask_nik") == "Tulis NIK Bapak/Ibu."
    assert catalogue["en"]("coverage.ask_nik").startswith("Type your NIK")


def test_a_misspelt_override_key_is_refused(tmp_path):
    (tmp_path / "en.yaml").write_text("coverage:\n  ask_nic: x\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match="unknown text keys coverage.ask_nic"):
        Catalogue.load(params=PARAMS, override_dir=tmp_path)


def test_keywords_work_in_every_language():
    catalogue = Catalogue.load(params=PARAMS)
    assert {"batal", "cancel"} <= catalogue.keywords("cancel")


def test_config_yaml_documents_exactly_the_defaults(monkeypatch):
    for name in [n for n in __import__("os").environ if n.startswith("PAYUNG_")]:
        monkeypatch.delenv(name)
    assert load_settings(ROOT / "config.yaml") == Settings()


def test_the_environment_overrides_the_file(tmp_path, monkeypatch):
    path = tmp_path / "c.yaml"
    path.write_text("session:\n  idle_minutes: 10\ncoverage:\n  window_minutes: 30\n", encoding="utf-8")
    monkeypatch.setenv("PAYUNG_SESSION__IDLE_MINUTES", "45")
    monkeypatch.setenv("PAYUNG_DATABASE_URL", "postgresql://u@h/db")
    monkeypatch.setenv("PAYUNG_DATA_DIR", "/srv/payung")
    settings = load_settings(path)
    assert settings.session.idle_minutes == 45 and settings.coverage.window_minutes == 30
    assert settings.resolved_database_url == "postgresql://u@h/db"
    assert settings.data_dir == Path("/srv/payung")


def test_payung_config_picks_the_file(tmp_path, monkeypatch):
    path = tmp_path / "c.yaml"
    path.write_text("default_language: en\n", encoding="utf-8")
    monkeypatch.setenv("PAYUNG_CONFIG", str(path))
    assert load_settings().default_language == "en"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("nik_key: abc\n", "is a secret; set PAYUNG_NIK_KEY"),
        ("session:\n  idle_minutes: -1\n", "session.idle_minutes"),
        ("sesion: {}\n", "sesion"),
        ("- a\n", "must be a mapping"),
        ("a: [\n", "not valid YAML"),
    ],
)
def test_bad_configuration_is_one_clear_line(tmp_path, content, message):
    path = tmp_path / "c.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_settings(path)


def test_a_missing_config_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.yaml")


# The longest a placeholder's value can be: a report's story and lists of lines
# run long; names, places and dates are a line at most.
LONGEST = {"chronology": 1000, "lines": 1200, "history": 600, "changes": 600, "categories": 300, "ends": 300}


def test_every_text_fits_both_channels_with_buttons_and_its_longest_values():
    from handlers.messages import Choice, Outbound
    from tests.transcript import assert_fits_every_channel

    catalogue = Catalogue.load(params=PARAMS)
    buttons = (Choice("a", "Lanjutkan laporan"), Choice("b", "Kembali ke menu"))
    for language in LANGUAGES:
        t = catalogue[language]
        for key, value in catalogue.entries[language].items():
            if isinstance(value, list):
                continue
            names = {name for _, name, _, _ in string.Formatter().parse(value) if name}
            text = t(key, **{name: "x" * LONGEST.get(name, 60) for name in names})
            for message in (Outbound(text), Outbound(text, choices=buttons)):
                assert_fits_every_channel(message)
