"""Files written so that a reader never sees half of one, and where cached files live."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic(path: str | os.PathLike, data: bytes | str) -> None:
    """Write a file so that readers see the old or the new content, never half of it."""
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(payload)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, 0o644)  # mkstemp creates 0600; these are ordinary shared files
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise


def default_cache_dir() -> Path:
    """Where cleaned corpora, tokenizers and corpus line tables are cached: $POETRY_RNN_CACHE, else
    ~/.cache/poetry_rnn."""
    override = os.environ.get("POETRY_RNN_CACHE")
    return Path(override) if override else Path.home() / ".cache" / "poetry_rnn"
