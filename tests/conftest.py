"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import server
from tests.clips import write_long_clip


@pytest.fixture(scope="session")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 10-minute 1280x720 30 fps H.264 MP4 with a keyframe every 2 s; frame i shows pattern index i % 60."""
    return write_long_clip(tmp_path_factory.mktemp("long") / "ten-minutes.mp4")


@pytest.fixture(scope="session")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[server.AppServer]:
    """One app for the whole session, on a free port of 127.0.0.1, with the limits of ``server.SETTINGS``; stopped
    at the end of the session, also when a test fails."""
    try:
        proc, app = server.start(tmp_path_factory.mktemp("server"))
    except server.ServerError as err:
        pytest.fail(str(err))
    try:
        yield app
    finally:
        server.stop(proc)


@pytest.fixture(scope="session")
def app_url(app_server: server.AppServer) -> str:
    """The shared app's address, e.g. http://127.0.0.1:PORT/."""
    return app_server.url
