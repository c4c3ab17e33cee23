"""videomae-viz: a clean PyTorch VideoMAE with the tools to see how it works."""

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
