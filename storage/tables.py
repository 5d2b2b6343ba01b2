"""The tables as SQLAlchemy Core sees them, named once for every query
module (the models, with their columns, are in storage/models.py)."""

from __future__ import annotations

from storage.models import (
    Announcement,
    Chat,
    ConsoleAccount,
    ConsoleAudit,
    ConversationState,
    HelpdeskMessage,
    HelpdeskThread,
    Incident,
    IncidentAttachment,
    IncidentDocument,
    IncidentNote,
    IncidentStatusChange,
    LookupAttempt,
    Officer,
    OfficerLink,
    OutboundMessage,
    OutboxMessage,
    OwnerProof,
    Participant,
    PendingInbound,
    PendingReply,
    ProcessedMessage,
    ReferenceCounter,
    ReminderSubscription,
    RenewalDecision,
    RosterImport,
    WhatsAppTemplate,
)

ANNOUNCEMENTS = Announcement.__table__
RENEWALS = RenewalDecision.__table__
ATTACHMENTS = IncidentAttachment.__table__
ATTEMPTS = LookupAttempt.__table__
CHANGES = IncidentStatusChange.__table__
CHATS = Chat.__table__
CONSOLE_ACCOUNTS = ConsoleAccount.__table__
CONSOLE_AUDIT = ConsoleAudit.__table__
COUNTERS = ReferenceCounter.__table__
DOCUMENTS = IncidentDocument.__table__
HELP_MESSAGES = HelpdeskMessage.__table__
HELP_THREADS = HelpdeskThread.__table__
INCIDENTS = Incident.__table__
LINKS = OfficerLink.__table__
NOTES = IncidentNote.__table__
OFFICERS = Officer.__table__
OUTBOUND = OutboundMessage.__table__
OUTBOX = OutboxMessage.__table__
OWNERS = OwnerProof.__table__
PARTICIPANTS = Participant.__table__
PENDING = PendingInbound.__table__
PROCESSED = ProcessedMessage.__table__
REPLIES = PendingReply.__table__
SESSIONS = ConversationState.__table__
SUBSCRIPTIONS = ReminderSubscription.__table__
TEMPLATES = WhatsAppTemplate.__table__
IMPORTS = RosterImport.__table__
