"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.clips import write_long_clip


@pytest.fixture(scope="session")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 10-minute 1280x720 30 fps H.264 MP4 with a keyframe every 2 s; frame i shows pattern index i % 60."""
    return write_long_clip(tmp_path_factory.mktemp("long") / "ten-minutes.mp4")
