"""transformers' VideoMAE, the reference: imported lazily, only by the benchmark (it is a test-only dependency)."""

from __future__ import annotations

import logging
from pathlib import Path
from types import ModuleType

from torch import nn

from ..config import VideoMAEConfig


class ReferenceMissing(Exception):
    """transformers is not installed."""


def transformers_module() -> ModuleType:
    """The transformers package, or ReferenceMissing with a one-line reason."""
    try:
        import transformers
    except ImportError:
        raise ReferenceMissing("the benchmark compares against transformers, a test-only dependency: "
                               "pip install -r requirements-test.txt") from None
    transformers.logging.set_verbosity_error()
    logging.getLogger("transformers").setLevel(logging.ERROR)
    return transformers


def load_reference(folder: str | Path, attn_implementation: str) -> nn.Module:
    """transformers' model for the checkpoint folder our ``save_pretrained`` wrote, with "sdpa" or "eager"
    attention, in eval mode."""
    transformers = transformers_module()
    architecture = VideoMAEConfig.from_json_file(Path(folder) / "config.json").architecture
    model = getattr(transformers, architecture).from_pretrained(str(folder), attn_implementation=attn_implementation)
    return model.eval()
