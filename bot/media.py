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
        temporary = self._temporary(channel)
        try:
            await download(temporary)
            return self._named(temporary, mime_type=mime_type, suffix=suffix)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise

    def keep(self, channel: str, data: bytes, *, mime_type: str, suffix: str) -> Media:
        """Bytes already in hand (a file an operator attaches), stored the same way."""
        temporary = self._temporary(channel)
        try:
            temporary.write_bytes(data)
            return self._named(temporary, mime_type=mime_type, suffix=suffix)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise

    def _temporary(self, channel: str) -> Path:
        folder = self.root / channel
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, suffix=".part")
        os.close(handle)
        return Path(temporary)

    @staticmethod
    def _named(temporary: Path, *, mime_type: str, suffix: str) -> Media:
        with open(temporary, "rb") as file:
            sha256 = hashlib.file_digest(file, "sha256").hexdigest()
        final = temporary.parent / f"{sha256}{suffix.lower()}"
        os.replace(temporary, final)
        return Media(path=str(final), sha256=sha256, mime_type=mime_type, size=final.stat().st_size)
