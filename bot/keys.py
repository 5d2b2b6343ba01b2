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
        write_new_key(path)
        log.warning(
            "PAYUNG_NIK_KEY is not set: generated a key in %s (owner-only). Back it up or "
            "set PAYUNG_NIK_KEY; without the same key the roster must be imported again.",
            path,
        )
    key = path.read_text().strip()
    if len(key) < MIN_LENGTH:
        # Never replace it: a new key would orphan every stored hash.
        raise ConfigError(f"{path} holds no usable key (at least {MIN_LENGTH} characters); restore it from backup")
    return key.encode()


def write_new_key(path: Path) -> None:
    """A fresh key, whole or not at all: a temporary file, synced, renamed
    into place, so a crash never leaves an empty or half-written key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_hex(32))
            file.flush()
            os.fsync(file.fileno())
        os.link(temporary, path)  # fails if another process wrote the key first: theirs stands
    except FileExistsError:
        pass
    finally:
        temporary.unlink(missing_ok=True)
