"""The console's requests: who is asking (the session's account, read afresh
each time), what they may do, one transaction per request, and the page.

Every page works without JavaScript. With it, HTMX swaps the report queue
and a claim's checklist in place (the same routes answer a fragment when the
request says HX-Request)."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from jinja2 import Environment, FileSystemLoader, Undefined
from sqlmodel import Session
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from bot.config import Settings
from bot.console.guard import CSRF_FIELD, CSRF_HEADER, csrf_ok, csrf_token
from bot.console.settings_check import settings_warnings, unready_templates
from bot.ops.accounts import current_actor
from bot.ops.authority import Actor, Forbidden, Invalid, NotFound
from bot.types import Clock, Readiness
from handlers.texts import LANGUAGES, Catalogue, Texts
from storage.db import Database
from storage.privacy import mask_niks

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
TEMPLATES_KEPT_SECONDS = 60  # how long the banner trusts the WhatsApp templates' review it read
PREFIX = "/console"


@dataclass
class View:
    """One request as a page sees it."""

    request: Request
    session: Session
    actor: Actor
    form: FormData | None
    now: datetime

    @property
    def address(self) -> str:
        return client_address(self.request)

    def field(self, name: str) -> str:
        return str((self.form or {}).get(name, "")).strip()

    def query(self, name: str) -> str | None:
        return self.request.query_params.get(name, "").strip() or None

    @property
    def partial(self) -> bool:
        headers = self.request.headers
        # A history restore wants the whole page back, not the fragment.
        return headers.get("HX-Request") == "true" and headers.get("HX-History-Restore-Request") != "true"


class Forgotten(Undefined):
    """A name a page was not given: false in `{% if %}`, but printing or
    looping over it fails the page rather than showing nothing (a form that
    silently lost its choices would announce to everyone)."""

    __str__ = __iter__ = __len__ = Undefined._fail_with_undefined_error


class Pages:
    """What every page shares: the texts in the reader's language, dates and
    numbers as Babel writes them there, the banner, the CSRF token."""

    def __init__(self, *, settings: Settings, zone: ZoneInfo, db: Database):
        self.settings = settings
        self.zone = zone
        self.db = db
        self.texts = Catalogue.load(params={}, shipped=HERE / "texts")
        self.templates = Jinja2Templates(
            env=Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True, undefined=Forgotten)
        )
        self.warnings = settings_warnings(settings)
        self._templates_read: tuple[float, list[tuple[str, Readiness]]] | None = None

    def read_templates(self) -> None:
        """The WhatsApp templates' review, for the banner: read once a minute
        at most, before a page's own transaction (SQLite has one writer)."""
        if self._templates_read is None or time.monotonic() - self._templates_read[0] > TEMPLATES_KEPT_SECONDS:
            self._templates_read = (time.monotonic(), unready_templates(self.settings, self.db))

    def banners(self, t: Texts) -> list[str]:
        """What the settings lack, and the WhatsApp templates not approved yet."""
        said = [t(key, **values) for key, values in self.warnings]
        if self._templates_read and (unready := self._templates_read[1]):
            keys = ", ".join(f"{kind} ({t(f'banner.template_{state}')})" for kind, state in unready)
            said.append(t("banner.missing_templates", keys=keys))
        return said

    def language(self, request: Request) -> str:
        chosen = request.session.get("lang")
        return chosen if chosen in LANGUAGES else LANGUAGES[0]

    def render(
        self, request: Request, name: str, *, actor: Actor | None = None, status: int = 200, **context: Any
    ) -> Response:
        language = self.language(request)
        t = self.texts[language]
        locale = "id_ID" if language == "id" else "en_GB"
        helpers = {
            "t": t,
            "lang": language,
            "other_lang": "en" if language == "id" else "id",
            "actor": actor,
            "csrf": csrf_token(request),
            "csrf_field": CSRF_FIELD,
            "csrf_header": CSRF_HEADER,
            "prefix": PREFIX,
            "path": request.url.path,
            "banners": self.banners(t) if actor else [],
            "flash": request.session.pop("flash", None),
            "when": lambda moment: format_datetime(moment.astimezone(self.zone), "d MMM yyyy HH:mm", locale=locale),
            "day": lambda value: format_date(value, "d MMM yyyy", locale=locale),
            "number": lambda value: format_decimal(value, locale=locale),
            "chart": chart,
            "masked": mask_niks,  # a NIK someone typed into a story or a note
        }
        # Chart rows labelled for reading: a status or kind by its text, a day as a date.
        helpers["named"] = lambda rows, group: [(t(f"{group}.{key}") if key != "-" else "-", n) for key, n in rows]
        helpers["dated"] = lambda rows: [(helpers["day"](key), n) for key, n in rows]
        return self.templates.TemplateResponse(request, name, {**helpers, **context}, status_code=status)

    def refusal(self, request: Request, actor: Actor | None, status: int, key: str) -> Response:
        return self.render(request, "error.html", actor=actor, status=status, message=key)


@dataclass(frozen=True)
class Chart:
    rows: list[tuple[str, int]]
    top: int


def chart(rows) -> Chart:
    """Rows of (label, value) with the largest value, for the bars macro."""
    rows = [(str(label), int(value)) for label, value in rows]
    return Chart(rows, max((value for _, value in rows), default=0))


def pages_of(total: int, per_page: int) -> int:
    return max(1, math.ceil(total / per_page))


def query_string(**values: Any) -> str:
    return urlencode({key: value for key, value in values.items() if value not in (None, "")})


Work = Callable[[View], Response]


class Gate:
    """Runs a page's work for a signed-in account allowed to do it, in one
    transaction, off the event loop (the database calls block)."""

    def __init__(self, *, db: Database, pages: Pages, clock: Clock):
        self.db = db
        self.pages = pages
        self.clock = clock

    def page(self, work: Work, *, may: str | None = None) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            form = None
            if request.method == "POST":
                form = await request.form()
                if not csrf_ok(request, form.get(CSRF_FIELD)):
                    log.warning("console: a form without its session's CSRF token, from %s", client_address(request))
                    return self.pages.refusal(request, None, 403, "error.csrf")
            return await run_in_threadpool(self._run, request, form, work, may)

        return endpoint

    def _run(self, request: Request, form: FormData | None, work: Work, may: str | None) -> Response:
        name = request.session.get("account")
        self.pages.read_templates()
        with self.db.transaction() as session:
            actor = current_actor(session, name=name) if name else None
            if actor is None:
                request.session.pop("account", None)
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"{PREFIX}/login?{query_string(next=target)}", status_code=303)
            try:
                if may is not None:
                    actor.require(may)  # type: ignore[arg-type]
                return work(View(request, session, actor, form, self.clock()))
            except Forbidden:
                return self.pages.refusal(request, actor, 403, "error.forbidden")
            except NotFound:
                return self.pages.refusal(request, actor, 404, "error.not_found")
            except Invalid as problem:
                # A form that cannot be done as filled in: back to its page, saying why.
                request.session["flash"] = str(problem)
                return RedirectResponse(back_to(request), status_code=303)


def client_address(request: Request) -> str:
    """Where a request came from, for the audit trail and the login limit."""
    return request.client.host if request.client else "-"


def inside(target: str) -> bool:
    """A console path to go on to (after a login, a language switch, a
    refused form); never another site (//evil.example) or a full URL."""
    return target.startswith(PREFIX + "/") and not target.startswith("//") and "\\" not in target


def back_to(request: Request) -> str:
    """The console page a form was sent from, by its Referer."""
    referer = urlsplit(request.headers.get("referer", ""))
    path = referer.path + (f"?{referer.query}" if referer.query else "")
    return path if inside(path) else f"{PREFIX}/dashboard"


def site(*, routes: list, settings: Settings, secret: str) -> Mount:
    """The console mounted under /console, its cookie signed and scoped there."""
    app = Starlette(
        routes=[*routes, Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static")],
        middleware=[
            Middleware(
                SessionMiddleware,
                secret_key=secret,
                session_cookie="payung_console",
                max_age=settings.console.session_hours * 3600,
                path=PREFIX,
                same_site="lax",
                https_only=settings.console.secure_cookie,
            )
        ],
    )
    return Mount(PREFIX, app=app)


def first_day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Invalid(f"{text!r} is not a date like 2026-11-27") from None
