"""Opening and probing a video: the input checks (file, absurd sizes), the stream to decode, its frame rate, duration
and frame count (counting packets where the container does not say), and the reasons given for files FFmpeg cannot
open."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.error
from av.stream import Disposition
from av.video.stream import VideoStream

from .errors import Deadline, VideoReadError, _strerror

logger = logging.getLogger(__name__)

MAX_SOURCE_SIDE = 16384  # larger sides are rejected as absurd before anything is decoded
MAX_SOURCE_PIXELS = 8192 * 8192  # 8K (7680x4320) fits with room to spare
MAX_FPS = 1000.0  # frame rates above this are timestamp artefacts, not real rates
DEFAULT_FPS = 25.0

_IMAGE_NAMES = {
    "png": "PNG",
    "mjpeg": "JPEG",
    "jpegls": "JPEG-LS",
    "jpeg2000": "JPEG 2000",
    "jpegxl": "JPEG XL",
    "webp": "WebP",
    "bmp": "BMP",
    "tiff": "TIFF",
    "qoi": "QOI",
    "dds": "DDS",
    "exr": "OpenEXR",
    "psd": "Photoshop",
    "svg": "SVG",
}
_MAGIC = (  # (offset, bytes, reason) for files FFmpeg refuses to open, checked in order
    (0, b"\x89PNG", "not a video: it is a PNG image"),
    (0, b"\xff\xd8\xff", "not a video: it is a JPEG image"),
    (8, b"WEBP", "not a video: it is a WebP image"),
    (0, b"%PDF", "not a video: it is a PDF document"),
    (0, b"PK\x03\x04", "not a video: it is a ZIP archive"),
    (4, b"ftyp", "the file is truncated or corrupt: it starts like an MP4/MOV video, but its index is missing"),
    (0, b"\x1a\x45\xdf\xa3", "the file is truncated or corrupt: it starts like a Matroska/WebM video"),
    (8, b"AVI ", "the file is truncated or corrupt: it starts like an AVI video"),
    (0, b"GIF8", "the file is truncated or corrupt: it starts like a GIF"),
)


@dataclass(frozen=True)
class _StreamInfo:
    fps: float
    start: float  # presentation time of the first frame, seconds
    duration: float
    num_frames: int
    sample_aspect_ratio: Fraction  # width of a pixel over its height, 1 for square pixels


def _check_file(path: Path) -> None:
    if not path.exists():
        raise VideoReadError("the file does not exist")
    if path.is_dir():
        raise VideoReadError("it is a folder, not a video file")
    if path.stat().st_size == 0:
        raise VideoReadError("the file is empty")


def _open(path: Path, deadline: Deadline) -> av.container.InputContainer:
    remaining = deadline.left()
    if remaining <= 0:
        raise deadline.error()
    try:
        container = av.open(str(path), timeout=remaining, metadata_errors="ignore")
    except av.error.ExitError as err:
        raise deadline.error() from err
    except (av.FFmpegError, OSError) as err:
        raise VideoReadError(_open_failure(path, err)) from err
    logger.debug("opened %s as %s", path, container.format.name)
    return container


def _open_failure(path: Path, err: Exception) -> str:
    with open(path, "rb") as file:
        head = file.read(4096)
    for offset, magic, reason in _MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return reason
    if b"\0" not in head:
        try:
            head.decode("utf-8")
            return "not a video: it is a text file"
        except UnicodeDecodeError as decode_err:
            if decode_err.start >= len(head) - 3:  # a character cut by the 4 KiB read
                return "not a video: it is a text file"
    if isinstance(err, av.error.InvalidDataError):
        return "not a video: the file format was not recognised"
    return f"the file could not be opened: {_strerror(err)}"


def _video_stream(container: av.container.InputContainer) -> VideoStream:
    """The video stream to decode; rejects still images, audio and undecodable codecs."""
    streams = container.streams
    formats = container.format.name.split(",")
    if any(name.endswith("_pipe") or name == "image2" for name in formats):
        codec = streams.video[0].codec_context.name if streams.video and streams.video[0].codec_context else ""
        raise VideoReadError(f"not a video: it is a {_IMAGE_NAMES.get(codec, codec.upper() or 'still')} image")
    videos = [s for s in streams.video if not s.disposition & Disposition.attached_pic]
    if not videos:
        if streams.video:
            raise VideoReadError("no video stream (audio with a cover picture)" if streams.audio else "no video stream")
        raise VideoReadError("no video stream (audio only)" if streams.audio else "no video stream")
    stream = max(videos, key=lambda s: (bool(s.disposition & Disposition.default), _area(s)))
    if stream.codec_context is None:
        raise VideoReadError("unsupported codec: FFmpeg has no decoder for this video stream")
    for other in streams:
        if other is not stream:
            other.discard = av.stream.Discard.all
    stream.thread_type = "AUTO"
    return stream


def _area(stream: VideoStream) -> int:
    return stream.codec_context.width * stream.codec_context.height if stream.codec_context else 0


def _stream_info(
    path: Path, container: av.container.InputContainer, stream: VideoStream, deadline: Deadline
) -> _StreamInfo:
    context = stream.codec_context
    _check_size(context.width, context.height)
    time_base = stream.time_base
    start = float(stream.start_time * time_base) if stream.start_time is not None and time_base else 0.0
    if stream.duration and time_base:
        duration = float(stream.duration * time_base)
    else:  # Matroska's per-track tag, else the container's (of all streams: audio may outlast the video a little)
        duration = _tag_seconds(stream.metadata.get("DURATION", ""))
        if duration is None and container.duration:
            duration = container.duration / av.time_base
    num_frames = stream.frames if stream.frames > 0 else 0
    fps = _frame_rate(stream, num_frames, duration)
    if not num_frames and duration:
        num_frames = max(1, round(duration * fps))
    if not num_frames:
        num_frames, duration = _count_packets(path, stream.index, deadline)
        fps = _frame_rate(stream, num_frames, duration)
    if not duration:
        duration = num_frames / fps
    sar = stream.sample_aspect_ratio or context.sample_aspect_ratio
    sar = sar if sar and 0.1 <= sar <= 10 else Fraction(1)
    logger.debug("%s: %d frames, %.3f s, %.3f fps, starts at %.3f s", path, num_frames, duration, fps, start)
    return _StreamInfo(fps, start, duration, num_frames, sar)


def _tag_seconds(text: str) -> float | None:
    """Seconds in an "HH:MM:SS.fraction" tag, None if it is not one."""
    try:
        hours, minutes, seconds = text.split(":")
        total = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    except ValueError:
        return None
    return total if total > 0 else None


def _frame_rate(stream: VideoStream, num_frames: int, duration: float | None) -> float:
    candidates = [stream.average_rate]
    if num_frames and duration:
        candidates.append(num_frames / duration)
    candidates += [stream.guessed_rate, stream.base_rate]
    for rate in candidates:
        if rate and 0 < rate <= MAX_FPS:
            return float(rate)
    return DEFAULT_FPS


def _count_packets(path: Path, index: int, deadline: Deadline) -> tuple[int, float | None]:
    """Count the packets of stream ``index`` without decoding: (frames, duration in seconds or None)."""
    count, first, last = 0, None, None
    with _open(path, deadline) as container:
        stream = container.streams[index]
        for other in container.streams:
            if other is not stream:
                other.discard = av.stream.Discard.all
        try:
            for packet in container.demux(stream):
                deadline.check()
                if not packet.size:
                    continue
                count += 1
                if packet.pts is not None and packet.time_base:
                    begin = float(packet.pts * packet.time_base)
                    finish = begin + float((packet.duration or 0) * packet.time_base)
                    first = begin if first is None else min(first, begin)
                    last = finish if last is None else max(last, finish)
        except av.error.ExitError:
            raise
        except av.FFmpegError as err:
            logger.debug("packet count of %s stopped early: %s", path, err)
    if not count:
        raise VideoReadError("the file is truncated or corrupt: it holds no video data")
    duration = last - first if first is not None and last is not None and last > first else None
    return count, duration


def _check_size(width: int, height: int) -> None:
    if width > MAX_SOURCE_SIDE or height > MAX_SOURCE_SIDE or width * height > MAX_SOURCE_PIXELS:
        raise VideoReadError(
            f"absurd dimensions: {width}x{height} (at most {MAX_SOURCE_SIDE} pixels a side and "
            f"{MAX_SOURCE_PIXELS // 1_000_000} megapixels are accepted)"
        )
