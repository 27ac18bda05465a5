from __future__ import annotations


class FatalError(Exception):
    """An expected failure: the message says what failed and how to fix it; exit 1."""


class UsageError(FatalError):
    pass
