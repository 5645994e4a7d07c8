"""Errors that are the user's to fix: a broken catalogue, index, model file, option or argument.

Every one of them derives from :class:`UserError`, so the command line prints it as one
line and exits 2 without importing the modules that raise it (``--help`` stays fast).
"""

from __future__ import annotations

__all__ = ["ConfigError", "UsageError", "UserError"]


class UserError(Exception):
    """Something the user asked for or handed in is wrong; the message says what and how to fix it."""


class UsageError(UserError):
    """A command's arguments are wrong (a missing file, an unknown brand)."""


class ConfigError(UserError, ValueError):
    """An option names something this machine or library cannot provide (CUDA without a GPU, a bad FAISS factory)."""
