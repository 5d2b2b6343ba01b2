"""A file someone sent (a photo, a document, a voice note), saved under the
data directory, with the caption they wrote on it.

One shape wherever a file travels: on an Inbound, in a report's draft, in
the incident_attachments table, and in a notice's outbox row. Drafts and the
outbox keep it as JSON, always through `as_json`/`from_json`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Media:
    path: str
    sha256: str
    mime_type: str = ""
    size: int = 0
    caption: str = ""

    @property
    def is_voice(self) -> bool:
        return self.mime_type.startswith("audio/")

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Media:
        return cls(
            path=data["path"],
            sha256=data["sha256"],
            mime_type=data["mime_type"],
            size=data["size"],
            caption=data.get("caption", ""),  # drafts and outbox rows from before captions were kept
        )
