"""python -m bot ... : the operators' and developers' commands.

Each command imports what it uses when it runs, so `python -m bot --help`
(or a typo) answers at once instead of after SQLAlchemy, the conversations
and openpyxl have loaded; tests/test_cli.py checks that it stays so."""

from __future__ import annotations

import asyncio
import getpass
import os
import sys
import time
from collections import Counter
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from storage.errors import PlainError
from storage.report_statuses import STATUSES

if TYPE_CHECKING:
    from bot.app import App
    from bot.demo_roster import Sample
    from bot.ops.authority import Actor
    from bot.ops.roster import ImportReport

cli = typer.Typer(no_args_is_help=True, add_completion=False, help="Payung: BPJS Ketenagakerjaan cover chatbot.")
err = Console(stderr=True)
out = Console()


@cli.callback()
def options(
    ctx: typer.Context,
    config: Path | None = typer.Option(None, "--config", help="config file (default: $PAYUNG_CONFIG or ./config.yaml)"),
) -> None:
    ctx.obj = config


def administrator(by: str | None = None) -> Actor:
    """Whoever runs the CLI runs the server: they may do everything."""
    from bot.ops.authority import Actor

    return Actor(f"cli:{by or getpass.getuser()}", "admin")


@contextmanager
def opened(ctx: typer.Context, *, now: str | None = None) -> Iterator[App]:
    """Settings -> logging -> app with the schema upgraded; closed afterwards.
    With `now` (--now), the app's clock starts at that moment and runs on."""
    from bot.app import build_app, utc_now
    from bot.config import load_settings
    from bot.logs import configure_logging

    settings = load_settings(ctx.obj)
    configure_logging(settings.log_level)
    clock = utc_now
    if now is not None:
        start, started = _moment(now, ZoneInfo(settings.timezone)), time.monotonic()

        def clock() -> datetime:
            return start + timedelta(seconds=time.monotonic() - started)

    app = build_app(settings, clock=clock)
    try:
        yield app
    finally:
        app.close()


T = TypeVar("T")


def run_async(app: App, work: Coroutine[Any, Any, T]) -> T:
    """asyncio.run for a command: the database connections the loop opened
    (PostgreSQL's, storage.db: Database.on_loop) are closed before it ends."""

    async def then_leave() -> T:
        try:
            return await work
        finally:
            await app.db.leave_loop()

    return asyncio.run(then_leave())


def _import(app: App, path: Path) -> ImportReport:
    from bot.ops.roster import import_roster, open_roster

    roster = open_roster(path)
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=False) as progress:
        task = progress.add_task(f"import {path.name}", total=roster.total)
        report = import_roster(
            roster,
            actor=administrator(),
            db=app.db,
            hasher=app.services.hasher,
            now=app.clock(),
            batch_size=app.settings.roster.batch_size,
            workers=app.settings.roster.worker_count,
            progress=lambda advanced: progress.advance(task, advanced),
        )
        progress.update(task, completed=roster.total)  # blank and repeated rows too
    return report


def _print_report(report: ImportReport) -> None:
    counts = report.counts
    out.print(
        f"{report.rows} rows: {counts.inserted} new, {counts.updated} updated, "
        f"{counts.unchanged} unchanged, {len(report.rejected)} rejected"
    )
    if counts.extended:
        out.print(
            f"{len(counts.extended)} covers now end later (renewed): {report.told} consenting chats "
            "will be told, in the reminders' hours"
        )
    _print_notes(report)
    _print_counts("Per category", "category", sorted(report.by_category.items()))
    _print_counts("Per district", "district", sorted(report.by_district.items()))


def _print_notes(report: ImportReport) -> None:
    for title, notes in (("rejected", report.rejected), ("warning", report.warnings)):
        for note in notes[:50]:
            out.print(f"  {title}: row {note.row}: {note.reason}", highlight=False)
        if len(notes) > 50:
            out.print(f"  ... and {len(notes) - 50} more {title} rows")


def _print_counts(title: str, column: str, rows: list[tuple], unit: str = "people") -> None:
    table = Table(title=title)
    table.add_column(column)
    table.add_column(unit, justify="right")
    for name, count in rows:
        table.add_row(str(name), f"{count:,}")
    table.add_row("[bold]total", f"[bold]{sum(count for _, count in rows):,}")
    out.print(table)


@cli.command("import-roster")
def import_roster_command(
    ctx: typer.Context, file: Path = typer.Argument(..., help="CSV or XLSX with a header row")
) -> None:
    """Import (or update) the roster of covered workers."""
    with opened(ctx) as app:
        _print_report(_import(app, file))


@cli.command("import-officers")
def import_officers_command(
    ctx: typer.Context, file: Path = typer.Argument(..., help="CSV or XLSX with a header row")
) -> None:
    """Import (or update) the village officers: nik, nama, tanggal_lahir, jabatan, desa, kecamatan, telepon."""
    from bot.ops.officer_import import import_officers

    with opened(ctx) as app:
        report = import_officers(file, actor=administrator(), db=app.db, hasher=app.services.hasher, now=app.clock())
    out.print(
        f"{report.rows} rows: {report.counts.inserted} new, {report.counts.updated} updated, "
        f"{len(report.rejected)} rejected"
    )
    _print_notes(report)
    _print_counts("Officers per district", "district", sorted(report.by_district.items()), "officers")


officers_cli = typer.Typer(no_args_is_help=True, help="Village officers and their linked chats.")
cli.add_typer(officers_cli, name="officers")


@officers_cli.command("list")
def officers_list(ctx: typer.Context) -> None:
    """Every officer, their village, and how many chats are linked to them."""
    from storage import officers as officer_store

    with opened(ctx) as app, app.db.transaction() as session:
        found = officer_store.officers(session)
    table = Table(title=f"Village officers ({len(found):,})")
    for column in ("id", "name", "position", "village", "district", "NIK", "linked chats"):
        table.add_column(column, no_wrap=column in ("id", "NIK"))
    for officer, chats in found:
        table.add_row(
            str(officer.id),
            officer.name,
            officer.position,
            officer.village,
            officer.district,
            officer.nik_masked,
            str(chats),
        )
    out.print(table)


@officers_cli.command("unlink")
def officers_unlink(
    ctx: typer.Context,
    officer_id: int = typer.Argument(..., help="the id `officers list` shows"),
    by: str = typer.Option(None, help="who is revoking it (default: this system user)"),
) -> None:
    """Revoke an officer's linked chats: they see only what anyone sees until they link again."""
    from bot.config import ConfigError
    from storage import officers as officer_store

    with opened(ctx) as app, app.db.transaction() as session:
        revoked = officer_store.unlink(session, officer_id=officer_id, by=administrator(by).name, now=app.clock())
    if not revoked:
        raise ConfigError(f"officer {officer_id} has no linked chat")
    out.print(f"officer {officer_id}: {revoked} chat link(s) revoked")


accounts_cli = typer.Typer(no_args_is_help=True, help="The web console's accounts (not the village officers).")
cli.add_typer(accounts_cli, name="operators")


def _password(from_stdin: bool) -> str:
    """A password from standard input (scripts), or asked twice without echo."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        from bot.config import ConfigError

        raise ConfigError("the two passwords differ")
    return first


@accounts_cli.command("add")
def operators_add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="the login name, e.g. ani.bpjs"),
    role: str = typer.Option(..., help="viewer (reads), operator (also acts on reports) or admin (also accounts)"),
    district: list[str] = typer.Option([], "--district", help="a kecamatan it is limited to (repeat for more)"),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="read the password from standard input"),
) -> None:
    """Make a console account."""
    from bot.ops.accounts import add_account

    with opened(ctx) as app, app.db.transaction() as session:
        add_account(
            session,
            actor=administrator(),
            name=name,
            password=_password(password_stdin),
            role=role,
            districts=district,
            known_districts=app.settings.programme.districts,
            now=app.clock(),
        )
    scope = ", ".join(district) or "the whole regency"
    out.print(f"account {name} ({role}, {scope}) made", highlight=False)


@accounts_cli.command("list")
def operators_list(ctx: typer.Context) -> None:
    """Every console account: role, kecamatan, and whether it is disabled or locked."""
    from bot.ops.accounts import list_accounts

    with opened(ctx) as app, app.db.transaction() as session:
        found = list_accounts(session, actor=administrator())
        now = app.clock()
    table = Table(title=f"Console accounts ({len(found):,})")
    for column in ("name", "role", "districts", "state"):
        table.add_column(column)
    for account in found:
        locked = account.locked_until is not None and account.locked_until > now
        state = (
            "disabled"
            if account.disabled
            else f"locked until {_local(app, account.locked_until)}"
            if locked
            else "active"
        )
        table.add_row(account.name, account.role, ", ".join(account.districts or ("all",)), state)
    out.print(table)


@accounts_cli.command("passwd")
def operators_passwd(
    ctx: typer.Context,
    name: str = typer.Argument(...),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="read the password from standard input"),
) -> None:
    """Set a new password (it also lifts a lock)."""
    from bot.ops.accounts import set_password

    with opened(ctx) as app, app.db.transaction() as session:
        set_password(session, actor=administrator(), name=name, password=_password(password_stdin), now=app.clock())
    out.print(f"account {name}: password changed", highlight=False)


@accounts_cli.command("disable")
def operators_disable(ctx: typer.Context, name: str = typer.Argument(...)) -> None:
    """Close an account: it cannot log in, and its open sessions end at their next page."""
    from bot.ops.accounts import set_disabled

    with opened(ctx) as app, app.db.transaction() as session:
        set_disabled(session, actor=administrator(), name=name, disabled=True, now=app.clock())
    out.print(f"account {name}: disabled", highlight=False)


announcements_cli = typer.Typer(no_args_is_help=True, help="Operators' announcements (written in the console).")
cli.add_typer(announcements_cli, name="announcements")


@announcements_cli.command("status")
def announcements_status(ctx: typer.Context) -> None:
    """Each announcement: to whom, how many chats, and how far its sending is."""
    from bot.ops.announcements import sent_so_far

    with opened(ctx) as app, app.db.transaction() as session:
        found = sent_so_far(session)
    table = Table(title=f"Announcements ({len(found):,})")
    for column in ("id", "made", "by", "segment", "chats", "done", "states"):
        table.add_column(column, overflow="fold")
    for item in found:
        segment = ", ".join(f"{key}={value}" for key, value in sorted(item.segment.items())) or "everyone"
        states = ", ".join(f"{state} {count:,}" for state, count in sorted(item.states.items()))
        table.add_row(
            str(item.id), _local(app, item.created_at), item.created_by, segment, f"{item.recipients:,}",
            f"{item.done:,}", states,
        )  # fmt: skip
    out.print(table)


renewal_cli = typer.Typer(no_args_is_help=True, help="The regency's renewal decision about the next cover period.")
cli.add_typer(renewal_cli, name="renewal")


def _print_decision(app: App, decision) -> None:
    by = f"{decision.set_by}, {_local(app, decision.set_at)}" if decision.set_by else "config.yaml"
    out.print(f"after {decision.period_end}: {decision.state}", highlight=False)
    for label, value in (
        ("new period from", decision.expected_start),
        ("note", decision.note_id),
        ("note (English)", decision.note_en),
        ("decided on", decision.decided_on),
        ("recorded by", by),
    ):
        if value:
            out.print(f"  {label}: {value}", highlight=False)


@renewal_cli.command("show")
def renewal_show(ctx: typer.Context) -> None:
    """The decision in force, and the ones recorded before it."""
    from storage.renewal import history

    with opened(ctx) as app, app.db.transaction() as session:
        facts = app.services.settings.renewal
        _print_decision(app, facts.decision(session))
        earlier = history(session, period_end=facts.default.period_end)[1:]
    for decision in earlier:
        out.print(f"  before: {decision.state} ({decision.set_by}, {_local(app, decision.set_at)})", highlight=False)


@renewal_cli.command("set")
def renewal_set(
    ctx: typer.Context,
    state: str = typer.Argument(..., help="unknown, planned, confirmed or not_renewed"),
    start: datetime = typer.Option(None, "--start", formats=["%Y-%m-%d"], help="planned: the new period's first day"),
    note: str = typer.Option(None, "--note", help="one short line under the decision, in Indonesian"),
    note_en: str = typer.Option(None, "--note-en", help="the same in English"),
    decided: datetime = typer.Option(None, "--decided", formats=["%Y-%m-%d"], help="the day it was decided"),
) -> None:
    """Record what the regency decided. Reminders say it from their next
    message on; `confirmed` also sends each village officer a digest of who
    was renewed and who was not (import the new roster first)."""
    from bot.ops.renewal import decide

    with opened(ctx) as app, app.db.transaction() as session:
        decision, digests = decide(
            session,
            actor=administrator(),
            current=app.services.settings.renewal.decision(session),
            state=state,
            expected_start=start and start.date(),
            note_id=note,
            note_en=note_en,
            decided_on=decided and decided.date(),
            now=app.clock(),
        )
        _print_decision(app, decision)
    if state == "confirmed":
        out.print(f"{digests} village officers' chats will get the renewal digest, in the reminders' hours")


whatsapp_cli = typer.Typer(no_args_is_help=True, help="WhatsApp Business: Payung's message templates at Meta.")
cli.add_typer(whatsapp_cli, name="whatsapp")
templates_cli = typer.Typer(no_args_is_help=True, help="The message templates WhatsApp needs past 24 hours.")
whatsapp_cli.add_typer(templates_cli, name="templates")


@templates_cli.command("sync")
def templates_sync(ctx: typer.Context) -> None:
    """Submit every shipped template Meta does not have yet (Indonesian and
    English), then show each one's review status."""
    from bot.channels.whatsapp_templates import sync

    _show_templates(ctx, sync)


@templates_cli.command("status")
def templates_status(ctx: typer.Context) -> None:
    """Each template's review status at Meta (APPROVED, PENDING, REJECTED ...)."""
    from bot.channels.whatsapp_templates import refresh

    _show_templates(ctx, refresh)


def _show_templates(ctx: typer.Context, read) -> None:
    from bot.channels.whatsapp import graph_session, whatsapp_client
    from bot.channels.whatsapp_templates import shipped
    from bot.config import ConfigError, env_secret

    with opened(ctx) as app:
        settings = app.settings.whatsapp
        if not settings.business_account_id:
            raise ConfigError("whatsapp.business_account_id is not set: the templates live in that account")
        token = env_secret("WHATSAPP_TOKEN")
        if token is None:
            raise ConfigError("WHATSAPP_TOKEN is not set in the environment")

        async def read_through_a_session():
            async with graph_session(settings) as session:
                client = whatsapp_client(settings, token.get_secret_value(), session)
                return await read(client, settings.business_account_id, app.db, now=app.clock())

        found = run_async(app, read_through_a_session())
    serves = {item.name: ", ".join(item.serves) for item in shipped().values()}
    table = Table(title="WhatsApp templates")
    for column in ("name", "language", "status", "carries"):
        table.add_column(column)
    for name, language, status, _ in sorted(found):
        style = "green" if status == "APPROVED" else "red" if status in ("REJECTED", "DISABLED") else "yellow"
        table.add_row(name, language, f"[{style}]{status}", serves.get(name, "(not Payung's)"))
    out.print(table)
    missing = sorted({(name, language) for name in serves for language in ("id", "en")} - {f[:2] for f in found})
    if missing:
        err.print(f"not at Meta yet: {', '.join(f'{name} ({language})' for name, language in missing)}; run sync")


@cli.command("demo-roster")
def demo_roster_command(
    ctx: typer.Context,
    out_file: Path = typer.Option(None, "--out", help="where to write (default: <data_dir>/demo-roster.csv)"),
    rows: int = typer.Option(None, min=1, help="how many fictitious people (default: 26,775, the programme's size)"),
    year: int = typer.Option(None, help="cover year (default: this year)"),
) -> None:
    """Write a synthetic, clearly fictitious roster for demos and benchmarks."""
    from bot.config import load_settings
    from bot.demo_roster import DEMO_SIZE, write_demo_roster

    settings = load_settings(ctx.obj)
    rows = rows or DEMO_SIZE
    path = out_file or settings.data_dir / "demo-roster.csv"
    samples = write_demo_roster(
        path,
        year=year or date.today().year,
        districts=settings.programme.districts,
        regency_code=settings.programme.regency_code,
        rows=rows,
    )
    out.print(f"wrote {rows:,} fictitious people to {path}")
    _print_samples(samples)


def _print_samples(samples: list[Sample]) -> None:
    for sample in samples:
        out.print(
            f"  try NIK {sample.nik} with birth date {sample.birth_date:%d-%m-%Y} "
            f"({sample.name}; roster phone {sample.phone} shows the whole card)",
            soft_wrap=True,
            highlight=False,
        )


@cli.command()
def run(ctx: typer.Context) -> None:
    """Run the bot on Telegram (TELEGRAM_BOT_TOKEN) with the web app (/healthz, /metrics)."""
    from bot.service import run_service  # Telegram and the web stack load only here

    with opened(ctx) as app:
        _warn_unready_templates(app)
        run_service(app)


def _warn_unready_templates(app: App) -> None:
    from bot.channels.whatsapp_templates import unready

    if warning := unready(app.settings, app.db):
        err.print(f"[bold red]warning:[/] {warning}", highlight=False)


reminders_cli = typer.Typer(no_args_is_help=True, help="Reminders before the cover ends.")
cli.add_typer(reminders_cli, name="reminders")
NOW_HELP = "pretend it is this time (ISO, e.g. 2026-12-01T09:00; local time unless it has an offset)"


def _now(app: App, now: str | None) -> datetime:
    return app.clock() if now is None else _moment(now, app.services.zone)


def _moment(text: str, zone: ZoneInfo) -> datetime:
    from bot.config import ConfigError

    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"--now {text!r} is not an ISO date and time, e.g. 2026-12-01T09:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def _stage(stage: int) -> str:
    if stage == 0:
        return "on the last day"
    days = f"{abs(stage)} day{'s' if abs(stage) != 1 else ''}"
    return f"{days} before" if stage > 0 else f"{days} after"


@reminders_cli.command("plan")
def reminders_plan(
    ctx: typer.Context,
    now: str = typer.Option(None, help=NOW_HELP),
    dry_run: bool = typer.Option(False, "--dry-run", help="show what would be planned; change nothing"),
) -> None:
    """Plan reminder stages for every consenting chat (idempotent)."""
    with opened(ctx) as app:
        planned = app.planner().plan(_now(app, now), dry_run=dry_run)
        _warn_unready_templates(app)
    table = Table(title="Would be planned" if dry_run else "Planned")
    for column in ("stage", "channel", "messages"):
        table.add_column(column)
    for (stage, channel), count in sorted(planned.items(), key=lambda item: (-item[0][0], item[0][1])):
        table.add_row(_stage(stage), channel, f"{count:,}")
    table.add_row("[bold]total", "", f"[bold]{sum(planned.values()):,}")
    out.print(table)


@reminders_cli.command("send")
def reminders_send(ctx: typer.Context, now: str = typer.Option(None, help=NOW_HELP)) -> None:
    """Send what is due now, batch after batch, then exit."""
    from bot.channels import sending_channels  # the platforms' libraries load only here
    from bot.channels.console import ConsoleChannel

    async def send(app: App) -> Counter:
        console = ConsoleChannel(app.dispatcher, app.sending, chat_id="", output=sys.stdout)
        channels = await sending_channels(app, console)
        try:
            return await app.drainer(channels).drain(_now(app, now))
        finally:
            for channel in channels.values():
                await channel.stop()

    with opened(ctx) as app:
        total = run_async(app, send(app))
    out.print(", ".join(f"{count:,} {state}" for state, count in sorted(total.items())) or "nothing due")


@reminders_cli.command("status")
def reminders_status(ctx: typer.Context) -> None:
    """Outbox rows per stage and state (and the renewal news), and when the next one is due."""
    from storage import outbox

    with opened(ctx) as app, app.db.transaction() as session:
        rows, due = outbox.counts(session), outbox.next_due(session)
        renewals = outbox.renewal_counts(session)
    table = Table(title="Reminders")
    for column in ("stage", "state", "messages"):
        table.add_column(column)
    for stage, state, count in sorted(rows, key=lambda row: (-row[0], row[1])):
        table.add_row(_stage(stage), state, f"{count:,}")
    what = {outbox.RENEWAL: "renewal news", outbox.RENEWAL_DIGEST: "officers' renewal digest"}
    for kind, state, count in renewals:
        table.add_row(what[kind], state, f"{count:,}")
    out.print(table)
    out.print(f"next due: {due.astimezone(app.services.zone):%Y-%m-%d %H:%M %Z}" if due else "nothing planned")


incidents_cli = typer.Typer(no_args_is_help=True, help="Incident reports: list, show, change status.")
cli.add_typer(incidents_cli, name="incidents")


def _local(app: App, moment: datetime) -> str:
    return f"{moment.astimezone(app.services.zone):%Y-%m-%d %H:%M}"


@incidents_cli.command("list")
def incidents_list(
    ctx: typer.Context, status: str = typer.Option(None, help=f"only this status ({', '.join(STATUSES)})")
) -> None:
    """Reports, newest first."""
    from bot.ops.reports import list_reports

    with opened(ctx) as app, app.db.transaction() as session:
        found = list_reports(session, actor=administrator(), status=status)
    table = Table(title=f"Incident reports ({len(found):,})")
    for column in ("reference", "occurred", "kind", "roster", "status"):
        table.add_column(column, no_wrap=True)
    for item in found:
        roster = "absent" if item.covered is None else "covered" if item.covered else "not covered"
        table.add_row(item.reference, f"{item.occurred_on}", item.kind, roster, item.status)
    out.print(table)


@cli.command()
def audit(
    ctx: typer.Context,
    nik: str = typer.Option(None, help="only checks and disclosures about this NIK (it is hashed, never stored)"),
    since: str = typer.Option(None, help="from this day on (YYYY-MM-DD, local)"),
) -> None:
    """Who checked or saw whose data, and with what proof: for a data-subject request."""
    from bot.ops.audit import audit_trail

    with opened(ctx) as app, app.db.transaction() as session:
        day = _day(since, "--since")
        trail = audit_trail(
            session,
            actor=administrator(),
            hasher=app.services.hasher,
            nik=nik,
            since=day and datetime.combine(day, datetime.min.time(), app.services.zone),
        )
    about = f" about NIK {trail.about}" + ("" if trail.in_roster else " (not in the roster)") if trail.about else ""
    out.print(f"Audit trail{about}: {len(trail.rows):,} rows", highlight=False)
    # One line a row, whole: a request's answer is copied and kept, not read on a narrow screen.
    for row in trail.rows:
        officer = f" officer={row.officer_id}" if row.officer_id else ""
        out.print(
            f"{_local(app, row.at)}  {row.channel}:{row.chat_id}  {row.purpose}  proof={row.proof or '-'}  "
            f"{row.outcome}  participant={row.participant_id or '-'}{officer}",
            highlight=False,
            soft_wrap=True,
        )


inbox_cli = typer.Typer(no_args_is_help=True, help="Messages people sent that could not be handled.")
cli.add_typer(inbox_cli, name="inbox")


@inbox_cli.command("dead")
def inbox_dead(ctx: typer.Context) -> None:
    """Dead letters: messages tried until the limit and given up (the sender was told)."""
    from storage.inbox import dead_letters

    with opened(ctx) as app, app.db.transaction() as session:
        letters = dead_letters(session)
    table = Table(title=f"Dead letters ({len(letters):,})")
    for column in ("received", "channel", "sender", "kind", "tries", "last error"):
        table.add_column(column, overflow="fold")
    for letter in letters:
        table.add_row(
            _local(app, letter.received_at),
            letter.channel,
            letter.sender or "-",
            letter.kind or "-",
            str(letter.attempts),
            letter.last_error or "-",
        )
    out.print(table)


ROSTER_AT_THE_TIME = {None: "not in the roster", True: "covered", False: "in the roster, not covered then"}


@incidents_cli.command("show")
def incidents_show(ctx: typer.Context, reference: str = typer.Argument(..., help="e.g. LK-2026-000123")) -> None:
    """One report in full: every field, its files and its status history."""
    from bot.ops.reports import report_detail
    from storage.privacy import mask_niks

    with opened(ctx) as app, app.db.transaction() as session:
        detail = report_detail(session, actor=administrator(), reference=reference)
    found = detail.report
    where = f" ({found.latitude}, {found.longitude})" if found.latitude is not None else ""
    reporter = f" (reporter is {found.relation})" if found.relation else ""
    roster = ROSTER_AT_THE_TIME[found.covered]
    lines = [
        f"{found.reference}: {found.kind}, {found.status}",
        f"filed {_local(app, found.created_at)} via {found.reporter_channel} chat {found.reporter_chat_id}",
        f"affected: {found.name}, NIK {found.nik_masked}, {found.affected}{reporter}; {roster}",
        f"occurred: {found.occurred_on}; place: {found.place}{where}",
        f"call back: {found.phone}",
        f"chronology: {found.chronology}",
        *(
            f"file: {item.path} ({item.mime_type}, {item.size:,} bytes)" + (f": {item.caption}" if item.caption else "")
            for item in detail.files
        ),
        *(f"document ready: {item}" for item in detail.ready),
        *(f"note: {_local(app, note.at)} {note.author}: {note.text}" for note in detail.notes),
        *(
            f"status: {_local(app, change.at)} {change.status} by {change.actor}"
            + (f": {change.note}" if change.note else "")
            for change in detail.history
        ),
    ]
    for line in lines:
        out.print(mask_niks(line), highlight=False, soft_wrap=True)  # a NIK typed into a story or note


@incidents_cli.command("set-status")
def incidents_set_status(
    ctx: typer.Context,
    reference: str = typer.Argument(..., help="e.g. LK-2026-000123"),
    status: str = typer.Argument(..., help=", ".join(STATUSES)),
    note: str = typer.Option(None, help="why (required for ditolak)"),
    by: str = typer.Option(None, help="who is changing it (default: this system user)"),
) -> None:
    """Move a report to a new status; who, when and why are recorded."""
    from bot.ops.reports import change_status

    actor = administrator(by)
    with opened(ctx) as app, app.db.transaction() as session:
        changed = change_status(
            session,
            actor=actor,
            reference=reference,
            status=status,
            note=note,
            notices=app.notices,
            now=app.clock(),
        )
    out.print(
        f"{changed.reference}: {changed.status} (recorded as {actor.name}); the reporter will be told", highlight=False
    )


export_cli = typer.Typer(no_args_is_help=True, help="Exports for BPJS staff.")
cli.add_typer(export_cli, name="export")


class ExportFormat(StrEnum):
    csv = "csv"
    xlsx = "xlsx"


@export_cli.command("incidents")
def export_incidents_command(
    ctx: typer.Context,
    out_file: Path = typer.Option(..., "--out", help="the file to write"),
    format: ExportFormat = typer.Option(None, "--format", help="csv or xlsx (default: the file's extension)"),
    since: str = typer.Option(None, "--from", help="filed on or after this day (YYYY-MM-DD, local)"),
    until: str = typer.Option(None, "--to", help="filed on or before this day (YYYY-MM-DD, local)"),
    status: str = typer.Option(None, help=f"only this status ({', '.join(STATUSES)})"),
) -> None:
    """One row per report, one column per field."""
    from bot.config import ConfigError
    from bot.ops.export import Filed, export_incidents

    start, end = _day(since, "--from"), _day(until, "--to")
    if format is None:
        try:
            format = ExportFormat(out_file.suffix.lower().lstrip("."))
        except ValueError:
            raise ConfigError(f"--out {out_file}: name a .csv or .xlsx file, or say --format") from None
    with opened(ctx) as app, app.db.transaction() as session:
        written = export_incidents(
            session,
            actor=administrator(),
            path=out_file,
            format=format.value,
            zone=app.services.zone,
            filed=Filed(since=start, until=end, status=status),
        )
    out.print(f"{written:,} report(s) written to {out_file}", highlight=False)


def _day(text: str | None, option: str) -> date | None:
    from bot.config import ConfigError

    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{option} {text!r} is not a date like 2026-11-27") from None


@cli.command()
def stats(ctx: typer.Context) -> None:
    """Participants per category and district; reports per kind, status and district."""
    from bot.ops.stats import stats as programme_stats

    with opened(ctx) as app, app.db.transaction() as session:
        figures = programme_stats(session, actor=administrator())
    if stopped := figures.unfinished_import:
        err.print(
            f"[yellow]warning:[/yellow] the roster import of {stopped.file_name} by {stopped.actor}, started "
            f"{_local(app, stopped.started_at)}, did not finish (or is still running): the roster may be part "
            "old, part new. Import the file again.",
            highlight=False,
            soft_wrap=True,
        )
    _print_counts("Per category", "category", figures.participants_by_category)
    _print_counts("Per district", "district", figures.participants_by_district)
    _print_counts("Reports per kind", "kind", figures.reports_by_kind, "reports")
    _print_counts("Reports per status", "status", figures.reports_by_status, "reports")
    _print_counts("Reports per district", "district", figures.reports_by_district, "reports")


@cli.command()
def chat(
    ctx: typer.Context,
    chat_id: str = typer.Option("console", "--chat-id", help="which chat to speak as; state persists per chat"),
    now: str = typer.Option(None, help=NOW_HELP),
) -> None:
    """Chat with the bot here (the demo roster is loaded into an empty database)."""
    from bot.channels.console import ConsoleChannel
    from bot.demo_roster import write_demo_roster
    from storage.participants import count_participants

    with opened(ctx, now=now) as app:
        with app.db.transaction() as session:
            empty = count_participants(session) == 0
        if empty:
            path = app.settings.data_dir / "demo-roster.csv"
            err.print("Empty database: loading the demo roster (fictitious people).")
            samples = write_demo_roster(
                path,
                year=app.clock().year,
                districts=app.settings.programme.districts,
                regency_code=app.settings.programme.regency_code,
            )
            _import(app, path)
            _print_samples(samples)
        if sys.stdin.isatty():
            err.print("Type a message (e.g. 'halo'); Ctrl-D to quit.")
        channel = ConsoleChannel(app.dispatcher, app.sending, chat_id=chat_id, output=sys.stdout)
        run_async(app, channel.converse(sys.stdin))


def main() -> None:
    # Everything Payung writes (the database, media, exports, the key) holds
    # personal data: owner-only, whatever the shell's umask.
    os.umask(0o077)
    try:
        cli()
    except PlainError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
