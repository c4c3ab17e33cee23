"""ZeroGPU: where the ``spaces`` package can be imported (a Hugging Face Space), the model work of each request runs
under ``@spaces.GPU``; elsewhere the handlers are used as they are.

ZeroGPU lends a GPU only inside a decorated call, so the handlers that run a model are decorated (classification
and reconstruction, the sweep, the JSON API, and attention redraws, whose class relevance runs a backward pass).
Weights are loaded when the app starts, as ZeroGPU expects (``preload``)."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from typing import TypeVar

from .presets import get_pipeline

log = logging.getLogger(__name__)

GPU_SECONDS = 120  # per request: ViT-L on 1568 tokens with its attention maps, and the 8-ratio sweep, fit in it
F = TypeVar("F", bound=Callable)


def _spaces():
    try:
        return importlib.import_module("spaces")
    except ImportError:
        return None


def on_gpu(handler: F) -> F:
    """``handler`` under ``@spaces.GPU(duration=GPU_SECONDS)`` where ``spaces`` is installed, else unchanged."""
    spaces = _spaces()
    return handler if spaces is None else spaces.GPU(duration=GPU_SECONDS)(handler)


def preload(preset: str) -> None:
    """On ZeroGPU, load a preset's weights at start-up rather than in the first request."""
    if _spaces() is not None:
        log.info("ZeroGPU: loading %s at start-up", preset)
        get_pipeline(preset)
