"""Tables. Personal identifiers are never stored in the clear: a participant is
found by a keyed hash of the NIK and proven by a keyed hash of NIK + birth date.
Every datetime is stored as UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Index, Text, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (which keeps no
    zone) and PostgreSQL alike, so comparisons never mix naive and aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Participant(SQLModel, table=True):
    __tablename__ = "participants"
    # Indexes, not constraints, so that a first import can load the rows
    # and build them after (storage/participants.py: lookup_indexes).
    __table_args__ = (
        Index("ix_participants_district_village", "district", "village"),
        Index("ux_participants_nik_hash", "nik_hash", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    nik_hash: str = Field(max_length=64)
    nik_masked: str = Field(max_length=32)
    birth_hash: str = Field(max_length=64)
    name: str = Field(max_length=200)
    gender: str = Field(max_length=1)
    village: str = Field(max_length=120)
    district: str = Field(max_length=120)
    category: str = Field(max_length=32, index=True)
    kpj: str | None = Field(default=None, max_length=32)
    phone: str | None = Field(default=None, max_length=20)
    cover_start: date
    cover_end: date
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class Chat(SQLModel, table=True):
    """One person's conversation on one channel."""

    __tablename__ = "chats"
    __table_args__ = (UniqueConstraint("channel", "chat_id", name="uq_chats_channel_chat_id"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    chat_id: str = Field(max_length=64)
    language: str = Field(max_length=8)
    active: bool = True
    last_inbound_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)


class ConversationState(SQLModel, table=True):
    """Where a chat is in a flow. `choices` are the buttons last offered, so a
    typed title or number resolves to the same choice as a tap."""

    __tablename__ = "sessions"

    chat_pk: int = Field(foreign_key="chats.id", primary_key=True)
    flow: str = Field(max_length=32)
    step: str = Field(max_length=64)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    choices: list[list[str]] = Field(default_factory=list, sa_type=JSON)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class ProcessedMessage(SQLModel, table=True):
    """Platforms redeliver; a message id seen once is never handled again."""

    __tablename__ = "processed_messages"

    channel: str = Field(max_length=16, primary_key=True)
    message_id: str = Field(max_length=128, primary_key=True)
    processed_at: datetime = Field(sa_type=UTCDateTime)


class LookupAttempt(SQLModel, table=True):
    """The audit table: each identity check and each disclosure of someone's
    data, with the proof the chat had. The lockouts count its failures, per
    chat and per NIK (by the NIK's keyed hash). It never holds a NIK or a
    birth date."""

    __tablename__ = "lookup_attempts"
    __table_args__ = (
        Index("ix_lookup_attempts_chat_at", "chat_pk", "at"),
        Index("ix_lookup_attempts_nik_at", "nik_hash", "at"),
        Index("ix_lookup_attempts_participant_at", "participant_id", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    chat_pk: int = Field(foreign_key="chats.id")
    purpose: str = Field(max_length=32)
    outcome: str = Field(max_length=16)
    participant_id: int | None = Field(default=None, foreign_key="participants.id")
    nik_hash: str | None = Field(default=None, max_length=64)
    proof: str | None = Field(default=None, max_length=16)
    officer_id: int | None = Field(default=None, foreign_key="officers.id")
    at: datetime = Field(sa_type=UTCDateTime)


class OwnerProof(SQLModel, table=True):
    """A chat proven to be a participant's own: its platform-verified number
    was the roster's phone for them. It holds while the roster keeps that
    phone; a roster that changes it ends the proof."""

    __tablename__ = "owner_proofs"
    __table_args__ = (UniqueConstraint("chat_pk", "participant_id", name="uq_owner_proofs_chat_participant"),)

    id: int | None = Field(default=None, primary_key=True)
    chat_pk: int = Field(foreign_key="chats.id", index=True)
    participant_id: int = Field(foreign_key="participants.id", index=True)
    phone: str = Field(max_length=20)
    proven_at: datetime = Field(sa_type=UTCDateTime)


class ReminderSubscription(SQLModel, table=True):
    """A chat's consent to be reminded about one participant's cover. One phone
    often serves a family, so a chat may follow several participants."""

    __tablename__ = "reminder_subscriptions"
    __table_args__ = (UniqueConstraint("chat_pk", "participant_id", name="uq_reminder_subscriptions"),)

    id: int | None = Field(default=None, primary_key=True)
    chat_pk: int = Field(foreign_key="chats.id")
    participant_id: int = Field(foreign_key="participants.id", index=True)
    # "berhenti" turns consent off and "mulai" back on, without forgetting whom
    # the chat follows.
    active: bool = True
    created_at: datetime = Field(sa_type=UTCDateTime)


class PendingInbound(SQLModel, table=True):
    """A webhook delivery stored before it is acknowledged and handled, so a
    crash after the 200 loses nothing. Deleted once handled: the raw message
    may hold a NIK, so it is kept no longer than needed."""

    __tablename__ = "pending_inbound"

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    message_id: str = Field(max_length=128)
    payload: dict[str, Any] = Field(sa_type=JSON)
    received_at: datetime = Field(sa_type=UTCDateTime)
    # A message that keeps failing (a photo the platform cannot serve) is
    # tried a bounded number of times, then kept as a dead letter, its
    # content dropped, for the operators to see.
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    last_error: str | None = Field(default=None, max_length=200)
    dead_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    __table_args__ = (UniqueConstraint("channel", "message_id", name="uq_pending_inbound_message"),)


class PendingReply(SQLModel, table=True):
    """A reply written in the same transaction as the step that said it, and
    deleted once the platform took it (or refused it for good): a crash or a
    deploy while replies wait at the paced rate loses none of them. Until
    `due_at` the process that wrote it is sending it; after, any process may
    take it up and send it again."""

    __tablename__ = "pending_replies"
    # A process knows the replies it holds by id: SQLite must never give a
    # deleted one's id to a new reply (AUTOINCREMENT), as it would by default.
    __table_args__ = (Index("ix_pending_replies_channel_due", "channel", "due_at"), {"sqlite_autoincrement": True})

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    chat_id: str = Field(max_length=64)
    body: dict[str, Any] = Field(sa_type=JSON)  # handlers.messages.Outbound.as_json()
    due_at: datetime = Field(sa_type=UTCDateTime)


class PacePlace(SQLModel, table=True):
    """One of a bot's places at one of its platform's rates, shared by every
    process that sends for it (PostgreSQL only; bot/channels/shared_pace.py):
    the overall rate ("telegram") or a group's ("telegram:group:<chat id>").
    A place is free from `free_at`, by the database's clock."""

    __tablename__ = "pace_places"

    window_name: str = Field(max_length=64, primary_key=True)
    place: int = Field(primary_key=True)
    free_at: datetime = Field(sa_type=UTCDateTime)


class OutboundMessage(SQLModel, table=True):
    """What was sent (or deliberately not sent) to a chat, and what the
    platform later reported about it (sent, delivered, read, failed)."""

    __tablename__ = "outbound_messages"
    __table_args__ = (
        UniqueConstraint("channel", "platform_message_id", name="uq_outbound_platform_id"),
        Index("ix_outbound_messages_chat", "channel", "chat_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    chat_id: str = Field(max_length=64)
    platform_message_id: str | None = Field(default=None, max_length=128)
    status: str = Field(max_length=16)  # accepted, sent, delivered, read, failed, skipped
    detail: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class OutboxMessage(SQLModel, table=True):
    """A message Payung starts, sent by the drainer: a reminder stage, or a
    notice (a new report to the operators, a status change to a reporter).
    `key` is unique, so planning twice plans nothing new. States: planned ->
    claimed (leased to one drainer until claimed_until) -> sent | failed
    (retried later, up to a limit) | skipped (with why).

    chat_pk and participant_id have no foreign keys (migration 0023): a
    campaign plans five rows a person, and PostgreSQL checks a foreign key
    with a query a row, 45% of planning a million people. Nothing deletes a
    chat or a participant, every row is written by a statement that takes
    them from their tables; were one deleted by hand, the drainer skips a
    row whose person is gone (no consent) and never claims one whose chat is
    (tests/test_reminders.py)."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("key", name="uq_outbox_key"),
        Index("ix_outbox_due", "state", "due_at"),
        Index("ix_outbox_chat", "chat_pk"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=160)
    kind: str = Field(default="reminder", max_length=16)  # reminder or notice
    chat_pk: int
    # A reminder's: whose cover, which period, which stage, and when it goes stale.
    participant_id: int | None = None
    cover_end: date | None = None
    stage: int | None = None  # days before the cover ends; negative: days after
    stale_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # A notice's text, written in the recipient's language when it was made,
    # and the files that go with it (storage.media.Media, as JSON).
    body: str | None = Field(default=None, sa_type=Text)
    attachments: list[dict[str, Any]] | None = Field(default=None, sa_type=JSON)
    due_at: datetime = Field(sa_type=UTCDateTime)
    state: str = Field(max_length=16)
    attempts: int = 0
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_by: str | None = Field(default=None, max_length=64)
    platform_message_id: str | None = Field(default=None, max_length=128)
    detail: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class ReferenceCounter(SQLModel, table=True):
    """The last incident reference number given out in a year: LK-2026-000123.
    One row a year, incremented under its row lock, so concurrent reports
    never share a number on either database."""

    __tablename__ = "reference_counters"

    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    last: int = 0


class Incident(SQLModel, table=True):
    """A reported accident or death. The affected person's NIK is kept as its
    keyed hash (to match the roster and to prove a later status request) and
    masked (for operators); never in the clear."""

    __tablename__ = "incidents"
    __table_args__ = (
        Index("ix_incidents_reporter", "reporter_chat_pk"),
        Index("ix_incidents_status", "status"),
        Index("ix_incidents_participant", "participant_id"),  # a person's reports; counts per kecamatan
    )

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=20, unique=True)
    reporter_chat_pk: int = Field(foreign_key="chats.id")
    affected: str = Field(max_length=8)  # self (identity proven) or other
    relation: str | None = Field(default=None, max_length=16)  # the reporter's, for "other"
    participant_id: int | None = Field(default=None, foreign_key="participants.id")  # found in the roster
    nik_hash: str = Field(max_length=64, index=True)
    nik_masked: str = Field(max_length=32)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=24)
    occurred_on: date
    covered: bool | None = None  # in the roster and covered on occurred_on; None: not in the roster
    place: str = Field(max_length=300)
    latitude: float | None = None
    longitude: float | None = None
    chronology: str = Field(max_length=1000)
    phone: str = Field(max_length=20)
    status: str = Field(max_length=16)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class IncidentAttachment(SQLModel, table=True):
    __tablename__ = "incident_attachments"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incidents.id", index=True)
    sha256: str = Field(max_length=64)
    mime_type: str = Field(max_length=100)
    size: int
    path: str = Field(max_length=500)
    caption: str = Field(default="", max_length=1000, sa_column_kwargs={"server_default": ""})
    created_at: datetime = Field(sa_type=UTCDateTime)


class IncidentStatusChange(SQLModel, table=True):
    """Every status a report has had: what, why, who and when."""

    __tablename__ = "incident_status_changes"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incidents.id", index=True)
    status: str = Field(max_length=16)
    note: str | None = Field(default=None, max_length=500)
    actor: str = Field(max_length=120)  # "reporter", "operator:<name>", "cli:<user>"
    at: datetime = Field(sa_type=UTCDateTime)


class Officer(SQLModel, table=True):
    """A village officer (perangkat desa) from the officers' list, who may
    link a chat to report and follow claims for the residents of one village."""

    __tablename__ = "officers"

    id: int | None = Field(default=None, primary_key=True)
    nik_hash: str = Field(max_length=64, unique=True)
    nik_masked: str = Field(max_length=32)
    birth_hash: str = Field(max_length=64)
    name: str = Field(max_length=200)
    position: str = Field(max_length=120)  # jabatan
    village: str = Field(max_length=120)
    district: str = Field(max_length=120)
    phone: str = Field(max_length=20)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class OfficerLink(SQLModel, table=True):
    """A chat proven to be an officer's (NIK + birth date + the chat's own
    phone number); an operator may revoke it."""

    __tablename__ = "officer_links"
    __table_args__ = (Index("ix_officer_links_chat", "chat_pk"),)

    id: int | None = Field(default=None, primary_key=True)
    officer_id: int = Field(foreign_key="officers.id", index=True)
    chat_pk: int = Field(foreign_key="chats.id")
    linked_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_by: str | None = Field(default=None, max_length=120)


class IncidentDocument(SQLModel, table=True):
    """A document of a report's checklist (a line of the catalogue's list for
    its kind) that a village officer has ticked as ready."""

    __tablename__ = "incident_documents"
    __table_args__ = (UniqueConstraint("incident_id", "item", name="uq_incident_documents"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incidents.id", index=True)
    item: str = Field(max_length=200)
    ticked_by: str = Field(max_length=120)
    ticked_at: datetime = Field(sa_type=UTCDateTime)


class IncidentNote(SQLModel, table=True):
    __tablename__ = "incident_notes"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incidents.id", index=True)
    author: str = Field(max_length=120)
    text: str = Field(max_length=500)
    at: datetime = Field(sa_type=UTCDateTime)


class RosterImport(SQLModel, table=True):
    """Each roster import: started, and finished when its last row is in.
    An import is many transactions (a million rows), so one stopped halfway
    leaves a mixed roster; the unfinished row lets `stats` say so."""

    __tablename__ = "roster_imports"

    id: int | None = Field(default=None, primary_key=True)
    file_name: str = Field(max_length=255)
    actor: str = Field(max_length=120)
    started_at: datetime = Field(sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    rows: int | None = None


class ConsoleAccount(SQLModel, table=True):
    """A web console account (BPJS branch staff, Dinas PMD): distinct from the
    village officers, who use the chat. Only an argon2 hash of the password."""

    __tablename__ = "console_accounts"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    password_hash: str = Field(max_length=255)
    role: str = Field(max_length=16)  # viewer, operator or admin
    # The kecamatan it is limited to; None: the whole regency.
    districts: list[str] | None = Field(default=None, sa_type=JSON)
    disabled: bool = False
    failed_logins: int = 0  # since the last success, counted toward a lock
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class ConsoleAudit(SQLModel, table=True):
    """What each console account did and looked at, and each login. Never a
    NIK or a password: a looked-up NIK is recorded masked."""

    __tablename__ = "console_audit"
    __table_args__ = (Index("ix_console_audit_at", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    account: str = Field(max_length=64)
    action: str = Field(max_length=32)
    target: str | None = Field(default=None, max_length=120)
    detail: str | None = Field(default=None, max_length=500)
    address: str | None = Field(default=None, max_length=64)
    at: datetime = Field(sa_type=UTCDateTime)


class HelpdeskThread(SQLModel, table=True):
    """A person who asked to talk to a person: one open thread per chat at a
    time, answered from the console's Helpdesk page."""

    __tablename__ = "helpdesk_threads"
    __table_args__ = (Index("ix_helpdesk_threads_state", "state", "waiting_since"),)

    id: int | None = Field(default=None, primary_key=True)
    chat_pk: int = Field(foreign_key="chats.id", index=True)
    state: str = Field(max_length=8)  # open or closed
    opened_at: datetime = Field(sa_type=UTCDateTime)
    # The person's first message not yet answered; None while nobody waits.
    waiting_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    taken_by: str | None = Field(default=None, max_length=64)  # the console account answering it
    taken_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    told_after_hours_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_by: str | None = Field(default=None, max_length=64)


class HelpdeskMessage(SQLModel, table=True):
    """Every message of a thread, with who wrote it: "person", or the
    console account (console:<name>). An answer that could go only as a
    template (WhatsApp, past 24 hours) waits to be given whole when the
    person next writes."""

    __tablename__ = "helpdesk_messages"

    id: int | None = Field(default=None, primary_key=True)
    thread_id: int = Field(foreign_key="helpdesk_threads.id", index=True)
    author: str = Field(max_length=64)
    text: str = Field(default="", sa_type=Text)
    attachments: list[dict[str, Any]] | None = Field(default=None, sa_type=JSON)
    latitude: float | None = None
    longitude: float | None = None
    awaiting_person: bool = False
    at: datetime = Field(sa_type=UTCDateTime)


class Announcement(SQLModel, table=True):
    """A message operators send to a segment of the consenting chats, once
    to each chat, through the outbox (rows keyed announcement:<id>:<chat>)."""

    __tablename__ = "announcements"

    id: int | None = Field(default=None, primary_key=True)
    text_id: str = Field(sa_type=Text)
    text_en: str | None = Field(default=None, sa_type=Text)
    segment: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)  # storage.announcements.Segment
    recipients: int = 0  # chats it was planned for
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)


class RenewalDecision(SQLModel, table=True):
    """The regency's decision on the period after a cover period, as an
    operator recorded it; the newest row for a period is the one in force
    (the older ones are its history)."""

    __tablename__ = "renewal_decisions"

    id: int | None = Field(default=None, primary_key=True)
    period_end: date = Field(index=True)  # the cover end this decides about: what comes after it
    state: str = Field(max_length=16)  # unknown, planned, confirmed, not_renewed
    expected_start: date | None = None  # planned: the new period's first day
    note_id: str | None = Field(default=None, sa_type=Text)
    note_en: str | None = Field(default=None, sa_type=Text)
    decided_on: date | None = None
    set_by: str = Field(max_length=64)
    set_at: datetime = Field(sa_type=UTCDateTime)


class WhatsAppTemplate(SQLModel, table=True):
    """A message template's review status at Meta, as last read: the shipped
    templates (bot/channels/whatsapp_templates.yaml) are used only once
    approved, and hold their messages back while pending."""

    __tablename__ = "whatsapp_templates"
    __table_args__ = (UniqueConstraint("name", "language", name="uq_whatsapp_templates_name_language"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=128)
    language: str = Field(max_length=16)
    status: str = Field(max_length=24)  # APPROVED, PENDING, REJECTED, PAUSED ...
    template_id: str | None = Field(default=None, max_length=64)
    checked_at: datetime = Field(sa_type=UTCDateTime)
