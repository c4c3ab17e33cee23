"""videomae-viz: a clean PyTorch VideoMAE with the tools to see how it works."""

from .checkpoints import CheckpointError, load_model, save_pretrained
from .config import VideoMAEConfig
from .masking import make_mask
from .model import VideoMAEForPreTraining, VideoMAEForVideoClassification, VideoMAEModel

__all__ = [
    "CheckpointError",
    "VideoMAEConfig",
    "VideoMAEForPreTraining",
    "VideoMAEForVideoClassification",
    "VideoMAEModel",
    "load_model",
    "make_mask",
    "save_pretrained",
]
