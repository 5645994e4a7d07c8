"""Text from strangers, made safe to store, print and write: shared by the readers of every input file."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["brief", "replace_surrogates"]

# a lone surrogate (from "\udc80" in JSON) cannot be encoded as UTF-8, so SQLite, files and pages refuse it
_SURROGATE = re.compile("[\ud800-\udfff]")


def replace_surrogates(text: str) -> tuple[str, int]:
    """(``text`` with lone surrogates replaced by U+FFFD, how many were replaced)."""
    return _SURROGATE.subn("\ufffd", text)


def brief(value: Any, limit: int = 60) -> str:
    """A short, safe description of a bad value for an error message: never the whole of it
    (a file's contents or a 100 MB string), never a crash (deep nesting, 5,000-digit ints)."""
    if isinstance(value, str):
        return repr(replace_surrogates(value[:limit])[0]) + ("..." if len(value) > limit else "")
    if isinstance(value, (bool, float)) or value is None:
        return repr(value)
    if isinstance(value, int):
        return f"<int of {value.bit_length()} bits>" if value.bit_length() > 64 else repr(value)
    return f"<{type(value).__name__}>"
