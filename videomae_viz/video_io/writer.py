"""MP4 out: ``write_mp4`` encodes RGB frames as H.264 that browsers play."""

from __future__ import annotations

import logging
import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.frame import VideoFrame

__all__ = ["write_mp4"]

logger = logging.getLogger(__name__)


def write_mp4(frames: np.ndarray, path: str | os.PathLike, fps: float = 8.0) -> Path:
    """Write (T, H, W, 3) uint8 RGB frames as an H.264 yuv420p MP4 that browsers play: BT.709 colours, odd sizes
    padded to even by repeating the last row / column, the index (moov atom) at the front. Returns the path."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or 0 in frames.shape:
        raise ValueError(f"expected (T, H, W, 3) uint8 frames, got {frames.shape} {frames.dtype}")
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    height, width = frames.shape[1:3]
    if height % 2 or width % 2:
        frames = np.pad(frames, ((0, 0), (0, height % 2), (0, width % 2), (0, 0)), mode="edge")
    path = Path(path)
    rate = Fraction(fps).limit_denominator(1001)
    codec = "libx264" if "libx264" in av.codecs_available else "h264"
    options = {"crf": "18", "preset": "veryfast"} if codec == "libx264" else {}
    with av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream(codec, rate=rate, options=options)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        context = stream.codec_context
        context.colorspace = context.color_primaries = context.color_trc = 1  # AVCOL_*_BT709
        context.color_range = 1  # AVCOL_RANGE_MPEG (limited)
        for i, rgb in enumerate(frames):
            frame = VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            frame = frame.reformat(format="yuv420p", dst_colorspace="ITU709", dst_color_range="MPEG")
            frame.pts, frame.time_base = i, 1 / rate
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    logger.debug("wrote %d frames of %dx%d to %s", len(frames), frames.shape[2], frames.shape[1], path)
    return path
