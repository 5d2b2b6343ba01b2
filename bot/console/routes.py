"""The console's pages and forms. Each calls one operation from bot/ops (the
CLI calls the same ones) and renders what it returns."""

from __future__ import annotations

import logging
import mimetypes
import tempfile
from pathlib import Path

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Mount, Route

from bot.app import App
from bot.channels import template_preview
from bot.console.guard import CSRF_FIELD, AddressLimiter, csrf_ok
from bot.console.site import PREFIX, Gate, Pages, View, client_address, first_day, inside, pages_of, query_string, site
from bot.media import MediaStore
from bot.ops import accounts, helpdesk, reports
from bot.ops import announcements as announcing
from bot.ops import renewal as renewing
from bot.ops.accounts import Refused, log_in
from bot.ops.authority import MAY, Invalid, NotFound
from bot.ops.dashboard import OVERDUE, dashboard
from bot.ops.export import Filed, export_incidents
from bot.ops.participants import lookup
from bot.types import TemplatePreview
from handlers.texts import LANGUAGES, OPERATORS_LANGUAGE
from storage import console
from storage.announcements import COVERS, Segment
from storage.incidents import KINDS
from storage.media import Media
from storage.outbox import ANNOUNCEMENT
from storage.renewal import STATES, history
from storage.report_statuses import STATUSES

log = logging.getLogger(__name__)


def console_site(app: App) -> Mount:
    """The console as a part of the web app (see bot/web.py)."""
    settings = app.settings
    pages = Pages(settings=settings, zone=app.services.zone, db=app.db)
    gate = Gate(db=app.db, pages=pages, clock=app.clock)
    routes = ConsoleRoutes(app, pages, gate)
    accounts.decoy_hash()  # now: the first login with an unknown name must take no longer than the rest
    return site(routes=routes.routes(), settings=settings, secret=app.services.hasher.signing_key("console-session"))


class ConsoleRoutes:
    def __init__(self, app: App, pages: Pages, gate: Gate):
        self.app = app
        self.pages = pages
        self.gate = gate
        self.limiter = AddressLimiter(app.settings.console.logins_per_address)
        self.media_root = (app.settings.data_dir / "media").resolve()

    def routes(self) -> list[Route]:
        page = self.gate.page
        return [
            Route("/", self.home),
            Route("/login", self.login, methods=["GET", "POST"]),
            Route("/logout", self.logout, methods=["POST"]),
            Route("/language", self.language),
            Route("/dashboard", page(self.dashboard)),
            Route("/reports", page(self.queue)),
            Route("/reports/{reference}", page(self.report)),
            Route("/reports/{reference}/status", page(self.change_status, may="change"), methods=["POST"]),
            Route("/reports/{reference}/documents", page(self.tick, may="change"), methods=["POST"]),
            Route("/reports/{reference}/notes", page(self.note, may="change"), methods=["POST"]),
            Route("/reports/{reference}/files/{number:int}", page(self.file)),
            Route("/export", page(self.export)),
            Route("/participants", page(self.participants), methods=["GET", "POST"]),
            Route("/accounts", page(self.accounts, may="manage"), methods=["GET", "POST"]),
            Route("/accounts/{name}", page(self.account, may="manage"), methods=["POST"]),
            Route("/audit", page(self.audit, may="manage")),
            Route("/announcements", page(self.announcements)),
            Route("/announcements/preview", page(self.preview_announcement, may="change"), methods=["POST"]),
            Route("/announcements/send", page(self.send_announcement, may="change"), methods=["POST"]),
            Route("/renewal", page(self.renewal)),
            Route("/renewal/decide", page(self.decide_renewal, may="manage"), methods=["POST"]),
            Route("/helpdesk", page(self.helpdesk)),
            Route("/helpdesk/{thread:int}", page(self.thread)),
            Route("/helpdesk/{thread:int}/messages", page(self.thread_messages)),
            Route("/helpdesk/{thread:int}/take", page(self.take, may="change"), methods=["POST"]),
            Route("/helpdesk/{thread:int}/answer", page(self.answer, may="change"), methods=["POST"]),
            Route("/helpdesk/{thread:int}/close", page(self.close_thread, may="change"), methods=["POST"]),
            Route("/helpdesk/{thread:int}/files/{message:int}/{number:int}", page(self.thread_file)),
        ]

    # Signing in and out --------------------------------------------------

    async def home(self, request: Request) -> Response:
        return RedirectResponse(f"{PREFIX}/dashboard", status_code=303)

    async def login(self, request: Request) -> Response:
        if request.method == "GET":
            return self.pages.render(request, "login.html", signed_out="out" in request.query_params)
        form = await request.form()
        if not csrf_ok(request, form.get(CSRF_FIELD)):
            return self.pages.refusal(request, None, 403, "error.csrf")
        address = client_address(request)
        now = self.app.clock()
        if not self.limiter.allow(address, now):
            log.warning("console: login tries from %s over the limit", address)
            return self.pages.render(request, "login.html", status=429, problem="login.too_many")
        name = str(form.get("name", "")).strip().lower()
        password = str(form.get("password", ""))

        def attempt():
            with self.app.db.transaction() as session:
                return log_in(session, name=name, password=password, address=address, now=now)

        outcome = await run_in_threadpool(attempt)
        if isinstance(outcome, Refused):
            log.info("console: login as %r from %s refused: %s", name[:64], address, outcome.why)
            return self.pages.render(request, "login.html", status=401, problem="login.failed", account_name=name)
        language = request.session.get("lang")
        request.session.clear()  # a new session for the signed-in account: none carried over
        request.session.update({"account": name, "lang": language or LANGUAGES[0]})
        target = str(form.get("next", ""))
        return RedirectResponse(target if inside(target) else f"{PREFIX}/dashboard", status_code=303)

    async def logout(self, request: Request) -> Response:
        form = await request.form()
        if not csrf_ok(request, form.get(CSRF_FIELD)):
            return self.pages.refusal(request, None, 403, "error.csrf")
        name, language = request.session.get("account"), request.session.get("lang")
        request.session.clear()
        request.session["lang"] = language
        if name:
            address, now = client_address(request), self.app.clock()

            def record() -> None:
                with self.app.db.transaction() as session:
                    console.record(session, account=name, action="logout", address=address, now=now)

            await run_in_threadpool(record)
        return RedirectResponse(f"{PREFIX}/login?out=1", status_code=303)

    async def language(self, request: Request) -> Response:
        chosen = request.query_params.get("to")
        if chosen in LANGUAGES:
            request.session["lang"] = chosen
        back = request.query_params.get("next", "")
        return RedirectResponse(back if inside(back) else f"{PREFIX}/dashboard", status_code=303)

    # Reading -------------------------------------------------------------

    def dashboard(self, view: View) -> Response:
        figures = dashboard(view.session, actor=view.actor, now=view.now, zone=self.pages.zone)
        return self.pages.render(view.request, "dashboard.html", actor=view.actor, figures=figures)

    def _filed(self, view: View) -> Filed:
        status, kind = view.query("status"), view.query("kind")
        district = view.query("district")
        return Filed(
            since=first_day(view.query("from")),
            until=first_day(view.query("to")),
            status=status if status in STATUSES else None,
            kind=kind if kind in KINDS else None,
            district=district,
            reference=(view.query("reference") or "").upper().replace(" ", "") or None,
        )

    def queue(self, view: View) -> Response:
        filed = self._filed(view)
        page = _page(view)
        found, total = reports.report_queue(
            view.session, actor=view.actor, filters=filed.queue(self.pages.zone), page=page
        )
        filters = {
            "status": filed.status,
            "kind": filed.kind,
            "district": filed.district,
            "from": filed.since and filed.since.isoformat(),
            "to": filed.until and filed.until.isoformat(),
            "reference": filed.reference,
        }
        context = {
            "reports": found,
            "total": total,
            "page": page,
            "pages": pages_of(total, reports.PAGE),
            "filters": filters,
            "query": query_string(**filters),
            "statuses": STATUSES,
            "kinds": KINDS,
            "districts": sorted(view.actor.districts or self.app.settings.programme.districts),
            "late_before": view.now - OVERDUE,
        }
        name = "_queue.html" if view.partial else "reports.html"
        return self.pages.render(view.request, name, actor=view.actor, **context)

    def _segment_choices(self, view: View) -> dict:
        """What the announcement form's segment fields offer."""
        return {"districts": sorted(view.actor.districts or self.app.settings.programme.districts), "covers": COVERS}

    def announcements(self, view: View) -> Response:
        context = {
            "sent": announcing.sent_so_far(view.session),
            "may_change": "change" in MAY[view.actor.role],
            **self._segment_choices(view),
        }
        return self.pages.render(view.request, "announcements.html", actor=view.actor, **context)

    def _draft(self, view: View) -> announcing.Draft:
        segment = Segment(
            district=view.field("district") or None,
            village=view.field("village") or None,
            category=view.field("category") or None,
            cover=view.field("cover") or None,
        )
        return announcing.checked(
            view.actor,
            text_id=view.field("text_id"),
            text_en=view.field("text_en"),
            segment=segment,
            districts=self.app.settings.programme.districts,
        )

    def preview_announcement(self, view: View) -> Response:
        draft = self._draft(view)
        today = view.now.astimezone(self.pages.zone).date()

        def past_window(channel: str, language: str, text: str) -> TemplatePreview:
            values = {"text": text}
            return template_preview(self.app.settings, view.session, channel, ANNOUNCEMENT, language, values)

        groups = announcing.renditions(
            view.session,
            actor=view.actor,
            draft=draft,
            today=today,
            now=view.now,
            capabilities=self.app.services.capabilities,
            past_window=past_window,
        )
        context = {"draft": draft, "groups": groups, "total": sum(group.sent for group in groups)}
        context |= self._segment_choices(view)
        return self.pages.render(view.request, "announcement_preview.html", actor=view.actor, **context)

    def send_announcement(self, view: View) -> Response:
        today = view.now.astimezone(self.pages.zone).date()
        announcing.send(view.session, actor=view.actor, draft=self._draft(view), today=today, now=view.now)
        return RedirectResponse(f"{PREFIX}/announcements", status_code=303)

    def renewal(self, view: View) -> Response:
        facts = self.app.services.settings.renewal
        context = {
            "decision": facts.decision(view.session),
            "earlier": history(view.session, period_end=facts.default.period_end)[1:],
            "states": STATES,
            "may_manage": "manage" in MAY[view.actor.role],
        }
        return self.pages.render(view.request, "renewal.html", actor=view.actor, **context)

    def decide_renewal(self, view: View) -> Response:
        renewing.decide(
            view.session,
            actor=view.actor,
            current=self.app.services.settings.renewal.decision(view.session),
            state=view.field("state"),
            expected_start=first_day(view.field("expected_start")),
            note_id=view.field("note_id"),
            note_en=view.field("note_en"),
            decided_on=first_day(view.field("decided_on")),
            now=view.now,
        )
        return RedirectResponse(f"{PREFIX}/renewal", status_code=303)

    def helpdesk(self, view: View) -> Response:
        waiting = helpdesk.open_threads(view.session, actor=view.actor)
        return self.pages.render(view.request, "helpdesk.html", actor=view.actor, waiting=waiting, now=view.now)

    def _thread(self, view: View) -> helpdesk.ThreadView:
        return helpdesk.thread_view(view.session, actor=view.actor, thread_id=view.request.path_params["thread"])

    def thread(self, view: View) -> Response:
        context = {
            "view": self._thread(view),
            "canned": self.pages.texts[self.pages.language(view.request)].entries.get("canned", []),
            "may_change": "change" in MAY[view.actor.role],
            "today": view.now.astimezone(self.pages.zone).date(),
        }
        return self.pages.render(view.request, "thread.html", actor=view.actor, **context)

    def thread_messages(self, view: View) -> Response:
        """The messages alone, which the thread page polls for (HTMX) to show new ones."""
        return self.pages.render(view.request, "_messages.html", actor=view.actor, view=self._thread(view))

    def take(self, view: View) -> Response:
        thread_id = view.request.path_params["thread"]
        helpdesk.take(view.session, actor=view.actor, thread_id=thread_id, now=view.now)
        return RedirectResponse(f"{PREFIX}/helpdesk/{thread_id}", status_code=303)

    def answer(self, view: View) -> Response:
        thread_id = view.request.path_params["thread"]
        text = "\n".join(part for part in (view.field("canned"), view.field("text")) if part)
        files = [self._kept(upload) for upload in (view.form.getlist("file") if view.form else []) if upload.filename]
        helpdesk.answer(
            view.session,
            actor=view.actor,
            thread_id=thread_id,
            text=text,
            files=files,
            capabilities=self.app.services.capabilities,
            now=view.now,
        )
        return RedirectResponse(f"{PREFIX}/helpdesk/{thread_id}#answer", status_code=303)

    def _kept(self, upload) -> Media:
        """A file an operator attached, stored like the files people send."""
        data = upload.file.read()
        if len(data) > self.app.settings.max_file_mb * 1024 * 1024:
            raise Invalid(f"a file holds at most {self.app.settings.max_file_mb} MB")
        mime_type = upload.content_type or mimetypes.guess_type(upload.filename)[0] or "application/octet-stream"
        suffix = Path(upload.filename).suffix[:10] or (mimetypes.guess_extension(mime_type) or "")
        return MediaStore(self.app.settings.data_dir / "media").keep(
            "console", data, mime_type=mime_type, suffix=suffix
        )

    def close_thread(self, view: View) -> Response:
        thread_id = view.request.path_params["thread"]
        helpdesk.close(
            view.session, actor=view.actor, thread_id=thread_id, catalogue=self.app.services.catalogue, now=view.now
        )
        return RedirectResponse(f"{PREFIX}/helpdesk", status_code=303)

    def thread_file(self, view: View) -> Response:
        found = self._thread(view)
        wanted, number = view.request.path_params["message"], view.request.path_params["number"]
        message = next((item for item in found.messages if item.id == wanted), None)
        if message is None or not 0 <= number < len(message.attachments):
            raise NotFound("no such file")
        target = f"thread:{found.thread.id}"
        return self._file_response(
            view, message.attachments[number], target, f"helpdesk-{found.thread.id}-{wanted}-{number + 1}"
        )

    def report(self, view: View) -> Response:
        detail = reports.report_detail(view.session, actor=view.actor, reference=view.request.path_params["reference"])
        return self.pages.render(view.request, "report.html", actor=view.actor, **self._report_context(view, detail))

    def _report_context(self, view: View, detail: reports.ReportDetail) -> dict:
        found = detail.report
        documents = self.app.services.catalogue[OPERATORS_LANGUAGE].lines(f"documents.{found.kind}")
        return {
            "detail": detail,
            "report": found,
            "documents": documents,
            "moves": reports.allowed_moves(view.actor, found.status),
            "may_change": "change" in MAY[view.actor.role],
        }

    def file(self, view: View) -> Response:
        reference = view.request.path_params["reference"]
        number = view.request.path_params["number"]
        media = reports.report_file(view.session, actor=view.actor, reference=reference, number=number)
        return self._file_response(view, media, reference, f"{reference}-{number + 1}")

    def _file_response(self, view: View, media: Media, target: str, name: str) -> Response:
        """A stored file, shown in the page when a browser can (photos, voice
        notes, PDFs), else downloaded; every view is audited."""
        path = Path(media.path).resolve()
        if not path.is_relative_to(self.media_root) or not path.is_file():
            raise NotFound(f"the file of {target} is missing")
        console.record(
            view.session, account=view.actor.name, action="file_view", target=target,
            detail=f"{name} ({media.mime_type})", address=view.address, now=view.now,
        )  # fmt: skip
        inline = media.mime_type.startswith(("image/", "audio/")) or media.mime_type == "application/pdf"
        extension = mimetypes.guess_extension(media.mime_type) or path.suffix
        return FileResponse(
            path,
            media_type=media.mime_type or "application/octet-stream",
            filename=f"{name}{extension}",
            content_disposition_type="inline" if inline else "attachment",
            headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"},
        )

    def export(self, view: View) -> Response:
        format = view.query("format") or "csv"
        if format not in ("csv", "xlsx"):
            raise Invalid("the format is csv or xlsx")
        filed = self._filed(view)
        handle = tempfile.NamedTemporaryFile(suffix=f".{format}", delete=False)
        handle.close()
        path = Path(handle.name)
        written = export_incidents(
            view.session, actor=view.actor, path=path, format=format, zone=self.pages.zone, filed=filed
        )
        console.record(
            view.session,
            account=view.actor.name,
            action="export",
            target=format,
            detail=f"{written} reports; {view.request.url.query}",
            address=view.address,
            now=view.now,
        )
        return FileResponse(
            path,
            filename=f"laporan-{view.now.astimezone(self.pages.zone):%Y%m%d-%H%M}.{format}",
            background=BackgroundTask(path.unlink, missing_ok=True),
            headers={"Cache-Control": "private, no-store"},
        )

    def participants(self, view: View) -> Response:
        # Searched by POST: a NIK in a URL would sit in proxy logs and browser history.
        typed = view.field("q") if view.request.method == "POST" else ""
        found = None
        if typed:
            found = lookup(
                view.session,
                actor=view.actor,
                hasher=self.app.services.hasher,
                query=typed,
                now=view.now,
                today=view.now.astimezone(self.pages.zone).date(),
                address=view.address,
            )
        # A NIK typed is not written back into the page.
        shown = "" if found is not None and found.how == "nik" else typed or ""
        return self.pages.render(view.request, "participants.html", actor=view.actor, found=found, typed=shown)

    def audit(self, view: View) -> Response:
        page = _page(view)
        entries, total = console.audit_entries(view.session, offset=(page - 1) * 100, limit=100)
        return self.pages.render(
            view.request, "audit.html", actor=view.actor, entries=entries, page=page, pages=pages_of(total, 100)
        )

    # Acting --------------------------------------------------------------

    def change_status(self, view: View) -> Response:
        reference = view.request.path_params["reference"]
        reports.change_status(
            view.session,
            actor=view.actor,
            reference=reference,
            status=view.field("status"),
            note=view.field("note") or None,
            notices=self.app.notices,
            now=view.now,
        )
        console.record(
            view.session,
            account=view.actor.name,
            action="status",
            target=reference,
            detail=view.field("status"),
            address=view.address,
            now=view.now,
        )
        view.request.session["flash"] = "report.saved"
        return RedirectResponse(f"{PREFIX}/reports/{reference}", status_code=303)

    def tick(self, view: View) -> Response:
        reference = view.request.path_params["reference"]
        found = reports.visible(view.session, actor=view.actor, reference=reference)
        items = self.app.services.catalogue[OPERATORS_LANGUAGE].lines(f"documents.{found.kind}")
        item = view.field("item")
        if item not in items:
            raise Invalid("no such document on this report's checklist")
        ticked = reports.toggle_document(view.session, actor=view.actor, reference=reference, item=item, now=view.now)
        console.record(
            view.session,
            account=view.actor.name,
            action="tick" if ticked else "untick",
            target=reference,
            detail=item,
            address=view.address,
            now=view.now,
        )
        if view.partial:
            detail = reports.report_detail(view.session, actor=view.actor, reference=reference)
            context = self._report_context(view, detail)
            return self.pages.render(view.request, "_checklist.html", actor=view.actor, **context)
        return RedirectResponse(f"{PREFIX}/reports/{reference}#checklist", status_code=303)

    def note(self, view: View) -> Response:
        reference = view.request.path_params["reference"]
        reports.add_note(view.session, actor=view.actor, reference=reference, text=view.field("text"), now=view.now)
        console.record(
            view.session, account=view.actor.name, action="note", target=reference, address=view.address, now=view.now
        )
        return RedirectResponse(f"{PREFIX}/reports/{reference}#notes", status_code=303)

    def accounts(self, view: View) -> Response:
        if view.request.method == "POST":
            accounts.add_account(
                view.session,
                actor=view.actor,
                name=view.field("name").lower(),
                password=view.field("password"),
                role=view.field("role"),
                districts=[str(value) for value in view.form.getlist("districts")] if view.form else [],
                known_districts=self.app.settings.programme.districts,
                now=view.now,
            )
            return RedirectResponse(f"{PREFIX}/accounts", status_code=303)
        return self.pages.render(
            view.request,
            "accounts.html",
            actor=view.actor,
            accounts=accounts.list_accounts(view.session, actor=view.actor),
            roles=accounts.ROLES,
            districts=self.app.settings.programme.districts,
            now=view.now,
        )

    def account(self, view: View) -> Response:
        name = view.request.path_params["name"]
        action = view.field("action")
        if action in ("disable", "enable"):
            accounts.set_disabled(view.session, actor=view.actor, name=name, disabled=action == "disable", now=view.now)
        elif action == "password":
            accounts.set_password(
                view.session, actor=view.actor, name=name, password=view.field("password"), now=view.now
            )
        else:
            raise Invalid("unknown action")
        return RedirectResponse(f"{PREFIX}/accounts", status_code=303)


def _page(view: View) -> int:
    try:
        return max(1, int(view.query("page") or 1))
    except ValueError:
        return 1
