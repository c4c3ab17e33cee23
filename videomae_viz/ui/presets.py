"""Which models and clips the app offers: the default preset, one pipeline per preset per process, example clips."""

from __future__ import annotations

import functools
import json
import logging
import os
import threading

import gradio as gr

from ..checkpoints import ASSETS, CheckpointError
from ..pipeline import DEFAULT_PRESET, PRESETS, VideoMAEPipeline
from .errors import refuse

log = logging.getLogger(__name__)

PRESET_ENV = "VIDEOMAE_VIZ_PRESET"  # a Space picks its default preset with this variable

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


def default_preset() -> str:
    """The preset the page opens with: VIDEOMAE_VIZ_PRESET if it names one, else DEFAULT_PRESET."""
    name = os.environ.get(PRESET_ENV, DEFAULT_PRESET)
    if name not in PRESETS:
        log.warning("%s=%r is not a preset; using %s", PRESET_ENV, name, DEFAULT_PRESET)
        return DEFAULT_PRESET
    return name
