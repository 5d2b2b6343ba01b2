"""What the regency's renewal decision means for a person, one short line in
every reminder, the Pengingat menu and the help topic "Setelah 31 Desember",
and, while nothing is renewed, how to go on alone as a BPU participant. The
figures come from config (programme.bpu), never from the texts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from babel.numbers import format_currency
from sqlmodel import Session

from handlers.texts import Texts
from handlers.wording import written_date
from storage import renewal
from storage.renewal import GO_ALONE, Decision, RenewalDigest


@dataclass(frozen=True)
class RenewalFacts:
    """config.yaml's renewal section and BPU figure, as flows need them."""

    default: Decision  # in force until an operator records one
    go_alone_stages: tuple[int, ...]  # reminder stages that explain going on alone
    bpu_monthly: int  # rupiah, JKK + JKM at the lowest bracket

    def decision(self, session: Session) -> Decision:
        return renewal.current(session, default=self.default)


def state_for(decision: Decision, cover_end: date | None) -> str:
    """The decision's state for a cover ending then; a later period is not decided."""
    return decision.state if cover_end is None or decision.covers(cover_end) else "unknown"


def state_line(t: Texts, decision: Decision, cover_end: date | None = None) -> str:
    """One short line: what the decision means for a cover ending on
    `cover_end` (a reminder's person), or for anyone (None)."""
    state = state_for(decision, cover_end)
    if state == "planned" and decision.expected_start:
        line = t("renewal.planned_from", start=written_date(t, decision.expected_start))
    elif state == "confirmed" and cover_end is not None:
        # Still reminded of the old end: this person's new period was not imported.
        line = t("renewal.confirmed_not_you")
    else:
        line = t(f"renewal.{state}")
    note = decision.note(t.language) if state == decision.state else None
    return f"{line} {note}" if note else line


def go_alone(t: Texts, facts: RenewalFacts, cover_end: date) -> str:
    monthly = format_currency(facts.bpu_monthly, "IDR", locale=f"{t.language}_ID")
    return t("renewal.go_alone", monthly=monthly, end=written_date(t, cover_end))


def reminder_line(t: Texts, facts: RenewalFacts, decision: Decision, *, stage: int, cover_end: date) -> str:
    """What a reminder of `stage` says about what comes next, on one line
    (a WhatsApp template's parameter holds no line break)."""
    line = state_line(t, decision, cover_end)
    if state_for(decision, cover_end) in GO_ALONE and stage in facts.go_alone_stages:
        line = f"{line} {go_alone(t, facts, cover_end)}"
    return line


def after_the_end(t: Texts, facts: RenewalFacts, decision: Decision) -> str:
    """The help topic: the decision, and going on alone while nothing is renewed."""
    lines = [state_line(t, decision)]
    if decision.state in GO_ALONE:
        lines.append(go_alone(t, facts, decision.period_end))
    return "\n".join(lines)


NAMES_IN_A_DIGEST = 30  # more would not fit a WhatsApp template's parameter


def renewal_digest(t: Texts, digest: RenewalDigest) -> str:
    """A village officer's: how many residents were renewed, and who was not
    (so the officer can help them go on alone)."""
    if digest.new_end is None:
        head = t("renewal.digest_none", village=digest.village)
    else:
        head = t("renewal.digest", village=digest.village, renewed=digest.renewed, end=written_date(t, digest.new_end))
    if not digest.not_renewed:
        return head
    names = ", ".join(digest.not_renewed[:NAMES_IN_A_DIGEST])
    if len(digest.not_renewed) > NAMES_IN_A_DIGEST:
        names += " " + t("renewal.digest_more", count=len(digest.not_renewed) - NAMES_IN_A_DIGEST)
    return f"{head} " + t("renewal.digest_missing", count=len(digest.not_renewed), names=names)
