"""The conversations. Each flow is one module; this registry is how the
dispatcher finds them, by name, and which keyword starts which flow."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from handlers import claim, coverage, help, incident, language, menu, officer, reminders, status
from handlers.flow import Flow


@dataclass(frozen=True)
class Flows:
    by_name: Mapping[str, Flow]
    # keyword list in the catalogue (keywords.<name>) -> flow it starts
    by_keyword: Mapping[str, str]
    menu: Flow


def build_flows() -> Flows:
    flows = [menu.flow, coverage.flow, incident.flow, status.flow, help.flow, language.flow, reminders.flow,
             reminders.stop_flow, reminders.resume_flow, officer.link_flow, officer.report_flow, officer.summary_flow, claim.flow]
    return Flows(
        by_name={flow.name: flow for flow in flows},
        by_keyword={"help": "help", "language": "language", "stop": "stop_reminders", "resume": "resume_reminders",
                    "officer": "officer_link"},
        menu=menu.flow,
    )
