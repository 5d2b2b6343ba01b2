"""Photos and documents people send, kept under the data directory by checksum."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

from handlers.messages import Media


class MediaStore:
    def __init__(self, root: Path):
        self.root = root

    async def save(
        self, channel: str, download: Callable[[Path], Awaitable[object]], *, mime_type: str, suffix: str
    ) -> Media:
        """Download into a temporary file next to its final place, then name it
        by its SHA-256: a resent photo is stored once, and a half-written file
        never carries a final name."""
        folder = self.root / channel
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, suffix=".part")
        os.close(handle)
        try:
            await download(Path(temporary))
            with open(temporary, "rb") as file:
                sha256 = hashlib.file_digest(file, "sha256").hexdigest()
            final = folder / f"{sha256}{suffix.lower()}"
            os.replace(temporary, final)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return Media(path=str(final), sha256=sha256, mime_type=mime_type, size=final.stat().st_size)
