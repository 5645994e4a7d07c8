"""Content digests of files, read in 1 MiB chunks (no torch: the decoder uses it too)."""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["file_digest"]


def file_digest(path: str | Path, *, algo: str = "md5") -> str:
    """Hex digest of a file's contents (md5 by default), read in 1 MiB chunks."""
    h = hashlib.new(algo)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
