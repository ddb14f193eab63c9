"""Errors a slide function raises, each with a message a person can act on."""

from __future__ import annotations

from typing import Literal

UnreadableReason = Literal[
    "not-a-slide",
    "unsupported",
    "too-large",
    "malformed",
    "truncated",
    "crashed",
    "timeout",
    "out-of-memory",
    "wrong-patient",
]


class SlideError(Exception):
    """Base class of slide errors."""


class SlideUnreadable(SlideError):
    """The file cannot be used as a slide; retrying will not help.

    Attributes:
        reason: a short code (``"not-a-slide"``, ``"too-large"``, ``"crashed"``...).
        detail: what was wrong, in plain words.
    """

    def __init__(self, reason: UnreadableReason, detail: str) -> None:
        self.reason: UnreadableReason = reason
        self.detail = detail
        super().__init__(f"this file could not be read: {detail}")


class RegionOutOfBounds(SlideError, ValueError):
    """A requested region or tile lies outside the slide or is larger than allowed."""
