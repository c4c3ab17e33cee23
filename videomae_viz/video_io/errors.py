"""The one error for unreadable input, ``VideoReadError``, and the time-limit check that ends a read with it."""

from __future__ import annotations

import time

__all__ = ["VideoReadError"]


class VideoReadError(Exception):
    """The one error type for any unreadable input; ``str(err)`` is a one-line reason for a person to read, e.g.
    'the file is empty', 'not a video: it is a PNG image', 'no video stream (audio only)'."""


def _check_deadline(deadline: float, timeout: float) -> None:
    if time.monotonic() > deadline:
        raise VideoReadError(_timeout_reason(timeout))


def _timeout_reason(timeout: float) -> str:
    return f"reading the video took longer than the {timeout:g} s limit"


def _strerror(err: Exception) -> str:
    text = getattr(err, "strerror", None) or str(err) or type(err).__name__
    return text[:1].lower() + text[1:]
