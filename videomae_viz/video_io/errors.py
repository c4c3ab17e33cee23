"""The one error for unreadable input, ``VideoReadError``, and the ``Deadline`` of a read, which ends it with one."""

from __future__ import annotations

import time
from dataclasses import dataclass

__all__ = ["Deadline", "VideoReadError"]


class VideoReadError(Exception):
    """The one error type for any unreadable input; ``str(err)`` is a one-line reason for a person to read, e.g.
    'the file is empty', 'not a video: it is a PNG image', 'no video stream (audio only)'."""


@dataclass(frozen=True)
class Deadline:
    """When a read must be done: ``at`` on the ``time.monotonic`` clock, ``timeout`` the seconds the read was given,
    which the message names."""

    at: float
    timeout: float

    @classmethod
    def after(cls, timeout: float) -> Deadline:
        """The deadline ``timeout`` seconds from now."""
        return cls(time.monotonic() + timeout, timeout)

    def left(self) -> float:
        """Seconds left; zero or less once it has passed."""
        return self.at - time.monotonic()

    def check(self) -> None:
        """Raise the timeout's ``VideoReadError`` once the deadline has passed."""
        if time.monotonic() > self.at:
            raise self.error()

    def error(self) -> VideoReadError:
        """The ``VideoReadError`` a read that ran past the deadline ends with."""
        return VideoReadError(f"reading the video took longer than the {self.timeout:g} s limit")


def _strerror(err: Exception) -> str:
    text = getattr(err, "strerror", None) or str(err) or type(err).__name__
    return text[:1].lower() + text[1:]
