"""Test inputs made on the spot with PyAV and Pillow: clips whose frames carry their own index, and bad files.

The pattern of frame ``i`` (upright, ``width`` x ``height``): the top three quarters are a 3 x 4 grid of cells, one
bit of ``i`` each (white = 1, black = 0, most significant bit top left, so indices up to 4095 read back); the bottom
quarter is a red | green | blue colour bar, which shows the channel order and which way up the frame is. Both survive
lossy codecs, chroma subsampling, palettes and downscaling.
"""

from __future__ import annotations

import io
from contextlib import ExitStack
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

import av
import numpy as np
from av.stream import Disposition
from PIL import Image

from videomae_viz.video_io import Clip

GRID_ROWS, GRID_COLS = 3, 4
MAX_INDEX = 2 ** (GRID_ROWS * GRID_COLS) - 1
BAR_COLOURS = ((255, 0, 0), (0, 255, 0), (0, 0, 255))


def _edges(length: int, count: int) -> list[int]:
    return [round(k * length / count) for k in range(count + 1)]


def pattern_frame(index: int, width: int, height: int, *, texture: bool = False) -> np.ndarray:
    """The upright pattern of frame ``index``: (height, width, 3) uint8 RGB.

    ``texture`` adds scrolling blocky noise of amplitude 40, so that decoding costs about what camera footage costs;
    the bits and the colour bar still read back.
    """
    if not 0 <= index <= MAX_INDEX:
        raise ValueError(f"index {index} does not fit in {GRID_ROWS * GRID_COLS} bits")
    frame = np.zeros((height, width, 3), np.uint8)
    grid_h = height * 3 // 4
    ys, xs = _edges(grid_h, GRID_ROWS), _edges(width, GRID_COLS)
    for bit in range(GRID_ROWS * GRID_COLS):
        if index >> (GRID_ROWS * GRID_COLS - 1 - bit) & 1:
            r, c = divmod(bit, GRID_COLS)
            frame[ys[r] : ys[r + 1], xs[c] : xs[c + 1]] = 255
    bar_xs = _edges(width, 3)
    for k, colour in enumerate(BAR_COLOURS):
        frame[grid_h:, bar_xs[k] : bar_xs[k + 1]] = colour
    if texture:
        noise = np.roll(_noise(width, height), 3 * index, axis=1)
        frame = np.clip(frame.astype(np.int16) + noise, 0, 255).astype(np.uint8)
    return frame


@lru_cache(maxsize=4)
def _noise(width: int, height: int) -> np.ndarray:
    """Fixed blocky noise in [-40, 40]: (height, width, 1) int16."""
    tile = np.random.default_rng(0).integers(-40, 41, size=(-(-height // 4), -(-width // 4)), dtype=np.int16)
    return np.repeat(np.repeat(tile, 4, axis=0), 4, axis=1)[:height, :width, None]


def read_index(frame: np.ndarray) -> int:
    """The index shown by an upright pattern frame of any size: (H, W, 3) uint8 -> int."""
    height, width = frame.shape[:2]
    luma = frame.astype(np.float32).mean(axis=2)
    ys, xs = _edges(height * 3 // 4, GRID_ROWS), _edges(width, GRID_COLS)
    index = 0
    for bit in range(GRID_ROWS * GRID_COLS):
        r, c = divmod(bit, GRID_COLS)
        y0, y1, x0, x1 = ys[r], ys[r + 1], xs[c], xs[c + 1]
        dy, dx = (y1 - y0) // 4, (x1 - x0) // 4
        index = index << 1 | int(luma[y0 + dy : y1 - dy, x0 + dx : x1 - dx].mean() > 128)
    return index


def bar_colours(frame: np.ndarray) -> np.ndarray:
    """Mean RGB of the middle of each colour-bar third of an upright pattern frame: (3, 3) float, one row a third."""
    height, width = frame.shape[:2]
    bar = frame[height * 3 // 4 + height // 16 : height - height // 16].astype(np.float32)
    xs, margin = _edges(width, 3), width // 24
    return np.stack([bar[:, xs[k] + margin : xs[k + 1] - margin].reshape(-1, 3).mean(axis=0) for k in range(3)])


def write_clip(
    path: str | Path,
    *,
    n_frames: int = 24,
    size: tuple[int, int] = (64, 48),
    fps: float = 25.0,
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    rotation: int = 0,
    sample_aspect_ratio: Fraction | None = None,
    texture: bool = False,
    audio: bool = False,
    seekable: bool = True,
    options: dict[str, str] | None = None,
    container_options: dict[str, str] | None = None,
) -> Path:
    """Encode pattern frames 0 .. ``n_frames - 1`` of ``size`` = (width, height) with ``codec`` / ``pix_fmt`` into
    ``path``; the container follows the file suffix. ``rotation`` is the display-matrix rotation in degrees
    counter-clockwise (as ``VideoFrame.rotation`` reads it back); ``audio`` adds a silent AAC track. An output that is
    not ``seekable`` is written as a live recording is: the muxer cannot go back to fill in duration or index."""
    path = Path(path)
    width, height = size
    rate = Fraction(fps).limit_denominator(1001)
    with ExitStack() as stack:
        target = str(path) if seekable else _Unseekable(stack.enter_context(open(path, "wb")))
        container = stack.enter_context(
            av.open(target, "w", format=path.suffix[1:] if not seekable else None, options=container_options or {})
        )
        stream = container.add_stream(codec, rate=rate, options=options or {})
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        if sample_aspect_ratio is not None:
            stream.codec_context.sample_aspect_ratio = sample_aspect_ratio
        if rotation:
            stream.set_display_rotation(rotation)
        sound = _audio_stream(container, "aac") if audio else None
        for i in range(n_frames):
            frame = av.VideoFrame.from_ndarray(pattern_frame(i, width, height, texture=texture), format="rgb24")
            frame = frame.reformat(format=pix_fmt)
            frame.pts, frame.time_base = i, 1 / rate
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
        if sound is not None:
            _mux_silence(container, sound, n_frames / fps)
    return path


class _Unseekable(io.RawIOBase):
    """A write-only file that cannot seek, like a pipe."""

    def __init__(self, file: BinaryIO) -> None:
        self.file = file

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:
        return self.file.write(data)


def _restamp(chunk: Path, path: Path, schedule) -> None:
    """Stream-copy the video packets of ``chunk`` into ``path`` with new times: ``schedule(packets, time_base)``
    yields (packet, pts, dts) in output order, so a packet may be written more than once."""
    with av.open(str(chunk)) as source:
        template = source.streams.video[0]
        packets = [p for p in source.demux(template) if p.size]
        with av.open(str(path), "w") as target:
            stream = target.add_stream_from_template(template)
            for packet, pts, dts in schedule(packets, template.time_base):
                copy = av.Packet(bytes(packet))
                copy.pts, copy.dts = pts, dts
                copy.time_base, copy.is_keyframe, copy.stream = packet.time_base, packet.is_keyframe, stream
                target.mux(copy)


def write_long_clip(
    path: str | Path, *, minutes: float = 10.0, size: tuple[int, int] = (1280, 720), fps: int = 30, gop_seconds: int = 2
) -> Path:
    """A long H.264 MP4 made in seconds: one ``gop_seconds`` GOP of textured pattern frames is encoded (x264
    veryfast, B-frames, a keyframe every ``gop_seconds`` as cameras do), then its packets are stream-copied again
    and again with shifted timestamps. Frame ``i`` of the result shows pattern index ``i % (fps * gop_seconds)``."""
    path = Path(path)
    chunk = write_clip(
        path.with_name(path.stem + "-gop.mp4"),
        n_frames=fps * gop_seconds,
        size=size,
        fps=fps,
        texture=True,
        options={"preset": "veryfast", "g": str(fps * gop_seconds), "sc_threshold": "0"},
    )
    repeats = round(minutes * 60 / gop_seconds)

    def schedule(packets: list, time_base: Fraction):
        step = round(gop_seconds / time_base)
        return ((p, p.pts + r * step, p.dts + r * step) for r in range(repeats) for p in packets)

    _restamp(chunk, path, schedule)
    chunk.unlink()
    return path


def write_audio(path: str | Path, codec: str, *, seconds: float = 0.5, cover: bool = False) -> Path:
    """An audio-only file of ``seconds`` of silence, with a JPEG cover picture (an attached-picture video stream,
    as music files have) if ``cover``."""
    path = Path(path)
    with av.open(str(path), "w") as container:
        sound = _audio_stream(container, codec)
        if cover:
            picture = container.add_stream("mjpeg", rate=1)
            picture.width, picture.height, picture.pix_fmt = 32, 32, "yuvj420p"
            picture.disposition = Disposition.attached_pic
            frame = av.VideoFrame.from_ndarray(pattern_frame(7, 32, 32), format="rgb24").reformat(format="yuvj420p")
            frame.pts, frame.time_base = 0, Fraction(1)
            for packet in picture.encode(frame) + picture.encode(None):
                container.mux(packet)
        _mux_silence(container, sound, seconds)
    return path


def _audio_stream(container: av.container.OutputContainer, codec: str) -> av.audio.stream.AudioStream:
    stream = container.add_stream(codec, rate=16000)
    stream.layout = "mono"
    return stream


def _mux_silence(container: av.container.OutputContainer, stream: av.audio.stream.AudioStream, seconds: float) -> None:
    sample_format = stream.codec_context.codec.audio_formats[0].name
    dtype = {"flt": np.float32, "fltp": np.float32, "s16": np.int16, "s16p": np.int16, "s32p": np.int32}[sample_format]
    chunk = stream.codec_context.frame_size or 1024
    for start in range(0, int(seconds * 16000), chunk):
        frame = av.AudioFrame.from_ndarray(np.zeros((1, chunk), dtype), format=sample_format, layout="mono")
        frame.sample_rate, frame.pts = 16000, start
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


def write_image(path: str | Path, image_format: str) -> Path:
    """A pattern picture saved by Pillow as ``image_format`` (e.g. "PNG", "JPEG"), whatever the suffix of ``path``."""
    path = Path(path)
    Image.fromarray(pattern_frame(5, 64, 48)).save(path, format=image_format)
    return path


def write_truncated(source: str | Path, path: str | Path, fraction: float) -> Path:
    """The first ``fraction`` of the bytes of ``source``, as a cut-off download would leave them."""
    data = Path(source).read_bytes()
    path = Path(path)
    path.write_bytes(data[: int(len(data) * fraction)])
    return path


def write_blanked_payload(source: str | Path, path: str | Path) -> Path:
    """``source`` (an MP4) with every byte of its media data (the mdat box) zeroed: a well-formed index over
    frames that do not decode."""
    data = bytearray(Path(source).read_bytes())
    at = data.index(b"mdat") - 4
    size = int.from_bytes(data[at : at + 4], "big")
    data[at + 8 : at + size] = bytes(size - 8)
    path = Path(path)
    path.write_bytes(bytes(data))
    return path


def write_unknown_codec(path: str | Path) -> Path:
    """An MJPEG AVI whose codec tag is rewritten to a FourCC no decoder claims."""
    path = Path(path)
    write_clip(path, n_frames=5, codec="mjpeg", pix_fmt="yuvj420p")
    path.write_bytes(path.read_bytes().replace(b"MJPG", b"ZQ9X"))
    return path


def write_y4m_header(path: str | Path, width: int, height: int) -> Path:
    """A YUV4MPEG2 file that claims ``width`` x ``height`` frames but holds only a few kilobytes of data."""
    path = Path(path)
    header = f"YUV4MPEG2 W{width} H{height} F25:1 Ip A1:1 C420jpeg\nFRAME\n".encode()
    path.write_bytes(header + bytes(4096))
    return path


def write_sparse_clip(path: str | Path, *, frames: int = 3, seconds_apart: float = 18000.0) -> Path:
    """An MP4 of ``frames`` pattern frames ``seconds_apart`` from each other (by default 3 frames over 10 hours):
    a legitimate file whose duration is absurd for its content. Made by stream-copying keyframes with new times."""
    path = Path(path)
    chunk = write_clip(path.with_name(path.stem + "-frames.mp4"), n_frames=frames, options={"g": "1", "bf": "0"})

    def schedule(packets: list, time_base: Fraction):
        step = round(seconds_apart / time_base)
        return ((p, k * step, k * step) for k, p in enumerate(packets))

    _restamp(chunk, path, schedule)
    chunk.unlink()
    return path


def assert_frames_match_indices(clip: Clip, modulo: int | None = None) -> None:
    """Each returned frame shows the pattern of the index the clip reports for it."""
    shown = [read_index(frame) for frame in clip.frames]
    expected = [i % modulo if modulo else i for i in clip.indices]
    assert shown == expected
