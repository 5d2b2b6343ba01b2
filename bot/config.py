"""config.yaml -> typed settings.

Precedence: environment (PAYUNG_<SECTION>__<KEY>, PAYUNG_DATABASE_URL, ...)
over the YAML file over the defaults below. The defaults are the same values
config.yaml documents (a test holds them equal), so the bot also runs without
the file. Secrets are read from the environment only.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from storage.errors import PlainError
from storage.yaml_files import read_yaml

SECRET_FIELDS = ("nik_key",)


class ConfigError(PlainError):
    """A configuration problem, worded for the person running the bot."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SessionSettings(Section):
    idle_minutes: int = Field(30, gt=0)
    draft_idle_minutes: int = Field(1440, gt=0)


class RetentionSettings(Section):
    # Message ids kept for dedupe; platforms redeliver within hours or days.
    processed_days: int = Field(30, gt=0)


class CoverageSettings(Section):
    max_failed_checks: int = Field(5, gt=0)
    window_minutes: int = Field(60, gt=0)
    officer_max_failed_checks: int = Field(30, gt=0)
    nik_max_failed_checks: int = Field(10, gt=0)
    nik_window_hours: int = Field(24, gt=0)
    alarm_failed_per_minute: int = Field(60, gt=0)


class RosterSettings(Section):
    batch_size: int = Field(5000, gt=0)
    workers: int = Field(0, ge=0)

    @property
    def worker_count(self) -> int:
        return self.workers or os.cpu_count() or 1


class BpuSettings(Section):
    """Going on alone as a BPU (Bukan Penerima Upah) participant: figures the
    texts quote, to confirm with the BPJS Ketenagakerjaan branch."""

    # Rupiah a month for JKK + JKM at the lowest income bracket.
    monthly_contribution: int = Field(16800, gt=0)
    confirmed: bool = False  # true once the branch has confirmed it; the console warns until then


class ProgrammeSettings(Section):
    regency_name: str = "Kabupaten Muara Enim"
    regency_code: str = Field("1603", pattern=r"^\d{4}$")
    bpu: BpuSettings = BpuSettings()
    districts: list[str] = [
        "Benakat",
        "Belida Darat",
        "Belimbing",
        "Empat Petulai Dangku",
        "Gelumbang",
        "Gunung Megang",
        "Kelekar",
        "Lawang Kidul",
        "Lembak",
        "Lubai",
        "Lubai Ulu",
        "Muara Belida",
        "Muara Enim",
        "Panang Enim",
        "Rambang",
        "Rambang Niru",
        "Semende Darat Laut",
        "Semende Darat Tengah",
        "Semende Darat Ulu",
        "Sungai Rotan",
        "Tanjung Agung",
        "Ujan Mas",
    ]


class RenewalSettings(Section):
    """The regency's decision on the period after `period_end`, until an
    operator records one (the console's Perpanjangan page, or
    `python -m bot renewal set`)."""

    period_end: date = date(2026, 12, 31)
    state: Literal["unknown", "planned", "confirmed", "not_renewed"] = "unknown"
    expected_start: date | None = None  # planned: the new period's first day
    note_id: str | None = None  # one short line people read under the decision
    note_en: str | None = None
    decided_on: date | None = None
    # The reminder stages that tell how to go on alone, while the state is
    # unknown or not_renewed (-1: the message after the end).
    go_alone_stages: list[int] = [30, 7, -1]


class ContactSettings(Section):
    bpjs_office: str = "BPJS Ketenagakerjaan Kantor Cabang (ALAMAT CONTOH, ganti sebelum dipakai)"
    bpjs_care_line: str = "175"
    dinas_pmd: str = "Dinas PMD Kabupaten Muara Enim (NOMOR CONTOH, ganti sebelum dipakai)"


class PaceSettings(Section):
    """Telegram's published limits, with headroom on the overall one."""

    overall_per_second: int = Field(25, gt=0)
    private_per_second: int = Field(1, gt=0)
    group_per_minute: int = Field(20, gt=0)
    in_flight: int = Field(8, gt=0)
    across_processes: bool = True  # on PostgreSQL, the overall rate is the bot's, however many processes send
    jitter: float = Field(0.02, ge=0, le=60)  # seconds a request may arrive later than it left, beyond others


class ChannelSettings(Section):
    """A chat platform's section of config.yaml. Its field name in Settings
    names the channel's module, bot/channels/<name>.py."""

    enabled: bool = False

    def operator_addresses(self) -> list[str]:
        """The chats on this platform that get the operators' notices."""
        return []


class TelegramSettings(ChannelSettings):
    enabled: bool = True
    library: Literal["python-telegram-bot", "aiogram"] = "python-telegram-bot"
    mode: Literal["polling", "webhook"] = "polling"
    base_url: str = "https://api.telegram.org/bot"
    base_file_url: str = "https://api.telegram.org/file/bot"
    webhook_url: str | None = None
    webhook_path: str = Field("/telegram", pattern=r"^/")
    poll_timeout: int = Field(30, ge=0)
    operator_chat_id: int | None = None
    operators: list[int] = []  # Telegram user ids allowed to use /status in the operators' group
    pace: PaceSettings = PaceSettings()

    def operator_addresses(self) -> list[str]:
        return [] if self.operator_chat_id is None else [str(self.operator_chat_id)]


class TemplateSettings(Section):
    """An approved WhatsApp template: its name, language id, and which of the
    message's values fill its body parameters, in order."""

    name: str
    language: str = "id"
    parameters: list[str] = []


class WhatsAppPaceSettings(Section):
    per_second: int = Field(60, gt=0)  # per business phone number
    per_recipient_per_second: int = Field(1, gt=0)
    in_flight: int = Field(16, gt=0)
    across_processes: bool = True
    jitter: float = Field(0.02, ge=0, le=60)


class WhatsAppSettings(ChannelSettings):
    phone_number_id: str | None = None
    business_account_id: str | None = None  # the WABA id: its message templates live there
    webhook_path: str = Field("/whatsapp", pattern=r"^/")
    graph_base_url: str = "https://graph.facebook.com"
    operator_numbers: list[str] = []  # operators' WhatsApp numbers (digits, e.g. 6281234567890)
    api_version: str = "21.0"
    pace: WhatsAppPaceSettings = WhatsAppPaceSettings()
    templates: dict[str, TemplateSettings] = {}
    inbound_attempts: int = Field(5, gt=0)  # tries at a stored message before it is a dead letter
    inbound_retry_seconds: float = Field(2.0, gt=0)  # the first retry's wait, doubled each time

    def operator_addresses(self) -> list[str]:
        return list(self.operator_numbers)


class ReminderSettings(Section):
    # Days before a person's cover ends; a negative number is days after.
    stages: list[int] = [30, 14, 7, 1, -1]
    send_at: str = Field("09:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    quiet_from: str = Field("20:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    quiet_until: str = Field("07:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    plan_at: str = Field("06:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    drain_seconds: int = Field(5, gt=0)
    batch: int = Field(200, gt=0)
    lease_seconds: int = Field(300, gt=0)
    max_attempts: int = Field(5, gt=0)


class WebSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    max_body_kb: int = Field(1024, gt=0)
    keep_alive_seconds: int = Field(5, gt=0)
    max_connections: int = Field(500, gt=0)


class HelpdeskSettings(Section):
    """When operators answer people who asked to talk to a person."""

    office_from: str = Field("08:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    office_until: str = Field("16:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    office_days: list[int] = Field([0, 1, 2, 3, 4], min_length=1)  # Monday is 0

    @field_validator("office_days")
    @classmethod
    def weekdays(cls, days: list[int]) -> list[int]:
        if any(not 0 <= day <= 6 for day in days):
            raise ValueError("days are 0 (Monday) to 6 (Sunday)")
        return sorted(set(days))


class ConsoleSettings(Section):
    """The operators' web console, served under /console/ by `run`."""

    enabled: bool = True
    secure_cookie: bool = False  # true when it is served over HTTPS (behind a TLS proxy)
    session_hours: int = Field(8, gt=0)  # a login lasts a working day
    logins_per_address: int = Field(20, gt=0)  # tries per 15 minutes from one address


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAYUNG_", env_nested_delimiter="__", extra="forbid")

    data_dir: Path = Path("data")
    database_url: str | None = None
    nik_key: SecretStr | None = None
    timezone: str = "Asia/Jakarta"
    default_language: Literal["id", "en"] = "id"
    texts_dir: Path | None = None
    log_level: str = "INFO"
    max_file_mb: int = Field(20, gt=0)
    # A reply is held in the database until the platform has it; one no
    # live process has held this long (a crash, a deploy) is sent by
    # whichever process takes it up.
    resend_unsent_after_seconds: int = Field(60, gt=0)
    # A process holding this many replies not yet sent takes no new message
    # in until some are out; the platform keeps the rest meanwhile.
    queued_replies_limit: int = Field(1000, gt=0)
    session: SessionSettings = SessionSettings()
    coverage: CoverageSettings = CoverageSettings()
    roster: RosterSettings = RosterSettings()
    programme: ProgrammeSettings = ProgrammeSettings()
    contacts: ContactSettings = ContactSettings()
    telegram: TelegramSettings = TelegramSettings()
    whatsapp: WhatsAppSettings = WhatsAppSettings()
    reminders: ReminderSettings = ReminderSettings()
    retention: RetentionSettings = RetentionSettings()
    web: WebSettings = WebSettings()
    console: ConsoleSettings = ConsoleSettings()
    helpdesk: HelpdeskSettings = HelpdeskSettings()
    renewal: RenewalSettings = RenewalSettings()

    @classmethod
    def settings_customise_sources(
        cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings
    ):
        # The YAML arrives as init kwargs; the environment must win over it.
        return (env_settings, init_settings)

    def channels(self) -> dict[str, ChannelSettings]:
        """Every chat platform's section, enabled or not, by channel name."""
        return {
            name: value for name in type(self).model_fields if isinstance(value := getattr(self, name), ChannelSettings)
        }

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'payung.db'}"


def env_secret(name: str) -> SecretStr | None:
    """A secret from the environment (platform tokens keep their usual names,
    TELEGRAM_BOT_TOKEN and so on); empty counts as unset."""
    value = os.environ.get(name, "").strip()
    return SecretStr(value) if value else None


def config_path(explicit: Path | None) -> Path | None:
    """--config, else PAYUNG_CONFIG, else ./config.yaml when present."""
    if explicit is not None:
        return explicit
    if env := os.environ.get("PAYUNG_CONFIG"):
        return Path(env)
    default = Path("config.yaml")
    return default if default.exists() else None


def load_settings(path: Path | None = None) -> Settings:
    path = config_path(path)
    raw: dict = {}
    if path is not None:
        try:
            raw = read_yaml(path) or {}
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path} is not valid YAML: {exc}") from None
        if not isinstance(raw, dict):
            raise ConfigError(f"{path} must be a mapping of settings")
    for name in SECRET_FIELDS:
        if name in raw:
            raise ConfigError(f"{path}: '{name}' is a secret; set PAYUNG_{name.upper()} in the environment instead")
    try:
        return Settings(**raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors())
        raise ConfigError(f"invalid configuration ({path or 'defaults'}): {problems}") from None
