"""The web console's accounts: made and changed by an administrator (the
CLI, or the console's own accounts page), and logged into."""

from __future__ import annotations

import logging
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import get_args

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session

from bot.ops.authority import Actor, Invalid, NotFound, Role
from storage import console
from storage.console import Account

log = logging.getLogger(__name__)

NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")
MIN_PASSWORD = 10
LOCK_AFTER = 5  # failed logins in a row
LOCKED_FOR = timedelta(minutes=15)
ROLES: tuple[Role, ...] = get_args(Role)


def actor_of(account: Account) -> Actor:
    """The account as it acts: what it does is recorded as console:<name>."""
    districts = None if account.districts is None else frozenset(account.districts)
    return Actor(f"console:{account.name}", account.role, districts)  # type: ignore[arg-type]


def _checked_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise Invalid(f"a password needs at least {MIN_PASSWORD} characters")
    return PasswordHasher().hash(password)


def add_account(
    session: Session,
    *,
    actor: Actor,
    name: str,
    password: str,
    role: str,
    districts: Collection[str],
    known_districts: Collection[str],
    now: datetime,
) -> None:
    actor.require("manage")
    if not NAME.match(name):
        raise Invalid("a name is 2 to 32 lower-case letters, digits, '.', '_' or '-'")
    if role not in ROLES:
        raise Invalid(f"the role is one of {', '.join(ROLES)}")
    unknown = sorted(set(districts) - set(known_districts))
    if unknown:
        raise Invalid(f"not a kecamatan of the regency: {', '.join(unknown)}")
    if console.account(session, name=name) is not None:
        raise Invalid(f"there is already an account {name}")
    console.add_account(
        session,
        name=name,
        password_hash=_checked_password(password),
        role=role,
        districts=sorted(districts) or None,
        now=now,
    )
    console.record(session, account=actor.name, action="account_add", target=name, detail=role, now=now)


def set_password(session: Session, *, actor: Actor, name: str, password: str, now: datetime) -> None:
    """A new password; it also lifts a lock (the administrator vouches)."""
    actor.require("manage")
    changed = console.change_account(
        session, name=name, now=now, password_hash=_checked_password(password), failed_logins=0, locked_until=None
    )
    if not changed:
        raise NotFound(f"no account {name}")
    console.record(session, account=actor.name, action="account_password", target=name, now=now)


def set_disabled(session: Session, *, actor: Actor, name: str, disabled: bool, now: datetime) -> None:
    actor.require("manage")
    if actor.name == f"console:{name}" and disabled:
        raise Invalid("an administrator cannot disable their own account")
    if not console.change_account(session, name=name, now=now, disabled=disabled):
        raise NotFound(f"no account {name}")
    action = "account_disable" if disabled else "account_enable"
    console.record(session, account=actor.name, action=action, target=name, now=now)


def list_accounts(session: Session, *, actor: Actor) -> list[Account]:
    actor.require("manage")
    return console.accounts(session)


@dataclass(frozen=True)
class Refused:
    """Why a login failed, for the log; the person is told only that it did."""

    why: str


@cache
def decoy_hash() -> str:
    """Verified against when the name is unknown, so that a wrong name takes
    as long as a wrong password and names cannot be found by timing. Made
    once, when the console is built, not at import: hashing is slow on
    purpose, and commands that log nobody in import this module too."""
    return PasswordHasher().hash("not a password of anyone")


def log_in(session: Session, *, name: str, password: str, address: str, now: datetime) -> Actor | Refused:
    """The account's actor if the password is right and the account open.
    Five failures in a row lock it for 15 minutes; the audit trail and the
    log say so, never with the password."""
    found = console.account(session, name=name)
    hasher = PasswordHasher()
    if found is None:
        try:
            hasher.verify(decoy_hash(), password)
        except VerificationError:
            pass
        return Refused("unknown account")
    if found.disabled:
        return Refused("account disabled")
    if found.locked_until is not None and found.locked_until > now:
        return Refused("account locked")
    try:
        hasher.verify(found.password_hash, password)
    except (VerificationError, InvalidHashError):
        failures = console.count_failed_login(session, name=name, now=now)
        console.record(session, account=name, action="login_failed", address=address, now=now)
        if failures >= LOCK_AFTER:
            console.change_account(session, name=name, now=now, failed_logins=0, locked_until=now + LOCKED_FOR)
            console.record(session, account=name, action="account_locked", address=address, now=now)
            log.warning("console account %s locked for %s after %d failed logins", name, LOCKED_FOR, failures)
        return Refused("wrong password")
    console.change_account(session, name=name, now=now, failed_logins=0, locked_until=None)
    console.record(session, account=name, action="login", address=address, now=now)
    return actor_of(found)


def current_actor(session: Session, *, name: str) -> Actor | None:
    """The account behind a session cookie, as it is now: a disabled account
    or a changed role takes effect at the next request."""
    found = console.account(session, name=name)
    return None if found is None or found.disabled else actor_of(found)
