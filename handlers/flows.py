"""The flows' registry. Each flow is one module and declares how people
reach it (a keyword list, a menu title); the registries here are generated
from those declarations, so registering a flow is adding it to FLOWS."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from handlers import claim, coverage, detour, help, helpdesk, incident, language, officer, reminders, status
from handlers.flow import Flow, Home
from handlers.menu import menu_flow

# In menu order, for the flows with a menu entry.
FLOWS = (
    coverage.flow,
    incident.flow,
    status.flow,
    reminders.flow,
    help.flow,
    language.flow,
    officer.report_flow,
    claim.flow,
    officer.summary_flow,
    helpdesk.flow,  # last of the entries: the numbers people know stay theirs
    officer.link_flow,
    reminders.stop_flow,
    reminders.resume_flow,
    detour.flow,
)


@dataclass(frozen=True)
class Flows:
    by_name: Mapping[str, Flow]
    # keyword list in the catalogue (keywords.<name>) -> flow it starts
    by_keyword: Mapping[str, str]
    menu: Flow

    @classmethod
    def of(cls, flows: Iterable[Flow], *, menu: Flow | None = None) -> Flows:
        """The registries of `flows`, with the main menu over those that have
        a menu title (or `menu` instead)."""
        flows = list(flows)
        menu = menu or menu_flow([flow for flow in flows if flow.menu])
        return cls(
            by_name={flow.name: flow for flow in (menu, *flows)},
            by_keyword={flow.keywords: flow.name for flow in flows if flow.keywords},
            menu=menu,
        )

    @property
    def home(self) -> Home:
        """The menu under a header line: where a finished flow returns."""
        assert self.menu.home is not None, "the menu flow must say how it shows itself"
        return self.menu.home


def build_flows() -> Flows:
    return Flows.of(FLOWS)
