"""Which models and clips the app offers: the default preset, one pipeline per preset per process, example clips."""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

import gradio as gr
from PIL import Image

from ..checkpoints import ASSETS, CheckpointError
from ..pipeline import DEFAULT_PRESET, PRESETS, VideoMAEPipeline
from ..video_io import read_video
from .errors import refuse

log = logging.getLogger(__name__)

PRESET_ENV = "VIDEOMAE_VIZ_PRESET"  # a Space picks its default preset with this variable

THUMBNAIL_SIDE = 160  # the gallery shows the examples this big (long side, pixels)
_LOADING = threading.Lock()  # two first requests at once must not load the same weights twice


def get_pipeline(preset: str) -> VideoMAEPipeline:
    """A preset's pipeline, built once per process. Only known presets reach here (the UI offers no free text)."""
    if preset not in PRESETS:
        raise refuse(f"Unknown model preset {preset!r}.")
    with _LOADING:
        return _load_pipeline(preset)


@functools.lru_cache(maxsize=4)
def _load_pipeline(preset: str) -> VideoMAEPipeline:
    try:
        return VideoMAEPipeline.from_preset(preset)
    except CheckpointError as err:
        if preset == DEFAULT_PRESET:
            raise gr.Error(f"The embedded model could not be loaded: {err}") from None  # a fault: its traceback is logged
        raise refuse(f"{err}. Hub models need network access (or a local hub cache); the '{DEFAULT_PRESET}' "
                       "preset works offline.") from None


def example_clips() -> list[list]:
    """[[path, caption], ...] from assets/examples/index.json (empty when the examples are absent): the true label of
    a generated clip, the description of a real one."""
    index = ASSETS / "examples" / "index.json"
    if not index.is_file():
        return []
    return [[str(ASSETS / "examples" / item["file"]), item["label"] or item["description"]]
            for item in json.loads(index.read_text())]


def example_thumbnails(examples: list[list]) -> list[tuple[str, str]]:
    """One thumbnail per example clip for the gallery: its middle frame as a PNG in a temporary folder, with a short
    caption (the file's name without its number and extension) -> [(png path, caption), ...]."""
    if not examples:
        return []
    folder = Path(tempfile.mkdtemp(prefix="videomae-viz-examples-"))
    thumbnails = []
    for path, _ in examples:
        clip = read_video(path, num_frames=1, max_side=THUMBNAIL_SIDE)
        png = folder / (Path(path).stem + ".png")
        Image.fromarray(clip.frames[0]).save(png)
        thumbnails.append((str(png), re.sub(r"^\d+_", "", Path(path).stem).replace("_", " ")))
    return thumbnails


def pick_example(examples: list[list]) -> Callable[[gr.SelectData], str]:
    """The gallery's select handler: the clicked thumbnail's clip, for the video box (then Analyse runs on it)."""

    def handler(evt: gr.SelectData) -> str:
        return examples[evt.index][0]

    handler.__name__ = "pick_example"
    return handler


def default_preset() -> str:
    """The preset the page opens with: VIDEOMAE_VIZ_PRESET if it names one, else DEFAULT_PRESET."""
    name = os.environ.get(PRESET_ENV, DEFAULT_PRESET)
    if name not in PRESETS:
        log.warning("%s=%r is not a preset; using %s", PRESET_ENV, name, DEFAULT_PRESET)
        return DEFAULT_PRESET
    return name
