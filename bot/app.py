"""Build everything from the settings. Nothing lives at module level: tests
and several bots in one process each get their own App."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from bot.config import Settings
from bot.dispatcher import Clock, Dispatcher
from bot.keys import load_nik_key
from bot.metrics import Metrics
from handlers import build_flows
from handlers.flow import Services
from handlers.texts import Catalogue
from storage.db import Database
from storage.privacy import IdentityHasher


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class App:
    settings: Settings
    db: Database
    services: Services
    dispatcher: Dispatcher
    clock: Clock
    metrics: Metrics

    def close(self) -> None:
        self.db.dispose()


def build_app(settings: Settings, *, clock: Clock = utc_now) -> App:
    db = Database(settings.resolved_database_url)
    db.upgrade()
    catalogue = Catalogue.load(
        params={
            "regency": settings.programme.regency_name,
            "max_file_mb": str(settings.max_file_mb),
            **settings.contacts.model_dump(),
        },
        override_dir=settings.texts_dir,
    )
    services = Services(settings, IdentityHasher(load_nik_key(settings)), catalogue)
    dispatcher = Dispatcher(db=db, flows=build_flows(), services=services, clock=clock)
    return App(settings, db, services, dispatcher, clock, Metrics())
