"""Generated H.264 test videos, written once into the cache: a moving diagonal gradient, cheap to encode.

x264 with the ultrafast preset and a keyframe every two seconds (no scene-cut keyframes), as cameras and
streaming sites space them; 30 fps, yuv420p. Frames are made directly in YUV (a rolled luma ramp, slowly shifting
chroma), so making a 10-minute 720p clip costs little more than encoding it.
"""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

log = logging.getLogger(__name__)

FPS = 30
GOP_SECONDS = 2


def _yuv_frame(phase: np.ndarray, width: int, height: int, i: int) -> np.ndarray:
    """Frame ``i`` as a (height * 3 / 2, width) yuv420p plane stack; ``phase`` is each pixel's uint8 ramp offset."""
    shifted = phase + np.uint8(3 * i % 256)  # wraps around modulo 256
    ramp = np.where(shifted < 128, shifted, 255 - shifted) * np.uint8(2)  # triangle wave 0..254
    chroma = np.full((height // 2, width // 2), 128, np.uint8)
    u = (chroma + (i // 4) % 64).reshape(height // 4, width)
    v = (chroma - (i // 8) % 64).reshape(height // 4, width)
    return np.concatenate([ramp, u, v])


def gradient_clip(path: Path, seconds: float, size: tuple[int, int]) -> Path:
    """The clip at ``path`` (written first when missing): ``seconds`` long, ``size`` = (width, height), even."""
    if path.is_file():
        return path
    width, height = size
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.stem + ".partial.mp4")
    log.info("writing %.0f s of %dx%d video to %s (once)", seconds, width, height, path)
    ys, xs = np.mgrid[0:height, 0:width]
    phase = ((xs + ys // 2) % 256).astype(np.uint8)
    options = {"preset": "ultrafast", "g": str(FPS * GOP_SECONDS), "keyint_min": str(FPS * GOP_SECONDS),
               "sc_threshold": "0"}
    with av.open(str(partial), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(FPS), options=options)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(round(seconds * FPS)):
            frame = av.VideoFrame.from_ndarray(_yuv_frame(phase, width, height, i), format="yuv420p")
            frame.pts, frame.time_base = i, Fraction(1, FPS)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    partial.rename(path)
    return path


def decode_whole(path: Path, seconds: float) -> int:
    """Decode every frame of the first ``seconds`` of ``path`` and convert each to a full-size RGB array, as a
    reader that decodes a whole video does. Returns the number of frames."""
    count = 0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            if frame.time >= seconds:
                break
            frame.to_ndarray(format="rgb24")
            count += 1
    return count
