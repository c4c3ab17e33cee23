"""Request limits, request folders and files, and what a browser session keeps between events.

Outputs are written as files under a fresh per-request folder, so concurrent users never share a cache path; folders
older than the keep time are removed as new requests arrive.

Limits, each with an environment variable to change it: the upload size (``VIDEOMAE_VIZ_MAX_FILE_SIZE``, e.g.
"100mb"), the time one analysis may take (``VIDEOMAE_VIZ_REQUEST_SECONDS``) and how long output files are kept
(``VIDEOMAE_VIZ_KEEP_SECONDS``, also the age at which Gradio's upload and output cache is emptied).
"""

from __future__ import annotations

import logging
import math
import os
import re
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..pipeline import Analysis, Settings
from ..render import save_png

log = logging.getLogger(__name__)

MAX_FILE_SIZE_ENV = "VIDEOMAE_VIZ_MAX_FILE_SIZE"
REQUEST_SECONDS_ENV = "VIDEOMAE_VIZ_REQUEST_SECONDS"
KEEP_SECONDS_ENV = "VIDEOMAE_VIZ_KEEP_SECONDS"
OUTPUT_ROOT = Path(tempfile.gettempdir()) / "videomae-viz"
MAX_FILE_SIZE = "100mb"  # Gradio's size syntax: a whole number and a unit, b, kb, mb, gb or tb
REQUEST_SECONDS = 120.0
KEEP_SECONDS = 1800.0
SESSION_SECONDS = 1800  # how long a browser session's last analysis stays in memory
BY_HAND = "drawn by hand"
CACHE_SWEEP_SECONDS = 600  # how often Gradio looks for cached files older than the keep time


@dataclass
class Session:
    """What one browser session keeps between events: the last analysis, the chosen query token and the drawn
    mask with its runs."""

    preset: str
    settings: Settings
    analysis: Analysis
    query: tuple[int, int, int]
    clip: str = ""  # the analysed file's name, for the files a person downloads
    cached: bool = False  # the analysis was made for an earlier request with the same clip and settings
    drawn: np.ndarray | None = None  # (h, w) bool: the patch positions a person hid (True), through every frame
    drawn_origin: str = BY_HAND  # how the drawing started: by hand or from one of draw.STARTS
    drawn_runs: list[tuple] = field(default_factory=list)  # (run, origin, hidden share, decoder, interp, mean dB)


def max_file_size() -> str:
    """The upload size limit: VIDEOMAE_VIZ_MAX_FILE_SIZE if it is a valid size, else MAX_FILE_SIZE."""
    text = os.environ.get(MAX_FILE_SIZE_ENV, MAX_FILE_SIZE).strip().lower()
    if not re.fullmatch(r"[1-9]\d*\s*(b|kb|mb|gb|tb)", text):
        log.warning("%s=%r is not a size such as '100mb'; using %s", MAX_FILE_SIZE_ENV, text, MAX_FILE_SIZE)
        return MAX_FILE_SIZE
    return text


def _seconds(name: str, default: float) -> float:
    text = os.environ.get(name)
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (value > 0 and math.isfinite(value)):
        log.warning("%s=%r is not a positive number of seconds; using %g", name, text, default)
        return default
    return value


def request_seconds() -> float:
    """How long one analysis may take: VIDEOMAE_VIZ_REQUEST_SECONDS, else REQUEST_SECONDS."""
    return _seconds(REQUEST_SECONDS_ENV, REQUEST_SECONDS)


def keep_seconds() -> float:
    """How long output files are kept: VIDEOMAE_VIZ_KEEP_SECONDS, else KEEP_SECONDS."""
    return _seconds(KEEP_SECONDS_ENV, KEEP_SECONDS)


def request_folder() -> Path:
    """A new folder for one request's files; removes the folders last written more than the keep time ago."""
    OUTPUT_ROOT.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - keep_seconds()
    for old in OUTPUT_ROOT.iterdir():
        try:
            stale = old.is_dir() and old.stat().st_mtime < cutoff
        except OSError:  # a concurrent request removed it first
            continue
        if stale:
            shutil.rmtree(old, ignore_errors=True)
    folder = OUTPUT_ROOT / uuid.uuid4().hex
    folder.mkdir()
    return folder


def request_png(image: np.ndarray, folder: Path, name: str) -> str:
    """Save ``image`` as ``folder/name.png`` -> its path, as Gradio's image outputs take it."""
    return str(save_png(image, folder / f"{name}.png"))
