"""Which frames to sample (``sample_indices``), and the sampler that seeks to them and decodes them.

``read_video`` never decodes more than it needs. For each frame to sample it either decodes on from where it is, or
seeks back to the keyframe before the target and decodes forward from there, whichever skips more work, so a few
frames from a long video cost a few GOPs of decoding, not the whole file. Only the frames kept are converted to RGB,
already downscaled by FFmpeg's scaler, so a 4K or 8K video never exists as a full-size RGB array.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import av
import av.error
import numpy as np
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from .errors import Deadline
from .probe import _check_size, _StreamInfo

__all__ = ["sample_indices"]

logger = logging.getLogger(__name__)

# Frames decoded forward towards one target before giving up and keeping the nearest one reached, as a pixel count:
# 300 frames at 720p (about half a second of decoding here), more for smaller frames and fewer for larger ones,
# within the two bounds.
FORWARD_BUDGET_PIXELS = 300 * 1280 * 720
MIN_FORWARD_BUDGET, MAX_FORWARD_BUDGET = 10, 1000
# Without a seek index, decode on rather than seek when the next target is at most this far ahead.
DECODE_ON_SECONDS = 2.0
# Non-reference frames more than this many frames before a target are not decoded at all: nothing is kept from them.
SKIP_MARGIN_FRAMES = 8
MAX_BAD_PACKETS = 100  # packets the decoder may reject in one pass before the rest of the file counts as unreadable


def sample_indices(
    num_source_frames: int, num_frames: int, *, start: int = 0, end: int | None = None, stride: int | None = None
) -> list[int]:
    """``num_frames`` source frame indices from the segment ``[start, end)`` (``end`` defaults to the clip end), in
    time order.

    Without ``stride``: the centre frame of each of ``num_frames`` equal parts of the segment, i.e.
    ``start + floor((i + 0.5) * (end - start) / num_frames)``. With ``stride``: ``s, s + stride, s + 2 * stride, ...``
    with the window centred in the segment (VideoMAE's 16x4 sampling is ``num_frames=16, stride=4``).

    When the segment holds fewer frames than asked for (or, with ``stride``, fewer than ``num_frames`` frames
    ``stride`` apart), the frames it has are repeated, each standing in for the requested positions nearest to it,
    so the result keeps time order; the caller decides how to tell the user.
    """
    if num_source_frames < 1 or num_frames < 1:
        raise ValueError(f"need a source frame and a frame to sample, got {num_source_frames} and {num_frames}")
    end = num_source_frames if end is None else end
    if not 0 <= start < end <= num_source_frames:
        raise ValueError(f"segment [{start}, {end}) is not inside [0, {num_source_frames})")
    length = end - start
    if stride is None:
        return [start + (2 * i + 1) * length // (2 * num_frames) for i in range(num_frames)]
    if stride < 1:
        raise ValueError(f"stride must be at least 1, got {stride}")
    window = (num_frames - 1) * stride + 1
    if window <= length:
        first = start + (length - window) // 2
        return [first + i * stride for i in range(num_frames)]
    available = (length - 1) // stride + 1
    first = start + (length - 1 - (available - 1) * stride) // 2
    return [first + stride * ((2 * i + 1) * available // (2 * num_frames)) for i in range(num_frames)]


@dataclass
class _Timed:
    time: float  # seconds from the start of the stream
    frame: VideoFrame


@dataclass
class _Picked:
    target: int
    index: int
    time: float
    rgb: np.ndarray


@dataclass
class _Pass:
    picked: list[_Picked]
    quarter_turns: int  # counter-clockwise quarter turns the display-matrix rotation asks for, 0 to 3
    source_size: tuple[int, int]
    approximate: int  # targets left at the nearest frame reached within the forward-decoding budget
    last_index: int  # highest frame index decoded, -1 for none
    short: bool  # some targets lay beyond the last frame that could be decoded


class _Sampler:
    """Walks one stream forward, seeking when that skips decoding, keeping the frame nearest each target time.

    The forward-decoding budget bounds the work per target: a target further than that from the keyframe before it
    gets the frame reached when the budget runs out (an honest, approximate pick). Where seeking does not work (it
    lands at the start, as in GIF), everything is decoded in order without a budget, bounded by the timeout.
    """

    def __init__(
        self,
        container: av.container.InputContainer,
        stream: VideoStream,
        info: _StreamInfo,
        max_side: int,
        deadline: Deadline,
    ) -> None:
        self.container, self.stream, self.info = container, stream, info
        self.max_side, self.deadline = max_side, deadline
        self.half_frame = 0.5 / info.fps
        area = max(1, stream.codec_context.width * stream.codec_context.height)
        self.budget: int | None = min(MAX_FORWARD_BUDGET, max(MIN_FORWARD_BUDGET, FORWARD_BUDGET_PIXELS // area))
        self.index = stream.index_entries
        self.packets = container.demux(stream)
        self.pending: list[VideoFrame] = []
        self.previous: _Timed | None = None
        self.current: _Timed | None = None
        self.at_end = False
        self.bad_packets = 0
        self.last_index = -1
        self.out_size: tuple[int, int] | None = None
        self.quarter_turns = 0
        self.source_size = (0, 0)
        self.approximate = 0
        self.short = False
        self.skip_until: float | None = None
        self.skipping = False

    def run(self, targets: list[int]) -> _Pass:
        picked: list[_Picked] = []
        for target in sorted(set(targets)):
            timed = self._frame_for(target / self.info.fps)
            if timed is None:
                continue
            if picked and picked[-1].time == timed.time:
                rgb = picked[-1].rgb
            else:
                rgb = self._to_rgb(timed.frame)
            picked.append(_Picked(target, self._index_of(timed.time), timed.time, rgb))
        return _Pass(picked, self.quarter_turns, self.source_size, self.approximate, self.last_index, self.short)

    def _frame_for(self, when: float) -> _Timed | None:
        """The decoded frame nearest ``when`` (seconds from the stream start), None if none could be decoded; counts
        the targets left at an approximate frame (budget spent) or beyond the end of the decodable data."""
        if not self._reached(when) and not self.at_end:
            self.skip_until = when - SKIP_MARGIN_FRAMES / self.info.fps
            if self._should_seek(when):
                self._seek_before(when)
            decoded = 0
            while not self._reached(when):
                if self.budget is not None and decoded >= self.budget:
                    logger.debug("forward budget of %d frames spent short of %.3f s", self.budget, when)
                    self.approximate += 1
                    return self.current
                timed = self._next()
                if timed is None:
                    break
                self.previous, self.current = self.current, timed
                decoded += 1
        if self._reached(when):
            return self._nearer(when)
        if self.current is None or when - self.current.time > 3 * self.half_frame:
            self.short = True
        return self.current

    def _reached(self, when: float) -> bool:
        return self.current is not None and self.current.time >= when - self.half_frame

    def _nearer(self, when: float) -> _Timed:
        assert self.current is not None
        if self.previous is not None and when - self.previous.time <= self.current.time - when:
            return self.previous
        return self.current

    def _should_seek(self, when: float) -> bool:
        if self.budget is None:
            return False
        here = self.current.time if self.current else 0.0
        keyframe = self._keyframe_before(when)
        if keyframe is not None:
            return keyframe > here + self.half_frame
        return when - here > DECODE_ON_SECONDS

    def _keyframe_before(self, when: float) -> float | None:
        """Time of the last keyframe at or before ``when`` by the container's index, if it has one."""
        if not len(self.index):
            return None
        time_base = self.stream.time_base
        position = self.index.search_timestamp(int((when + self.info.start) / time_base), backward=True)
        if position < 0:
            return None
        return float(self.index[position].timestamp * time_base) - self.info.start

    def _seek_before(self, when: float) -> None:
        """Seek to the keyframe before ``when``; leaves the first frame after it in ``current``."""
        for back in (0.0, 1.0, 4.0, 16.0, math.inf):
            target = max(when - back, 0.0)
            try:
                self._seek(target)
            except av.error.ExitError:
                raise
            except av.FFmpegError as err:
                logger.debug("seek to %.3f s failed (%s); decoding on without seeking", target, err)
                self.budget = None
                return
            first = self._next()
            self.current = first
            if first is None or first.time <= when + self.half_frame or target == 0.0:
                break
            logger.debug("seek to %.3f s landed at %.3f s; seeking further back", target, first.time)
        landed_at_start = self.current is not None and self.current.time < self.half_frame
        if landed_at_start and self.budget is not None and when * self.info.fps > self.budget:
            logger.debug("seeking to %.3f s landed at the start: this stream cannot seek", when)
            self.budget = None

    def _seek(self, when: float) -> None:
        time_base = self.stream.time_base
        self.container.seek(int(math.floor((when + self.info.start) / time_base)), stream=self.stream, backward=True)
        self.packets = self.container.demux(self.stream)
        self.pending.clear()
        self.previous = self.current = None
        self.at_end = False
        self.bad_packets = 0

    def _next(self) -> _Timed | None:
        """The next decoded frame, or None at the end of what can be decoded."""
        while not self.pending:
            if self.at_end:
                return None
            self.deadline.check()
            try:
                packet = next(self.packets, None)
            except av.error.ExitError:
                raise
            except av.FFmpegError as err:
                logger.debug("demuxing stopped: %s", err)
                packet = None
            if packet is None:
                self.at_end = True
                return None
            skip = self.skip_until is not None and packet.pts is not None and packet.time_base is not None
            skip = skip and float(packet.pts * packet.time_base) - self.info.start < self.skip_until
            if skip != self.skipping:
                self.stream.codec_context.skip_frame = "NONREF" if skip else "DEFAULT"
                self.skipping = skip
            try:
                self.pending.extend(packet.decode())
            except av.error.ExitError:
                raise
            except av.FFmpegError as err:
                self.bad_packets += 1
                logger.debug("the decoder rejected a packet: %s", err)
                if self.bad_packets > MAX_BAD_PACKETS:
                    self.at_end = True
        frame = self.pending.pop(0)
        if frame.time is not None:
            when = float(frame.time) - self.info.start
        elif self.current is not None:
            when = self.current.time + 1 / self.info.fps
        else:
            when = 0.0
        self.last_index = max(self.last_index, self._index_of(when))
        return _Timed(when, frame)

    def _index_of(self, when: float) -> int:
        return max(0, round(when * self.info.fps))

    def _to_rgb(self, frame: VideoFrame) -> np.ndarray:
        """(H, W, 3) uint8 RGB at the output size, set by the first frame converted; rotation is applied later."""
        if self.out_size is None:
            _check_size(frame.width, frame.height)
            width = max(1, round(frame.width * self.info.sample_aspect_ratio))
            height = frame.height
            scale = min(1.0, self.max_side / max(width, height))
            self.out_size = (max(1, round(width * scale)), max(1, round(height * scale)))
            self.quarter_turns = round(frame.rotation / 90) % 4
            self.source_size = (height, width) if self.quarter_turns % 2 else (width, height)
        width, height = self.out_size
        shrink = width * height < frame.width * frame.height
        return frame.to_ndarray(
            format="rgb24", width=width, height=height, interpolation="AREA" if shrink else "BICUBIC"
        )


