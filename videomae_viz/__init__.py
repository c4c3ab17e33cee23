"""videomae-viz: a clean PyTorch VideoMAE with the tools to see how it works.

The runtime: ``config``, ``model`` (with ``kernels``, how attention is computed), ``checkpoints``, ``preprocess``,
``video_io``, ``masking``, ``patches``, ``fills`` and ``reconstruction``, ``attention``, ``views``, ``pipeline``,
``render`` and ``exports``, the ``cli`` and the Gradio app in ``ui``. Apart from it: ``embedded`` (the recipes that
train the shipped models) and ``bench`` (measurements). README's Layout section lists every module.
"""

from .checkpoints import CheckpointError, load_model, save_pretrained
from .config import VideoMAEConfig
from .masking import make_mask
from .model import VideoMAEForPreTraining, VideoMAEForVideoClassification, VideoMAEModel
from .preprocess import VideoMAEProcessor, load_processor
from .video_io import Clip, VideoReadError, read_video

__all__ = [
    "CheckpointError",
    "Clip",
    "VideoMAEConfig",
    "VideoMAEForPreTraining",
    "VideoMAEForVideoClassification",
    "VideoMAEModel",
    "VideoMAEProcessor",
    "VideoReadError",
    "load_model",
    "load_processor",
    "make_mask",
    "read_video",
    "save_pretrained",
]
