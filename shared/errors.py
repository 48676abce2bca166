"""Errors a user can cause get their own types, so every entry point can answer them in one line."""

from __future__ import annotations


class StoryreelError(Exception):
    """Base class. `kind` ends up in RunError.kind."""

    kind = "internal"


class UserError(StoryreelError):
    """Something the user can fix: bad input file, bad config, unknown run id. CLI exit 2, API 4xx."""

    kind = "user"


class ConfigError(UserError):
    pass


class InputError(UserError):
    """The audio (or other input) cannot be used: missing, not audio, empty, no speech, too long."""


class NotFoundError(UserError):
    pass


class ProviderError(StoryreelError):
    """An outside service refused or failed after its retries. `retryable` is False for 4xx answers."""

    kind = "provider"

    def __init__(self, message: str, *, provider: str = "", retryable: bool = False) -> None:
        super().__init__(message)
        self.provider = provider
        self.retryable = retryable


class ConflictError(StoryreelError):
    """A conditional write lost a race (status transition or optimizer state)."""


def first_line(exc: BaseException) -> str:
    """An error as one line: its message's first line, or its type when it has no message."""
    text = str(exc)
    return text.splitlines()[0] if text else type(exc).__name__
