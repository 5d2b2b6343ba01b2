"""The web console's accounts and its audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlmodel import Session

from storage.tables import CONSOLE_ACCOUNTS, CONSOLE_AUDIT

MAX_DETAIL = 500


@dataclass(frozen=True)
class Account:
    name: str
    password_hash: str
    role: str
    districts: tuple[str, ...] | None
    disabled: bool
    failed_logins: int
    locked_until: datetime | None


ACCOUNT = select(
    CONSOLE_ACCOUNTS.c.name,
    CONSOLE_ACCOUNTS.c.password_hash,
    CONSOLE_ACCOUNTS.c.role,
    CONSOLE_ACCOUNTS.c.districts,
    CONSOLE_ACCOUNTS.c.disabled,
    CONSOLE_ACCOUNTS.c.failed_logins,
    CONSOLE_ACCOUNTS.c.locked_until,
)


def _account(row) -> Account:
    name, password_hash, role, districts, disabled, failed, locked = row
    return Account(name, password_hash, role, None if districts is None else tuple(districts), disabled, failed, locked)


def account(session: Session, *, name: str) -> Account | None:
    row = session.connection().execute(ACCOUNT.where(CONSOLE_ACCOUNTS.c.name == name)).first()
    return _account(row) if row else None


def accounts(session: Session) -> list[Account]:
    return [_account(row) for row in session.connection().execute(ACCOUNT.order_by(CONSOLE_ACCOUNTS.c.name))]


def add_account(
    session: Session, *, name: str, password_hash: str, role: str, districts: list[str] | None, now: datetime
) -> None:
    session.connection().execute(
        CONSOLE_ACCOUNTS.insert().values(
            name=name,
            password_hash=password_hash,
            role=role,
            districts=districts,
            disabled=False,
            failed_logins=0,
            created_at=now,
            updated_at=now,
        )
    )


def change_account(session: Session, *, name: str, now: datetime, **values) -> bool:
    """Set some of an account's columns (a new password hash, disabled, the
    login counters); whether the account exists."""
    statement = update(CONSOLE_ACCOUNTS).where(CONSOLE_ACCOUNTS.c.name == name).values(**values, updated_at=now)
    return session.connection().execute(statement).rowcount > 0


def count_failed_login(session: Session, *, name: str, now: datetime) -> int:
    """One more failed login, counted in the database (two console processes
    share it); how many since the last success."""
    statement = (
        update(CONSOLE_ACCOUNTS)
        .where(CONSOLE_ACCOUNTS.c.name == name)
        .values(failed_logins=CONSOLE_ACCOUNTS.c.failed_logins + 1, updated_at=now)
        .returning(CONSOLE_ACCOUNTS.c.failed_logins)
    )
    return session.connection().execute(statement).scalar_one_or_none() or 0


@dataclass(frozen=True)
class AuditEntry:
    account: str
    action: str
    target: str | None
    detail: str | None
    address: str | None
    at: datetime


def record(
    session: Session,
    *,
    account: str,
    action: str,
    now: datetime,
    target: str | None = None,
    detail: str | None = None,
    address: str | None = None,
) -> None:
    row = {
        "account": account[:64],
        "action": action,
        "target": target and target[:120],
        "detail": detail and detail[:MAX_DETAIL],
        "address": address and address[:64],
        "at": now,
    }
    session.connection().execute(CONSOLE_AUDIT.insert().values(row))


def audit_entries(session: Session, *, offset: int = 0, limit: int = 50) -> tuple[list[AuditEntry], int]:
    """A page of the trail, newest first, and how many entries there are."""
    table = CONSOLE_AUDIT.c
    statement = select(table.account, table.action, table.target, table.detail, table.address, table.at)
    connection = session.connection()
    rows = connection.execute(statement.order_by(table.id.desc()).offset(offset).limit(limit))
    total = connection.execute(select(func.count()).select_from(CONSOLE_AUDIT)).scalar_one()
    return [AuditEntry(*row) for row in rows], total
