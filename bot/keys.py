"""The key behind every NIK hash. Lose it and the roster must be imported
again (the hashes can no longer be matched); leak it and the hashes are only
as strong as the NIK space is large. So: environment first, else a generated
file readable by its owner only, with a warning to move it somewhere safe."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from bot.config import ConfigError, Settings

log = logging.getLogger(__name__)

MIN_LENGTH = 32


def load_nik_key(settings: Settings) -> bytes:
    if settings.nik_key is not None:
        key = settings.nik_key.get_secret_value()
        if len(key) < MIN_LENGTH:
            raise ConfigError(f"PAYUNG_NIK_KEY must be at least {MIN_LENGTH} characters")
        return key.encode()
    path = Path(settings.data_dir) / "nik.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_hex(32))
        log.warning(
            "PAYUNG_NIK_KEY is not set: generated a key in %s (owner-only). Back it up or "
            "set PAYUNG_NIK_KEY; without the same key the roster must be imported again.",
            path,
        )
    return path.read_text().strip().encode()
