"""Video preprocessing as transformers' ``VideoMAEImageProcessor`` does it, frame by frame:
shortest-edge resize (PIL, antialiased), centre crop (zero-padded when the image is smaller), rescale, normalise.

Shapes: frames (H, W, 3) uint8 -> ``crop_frames`` (T, h, w, 3) uint8 -> ``pixel_values`` (1, T, 3, h, w) float32.

For speed each frame is resized only where the crop keeps it (PIL's ``box``), from the source pixels that region
depends on, in a thread per core (PIL releases the GIL while resampling). The pixels equal a full resize followed by
a crop except for a few that differ by one level, where PIL's filter positions round differently (about 0.03% of
values when downscaling 720p, up to 2% when upscaling small frames). Rescale and normalise then match transformers
exactly.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from .config import IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD

PREPROCESSOR_CONFIG = "preprocessor_config.json"

# Half-width of the widest PIL filter (Lanczos), in source pixels at scale 1: enough source margin for any resample.
_MAX_SUPPORT = 3.0


@dataclass(frozen=True)
class _Axis:
    """How one image axis (rows or columns) of a frame maps to the output.

    ``output[out] = resized[res]``; the rest of the output is zero padding. ``resized[res]`` depends only on
    ``source[src]``, and is PIL's resize of ``source[src]`` with box edges ``box`` (in ``source[src]`` coordinates).
    """

    out: slice
    res: slice
    src: slice
    box: tuple[float, float]


def _axis(source: int, resized: int, crop: int) -> _Axis:
    """Map a source length through a resize to ``resized`` and a centre crop to ``crop``."""
    offset = (resized - crop) // 2  # crop start in the resized image; negative when padding (as transformers places it)
    out_start, out_stop = max(0, -offset), min(crop, resized - offset)
    res = slice(out_start + offset, out_stop + offset)
    scale = source / resized
    low, high = res.start * scale, min(res.stop * scale, source)
    margin = _MAX_SUPPORT * max(scale, 1.0) + 1
    src = slice(max(0, math.floor(low - margin)), min(source, math.ceil(high + margin)))
    return _Axis(slice(out_start, out_stop), res, src, (low - src.start, high - src.start))


def _to_rgb(frame: np.ndarray) -> np.ndarray:
    """(H, W), (H, W, 1), (H, W, 3) or (H, W, 4) uint8 -> (H, W, 3) uint8. Alpha is composited onto white, as
    transformers' ``convert_to_rgb`` does."""
    if frame.ndim == 2:
        frame = frame[..., None]
    channels = frame.shape[-1]
    if channels == 1:
        return np.repeat(frame, 3, axis=-1)
    if channels == 4:
        alpha = frame[..., 3:].astype(np.int32)
        # round(alpha/255 * rgb + (1 - alpha/255) * 255) in integers; no value falls exactly half-way
        return ((alpha * frame[..., :3] + (255 - alpha) * 255 + 127) // 255).astype(np.uint8)
    return frame


def _frame_list(frames: Any) -> list[np.ndarray]:
    """A list or array of frames -> a list of (H, W[, C]) uint8 arrays, checked."""
    frames = [np.asarray(frame) for frame in frames]
    if not frames:
        raise ValueError("no frames to preprocess: expected a non-empty list of (H, W, 3) uint8 frames")
    for frame in frames:
        if frame.dtype != np.uint8:
            raise ValueError(f"frames must be uint8 (0-255), got {frame.dtype}")
        if not (frame.ndim == 2 or frame.ndim == 3 and frame.shape[-1] in (1, 3, 4)) or 0 in frame.shape:
            raise ValueError(f"a frame must be (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), got shape {frame.shape}")
    return frames


def _size_dict(value: int | Sequence[int] | Mapping[str, int | None], square: bool) -> dict[str, int]:
    """A ``size``/``crop_size`` entry as saved by any transformers version -> a dict of ints. A bare integer is the
    shortest edge (``square=False``) or a square (``square=True``); a pair is (height, width)."""
    if isinstance(value, int):
        return {"height": value, "width": value} if square else {"shortest_edge": value}
    if isinstance(value, Mapping):
        return {key: int(v) for key, v in value.items() if v is not None}
    height, width = value
    return {"height": int(height), "width": int(width)}


def _triple(value: float | Iterable[float]) -> tuple[float, float, float]:
    values = [float(value)] * 3 if isinstance(value, (int, float)) else [float(v) for v in value]
    if len(values) != 3:
        raise ValueError(f"expected one value per RGB channel, got {values}")
    return values[0], values[1], values[2]


@dataclass(frozen=True)
class VideoMAEProcessor:
    """Shortest-edge resize (PIL bilinear), centre crop, rescale, normalise, as transformers' VideoMAEImageProcessor."""

    do_resize: bool = True
    size: dict[str, int] = field(default_factory=lambda: {"shortest_edge": 224})  # or {"height": h, "width": w}
    resample: int = 2  # PIL.Image.Resampling.BILINEAR
    do_center_crop: bool = True
    crop_size: dict[str, int] = field(default_factory=lambda: {"height": 224, "width": 224})
    do_rescale: bool = True
    rescale_factor: float = 1 / 255
    do_normalize: bool = True
    image_mean: tuple[float, float, float] = IMAGENET_STANDARD_MEAN
    image_std: tuple[float, float, float] = IMAGENET_STANDARD_STD

    def __post_init__(self) -> None:
        size, crop_size = _size_dict(self.size, square=False), _size_dict(self.crop_size, square=True)
        if set(size) not in ({"shortest_edge"}, {"height", "width"}):
            raise ValueError(f"size must be {{'shortest_edge': s}} or {{'height': h, 'width': w}}, got {self.size}")
        if set(crop_size) != {"height", "width"}:
            raise ValueError(f"crop_size must be {{'height': h, 'width': w}}, got {self.crop_size}")
        if min(size.values()) < 1 or min(crop_size.values()) < 1:
            raise ValueError(f"sizes must be positive, got size {size} and crop_size {crop_size}")
        object.__setattr__(self, "size", size)
        object.__setattr__(self, "crop_size", crop_size)
        object.__setattr__(self, "image_mean", _triple(self.image_mean))
        object.__setattr__(self, "image_std", _triple(self.image_std))

    # ---- reading and writing preprocessor_config.json ----
    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VideoMAEProcessor:
        """Build from a ``preprocessor_config.json`` dict of any transformers version; unknown keys are ignored."""
        kwargs = {f.name: data[f.name] for f in fields(cls) if data.get(f.name) is not None}
        if "size" in kwargs:
            kwargs["size"] = _size_dict(kwargs["size"], square=False)
        if "crop_size" in kwargs:
            kwargs["crop_size"] = _size_dict(kwargs["crop_size"], square=True)
        return cls(**kwargs)

    @classmethod
    def from_json_file(cls, path: str | os.PathLike) -> VideoMAEProcessor:
        with open(path, encoding="utf-8") as f:
            return cls.from_dict(json.load(f))

    def to_dict(self) -> dict[str, Any]:
        """The ``preprocessor_config.json`` dict, which transformers' ``VideoMAEImageProcessor`` reads back."""
        data = asdict(self)
        data["image_mean"], data["image_std"] = list(self.image_mean), list(self.image_std)
        return {"image_processor_type": "VideoMAEImageProcessor", **data}

    def save(self, directory: str | os.PathLike) -> None:
        """Write ``preprocessor_config.json`` into ``directory`` (created if needed)."""
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"
        (folder / PREPROCESSOR_CONFIG).write_text(text, encoding="utf-8")

    # ---- geometry ----
    def _resized_size(self, height: int, width: int) -> tuple[int, int]:
        """(height, width) of a frame after the resize step."""
        if not self.do_resize:
            return height, width
        if "shortest_edge" not in self.size:
            return self.size["height"], self.size["width"]
        short_edge = self.size["shortest_edge"]
        if width <= height:
            return int(short_edge * height / width), short_edge
        return short_edge, int(short_edge * width / height)

    def _output_size(self, height: int, width: int) -> tuple[int, int]:
        """(h, w) of a (height, width) frame after resize and crop."""
        if self.do_center_crop:
            return self.crop_size["height"], self.crop_size["width"]
        return self._resized_size(height, width)

    def _axes(self, height: int, width: int) -> tuple[_Axis, _Axis]:
        """Row and column maps of a (height, width) frame."""
        (resized_height, resized_width), (out_height, out_width) = (self._resized_size(height, width),
                                                                    self._output_size(height, width))
        return _axis(height, resized_height, out_height), _axis(width, resized_width, out_width)

    def _crop_into(self, frame: np.ndarray, out: np.ndarray) -> None:
        """Resize and crop one frame into ``out`` (h, w, 3) uint8, which holds zeros where the crop pads."""
        height, width = frame.shape[:2]
        rows, cols = self._axes(height, width)
        if self._resized_size(height, width) == (height, width):
            out[rows.out, cols.out] = _to_rgb(frame[rows.res, cols.res])
            return
        image = Image.fromarray(_to_rgb(frame[rows.src, cols.src]))
        region = image.resize((cols.res.stop - cols.res.start, rows.res.stop - rows.res.start), self.resample,
                              box=(cols.box[0], rows.box[0], cols.box[1], rows.box[1]))
        out[rows.out, cols.out] = np.asarray(region)

    # ---- preprocessing ----
    def crop_frames(self, frames: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
        """Frames (H, W, 3) uint8 (or (H, W), (H, W, 1), (H, W, 4)) -> (T, h, w, 3) uint8 after resize and crop:
        the pixels the model sees."""
        frames = _frame_list(frames)
        shapes = {self._output_size(*frame.shape[:2]) for frame in frames}
        if len(shapes) > 1:
            raise ValueError(f"frames of different sizes give outputs of different sizes {sorted(shapes)}")
        out = np.zeros((len(frames), *shapes.pop(), 3), np.uint8)
        with ThreadPoolExecutor(max_workers=min(len(frames), os.cpu_count() or 1)) as pool:
            list(pool.map(self._crop_into, frames, out))
        return out

    def to_pixel_values(self, frames: np.ndarray) -> torch.Tensor:
        """Cropped frames (..., h, w, 3) uint8 -> pixel values (..., 3, h, w) float32. Used for single clips and for
        training batches (B, T, h, w, 3) alike. Rescaling divides by 1 / rescale_factor in float32, which for the
        usual 1/255 gives exactly transformers' values (it rescales in float64 and casts to float32)."""
        levels = torch.from_numpy(np.ascontiguousarray(frames)).movedim(-1, -3).contiguous()  # (..., 3, h, w) uint8
        values = levels.float()
        if self.do_rescale:
            values.div_(1 / self.rescale_factor)
        if self.do_normalize:
            values.sub_(torch.tensor(self.image_mean).view(3, 1, 1)).div_(torch.tensor(self.image_std).view(3, 1, 1))
        return values

    def __call__(self, frames: Sequence[np.ndarray] | np.ndarray) -> dict[str, torch.Tensor]:
        """Frames (H, W, 3) uint8 -> ``{"pixel_values": (1, T, 3, h, w) float32}``."""
        return {"pixel_values": self.to_pixel_values(self.crop_frames(frames))[None]}

    def to_pixels(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """Undo rescale and normalise: (B, T, 3, h, w) float -> the same shape in [0, 1], the model's input pixels."""
        pixels = pixel_values
        if self.do_normalize:
            mean = torch.tensor(self.image_mean, dtype=pixels.dtype, device=pixels.device).view(3, 1, 1)
            std = torch.tensor(self.image_std, dtype=pixels.dtype, device=pixels.device).view(3, 1, 1)
            pixels = pixels * std + mean
        levels_per_unit = 255 * self.rescale_factor if self.do_rescale else 255.0
        return (pixels / levels_per_unit).clamp(0, 1)


def load_processor(source: str | os.PathLike | None = None) -> VideoMAEProcessor:
    """source: a local folder (reads preprocessor_config.json if present, else the reference defaults), a path to a
    preprocessor_config.json file, or None (defaults). Any other source (an embedded model name, a hub id) is
    resolved by ``videomae_viz.checkpoints.resolve_file``; defaults when it has no preprocessor_config.json."""
    if source is None:
        return VideoMAEProcessor()
    path = Path(source).expanduser()
    if path.is_dir():
        path = path / PREPROCESSOR_CONFIG
        return VideoMAEProcessor.from_json_file(path) if path.is_file() else VideoMAEProcessor()
    if path.is_file():
        return VideoMAEProcessor.from_json_file(path)
    from .checkpoints import resolve_file  # imported here: only non-local sources need it

    resolved = resolve_file(source, PREPROCESSOR_CONFIG)
    return VideoMAEProcessor.from_json_file(resolved) if resolved is not None else VideoMAEProcessor()
