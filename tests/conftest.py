"""Shared fixtures, and the ``slow`` marker for every test that needs one of the slow ones (the markers are declared
in pyproject.toml; ``pytest -m "not slow and not browser"`` runs the quick tests alone)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import server
from tests.clips import write_long_clip

# a running app; a 10-minute 720p clip written first; the CLI run in a subprocess over every bad clip
SLOW_FIXTURES = {"app_server", "app_url", "long_clip", "cli_run"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


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
