"""``read_video``: frames sampled from a video file as a ``Clip``, with notes on what was approximated.

It probes the file (``probe``), picks the frames to sample (``sample_indices``) and lets the ``sampler`` decode
them, sampling again over the part that decodes when a file ends early. Every failure to read the input comes out as
one ``VideoReadError`` with a short reason a person can act on.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path

import av
import av.error
import numpy as np

from .errors import Deadline, VideoReadError, _strerror
from .probe import _check_file, _open, _stream_info, _StreamInfo, _video_stream
from .sampler import _Pass, _Picked, _Sampler, sample_indices

__all__ = ["Clip", "read_video"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Clip:
    """Frames sampled from a video, with where they came from."""

    frames: np.ndarray  # (T, H, W, 3) uint8 RGB, rotation metadata already applied
    indices: tuple[int, ...]  # source frame index of each returned frame (from its timestamp); len T
    times: tuple[float, ...]  # presentation time of each returned frame, seconds from the start of the stream
    fps: float  # average frame rate of the source stream
    duration: float  # seconds of the source stream
    source_size: tuple[int, int]  # (width, height) as displayed (after rotation), before any downscale
    notes: tuple[str, ...]  # human-readable remarks, e.g. that frames were repeated


def read_video(
    path: str | os.PathLike,
    num_frames: int = 16,
    *,
    start: float | None = None,
    end: float | None = None,
    stride: int | None = None,
    spread_if_short: bool = False,
    max_side: int = 640,
    timeout: float = 30.0,
) -> Clip:
    """Decode ``num_frames`` RGB frames sampled from the video at ``path`` (see ``sample_indices``), as a ``Clip``
    with ``frames`` (T, H, W, 3) uint8.

    ``start`` / ``end`` pick a segment in seconds from the start of the video, ``stride`` is in source frames. With
    ``spread_if_short``, a segment too short for ``num_frames`` frames ``stride`` apart is sampled evenly instead (a
    model's default sampling, rather than a stride the user asked for), with a note.
    Frames whose long side (as displayed) exceeds ``max_side`` are shrunk by FFmpeg's scaler, keeping the aspect
    ratio, before they ever become RGB arrays. Rotation metadata and non-square pixels are applied.

    Frame counts come from the container; where it has neither a frame count nor a duration (e.g. a raw stream or a
    live-recorded WebM), the packets are counted first, which reads the file but decodes nothing. Formats that cannot
    seek (GIF) are decoded from the start, which is what a short clip costs anyway.

    ``indices`` are frame timestamps times the average frame rate, rounded (exact for constant-frame-rate video), so
    they say honestly which frames came back, also where a frame could only be approximated (see ``_Sampler``).

    A file that ends early (a truncated download, even one whose index promises more) gives the frames that can be
    decoded: sampling is redone over the part that decodes, with a note. Raises ``VideoReadError`` for any input
    that cannot be read, including one that takes longer than ``timeout`` seconds; ``ValueError`` for bad arguments.
    """
    if num_frames < 1 or max_side < 1 or timeout <= 0 or (stride is not None and stride < 1):
        raise ValueError(f"bad arguments: {num_frames=}, {max_side=}, {timeout=}, {stride=}")
    if (start is not None and start < 0) or (end is not None and end <= (start or 0.0)):
        raise ValueError(f"bad segment: {start=}, {end=}")
    path = Path(path)
    deadline = Deadline.after(timeout)
    try:
        return _read_video(path, num_frames, start, end, stride, spread_if_short, max_side, deadline)
    except VideoReadError:
        raise
    except av.error.ExitError as err:
        raise deadline.error() from err
    except av.FFmpegError as err:
        raise VideoReadError(f"FFmpeg could not read the video: {_strerror(err)}") from err
    except MemoryError as err:
        raise VideoReadError("the video is too large to decode in the memory available") from err
    except OSError as err:
        raise VideoReadError(f"the file could not be read: {(err.strerror or str(err)).lower()}") from err
    except Exception as err:
        logger.exception("unexpected error while reading %s", path)
        raise VideoReadError(f"the video could not be decoded ({type(err).__name__})") from err


def _read_video(
    path: Path,
    num_frames: int,
    start: float | None,
    end: float | None,
    stride: int | None,
    spread_if_short: bool,
    max_side: int,
    deadline: Deadline,
) -> Clip:
    _check_file(path)
    notes = []
    with _open(path, deadline) as container:
        stream = _video_stream(container)
        info = _stream_info(path, container, stream, deadline)
        first, stop = _segment(info, start, end)
        if stride is not None and spread_if_short and (num_frames - 1) * stride + 1 > stop - first:
            notes.append(f"the clip is shorter than {num_frames} frames {stride} apart, so its frames were spread "
                         "evenly over it")
            stride = None
        targets = sample_indices(info.num_frames, num_frames, start=first, end=stop, stride=stride)
        result = _Sampler(container, stream, info, max_side, deadline).run(targets)
    if result.short and result.last_index >= first:
        decoded_until = result.last_index + 1
        if decoded_until < stop:
            logger.info("%s decodes only up to frame %d of %d; sampling again", path, decoded_until, info.num_frames)
            if stop - decoded_until > max(info.fps, 0.05 * (stop - first)):  # not just a duration rounded up
                notes.append(
                    f"the file seems truncated: frames decode only up to {decoded_until / info.fps:.2f} s of "
                    f"{info.duration:.2f} s, so frames were sampled from that part"
                )
            stop = decoded_until
            targets = sample_indices(info.num_frames, num_frames, start=first, end=stop, stride=stride)
            with _open(path, deadline) as container:
                stream = _video_stream(container)
                result = _Sampler(container, stream, info, max_side, deadline).run(targets)
    if not result.picked:
        raise VideoReadError("the file is truncated or corrupt: no frame could be decoded")
    notes.extend(_notes(result, targets, info, first, stop, num_frames, stride))
    by_target = {p.target: p for p in result.picked}
    chosen = [by_target.get(t) or _nearest(result.picked, t) for t in targets]
    frames = np.stack([p.rgb for p in chosen])
    if result.quarter_turns:
        frames = np.ascontiguousarray(np.rot90(frames, result.quarter_turns, axes=(1, 2)))
    return Clip(
        frames=frames,
        indices=tuple(p.index for p in chosen),
        times=tuple(p.time for p in chosen),
        fps=info.fps,
        duration=info.duration,
        source_size=result.source_size,
        notes=tuple(notes),
    )


def _notes(
    result: _Pass, targets: list[int], info: _StreamInfo, first: int, stop: int, num_frames: int, stride: int | None
) -> list[str]:
    notes = []
    unique = len(set(targets))
    if unique < num_frames:
        whole = first == 0 and stop == info.num_frames
        what = f"the {'clip' if whole else 'segment'} has {stop - first} frame{'s' if stop - first != 1 else ''}"
        if stride is not None and stop - first >= num_frames:
            what += f", too few for {num_frames} frames {stride} apart"
        notes.append(f"{what}; frames were repeated to make {num_frames}")
    if result.approximate:
        worst = max(abs(p.time - (p.target / info.fps)) for p in result.picked)
        notes.append(
            f"{result.approximate} of {unique} frames are up to {worst:.2f} s from the requested times: "
            "keyframes are far apart in this video"
        )
    turn = ("", "90° counter-clockwise", "180°", "90° clockwise")[result.quarter_turns]
    if turn:
        notes.append(f"rotation metadata applied: the video is turned {turn} for display")
    return notes


def _nearest(picked: list[_Picked], target: int) -> _Picked:
    return min(picked, key=lambda p: (abs(p.target - target), p.target))


def _segment(info: _StreamInfo, start: float | None, end: float | None) -> tuple[int, int]:
    """[first, stop) frame indices of the segment given in seconds; at least one frame."""
    first = 0 if start is None else math.ceil(start * info.fps - 1e-6)
    if first >= info.num_frames:
        raise VideoReadError(f"the segment starts at {start:g} s, after the end of the video ({info.duration:.2f} s)")
    stop = info.num_frames if end is None else min(info.num_frames, math.ceil(end * info.fps - 1e-6))
    return first, max(stop, first + 1)
