"""The one error hierarchy of the domain; every message is fit to show a person."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A rule said no; str(error) is the message for the person who asked."""

    def __init__(self, message: Any) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return str(self.message)


class NotFound(DomainError):
    """No such record, or not one the acting user may see (both look the same)."""


class PermissionDenied(DomainError):
    """The acting user's role does not allow this."""


class Conflict(DomainError):
    """The change clashes with what exists (a duplicate, a node with children)."""


class InvalidInput(DomainError):
    """The input breaks a rule of its own (format, range, length)."""


class StationUnavailable(DomainError):
    """The station is not connected or its endpoint does not answer."""


class CommandTimedOut(DomainError):
    """The station did not answer a command within the timeout."""


class StorageUnavailable(DomainError):
    """A file could not be written (disk full or not writable); nothing was kept."""
