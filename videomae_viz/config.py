"""VideoMAE configuration: the fields of a transformers-style ``config.json`` plus the sizes derived from them.

Shape glossary used across the package:
    B batch, C channels (3), T frames, H x W pixels, u tubelet size, p patch size,
    t = T/u, h = H/p, w = W/p token grid, N = t*h*w tokens, D width, P = u*p*p*C patch vector size.
Token n sits at grid position (n // (h*w), (n // w) % h, n % w): time-major, then row, then column.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# ImageNet statistics. The pre-training target is always un-normalised with these (section 1.8 of the reference),
# whatever mean/std the processor used.
IMAGENET_DEFAULT_MEAN = (0.485, 0.456, 0.406)
IMAGENET_DEFAULT_STD = (0.229, 0.224, 0.225)
IMAGENET_STANDARD_MEAN = (0.5, 0.5, 0.5)
IMAGENET_STANDARD_STD = (0.5, 0.5, 0.5)

# videomae-viz's own config keys (transformers keeps them as unknown attributes): view name -> label permutation,
# and how many mirrored views of a masked clip the decoder's prediction averages
SYMMETRIES_KEY = "label_symmetries"
RECONSTRUCTION_VIEWS_KEY = "reconstruction_views"

PRETRAINING = "VideoMAEForPreTraining"
CLASSIFICATION = "VideoMAEForVideoClassification"
BARE = "VideoMAEModel"


@dataclass(frozen=True)
class VideoMAEConfig:
    """Every field of transformers' ``VideoMAEConfig`` with its class default."""

    image_size: int = 224
    patch_size: int = 16
    num_channels: int = 3
    num_frames: int = 16
    tubelet_size: int = 2
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.0
    attention_probs_dropout_prob: float = 0.0
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-12  # block and final norms; fc_norm and decoder.norm use torch's 1e-5 as in transformers
    qkv_bias: bool = True
    use_mean_pooling: bool = True  # False in every pre-training config: final layernorm, first-token pooling
    decoder_num_attention_heads: int = 6
    decoder_hidden_size: int = 384
    decoder_num_hidden_layers: int = 4
    decoder_intermediate_size: int = 1536
    norm_pix_loss: bool = True
    architectures: tuple[str, ...] = ()
    id2label: dict[int, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # unknown keys, kept so that saving round-trips them

    def __post_init__(self) -> None:
        if self.image_size % self.patch_size or self.num_frames % self.tubelet_size:
            raise ValueError(
                f"image_size {self.image_size} must be a multiple of patch_size {self.patch_size} and "
                f"num_frames {self.num_frames} a multiple of tubelet_size {self.tubelet_size}"
            )
        for width, heads in ((self.hidden_size, self.num_attention_heads),
                             (self.decoder_hidden_size, self.decoder_num_attention_heads)):
            if width % heads:
                raise ValueError(f"width {width} is not divisible by {heads} attention heads")

    # ---- derived sizes: the one place grid maths lives ----
    @property
    def grid(self) -> tuple[int, int, int]:
        """Token grid (t, h, w)."""
        side = self.image_size // self.patch_size
        return self.num_frames // self.tubelet_size, side, side

    @property
    def num_patches(self) -> int:
        """N = t * h * w tokens."""
        t, h, w = self.grid
        return t * h * w

    @property
    def patch_dim(self) -> int:
        """P = u * p * p * C values per token in the pixel target."""
        return self.tubelet_size * self.patch_size * self.patch_size * self.num_channels

    def encoder_flops(self, tokens: int | None = None) -> int:
        """Floating-point operations (2 per multiply-add) of one clip's encoder pass over ``tokens`` tokens
        (all of them by default): patch embedding, q/k/v/output projections, attention scores and mixing, MLP."""
        n = self.num_patches if tokens is None else tokens
        D, M = self.hidden_size, self.intermediate_size
        per_layer = 2 * n * (4 * D * D + 2 * D * M) + 2 * 2 * n * n * D
        return 2 * n * D * self.patch_dim + self.num_hidden_layers * per_layer

    @property
    def num_labels(self) -> int:
        return len(self.id2label)

    @property
    def label_symmetries(self) -> dict[str, tuple[int, ...]]:
        """How labels map under views of a clip (names in ``views.VIEWS``): class c of a clip is class perm[c] of
        its view. Empty unless the checkpoint declares them (the embedded classifier does)."""
        symmetries = {name: tuple(int(c) for c in perm) for name, perm in self.extra.get(SYMMETRIES_KEY, {}).items()}
        for name, perm in symmetries.items():
            if sorted(perm) != list(range(self.num_labels)):
                raise ValueError(f"label symmetry {name!r} is not a permutation of the {self.num_labels} labels")
        return symmetries

    @property
    def reconstruction_views(self) -> int:
        """How many views of a masked clip (``views.square_views``) a reconstruction averages: 1 (the clip as given)
        unless the checkpoint declares more (none of the shipped ones does; ``--views`` asks for more)."""
        return int(self.extra.get(RECONSTRUCTION_VIEWS_KEY, 1))

    @property
    def architecture(self) -> str:
        """The head named in ``architectures`` (the bare encoder when none is named)."""
        return self.architectures[0] if self.architectures else BARE

    # ---- reading and writing config.json ----
    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VideoMAEConfig:
        """Build from a transformers-style dict; unknown keys go to ``extra``."""
        names = {f.name for f in dataclasses.fields(cls)} - {"extra", "id2label", "architectures"}
        kwargs: dict[str, Any] = {k: data[k] for k in names if k in data}
        if "qkv_bias" not in data and "qv_bias" in data:  # transformers 5.x's name for the same switch
            kwargs["qkv_bias"] = data["qv_bias"]
        if "id2label" in data:
            id2label = {int(k): str(v) for k, v in data["id2label"].items()}
        else:
            id2label = {i: f"LABEL_{i}" for i in range(int(data.get("num_labels", 0)))}
        known = names | {"id2label", "label2id", "num_labels", "architectures", "qv_bias"}
        return cls(
            **kwargs,
            architectures=tuple(data.get("architectures") or ()),
            id2label=dict(sorted(id2label.items())),
            extra={k: v for k, v in data.items() if k not in known},
        )

    @classmethod
    def from_json_file(cls, path: str | Path) -> VideoMAEConfig:
        with open(path, encoding="utf-8") as f:
            return cls.from_dict(json.load(f))

    def to_dict(self) -> dict[str, Any]:
        """A dict transformers' ``VideoMAEConfig.from_dict`` reads back (string label keys, ``model_type``)."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if f.name not in ("extra", "id2label", "architectures")}
        data = {**self.extra, **data, "model_type": "videomae", "architectures": list(self.architectures)}
        if self.id2label:
            data["id2label"] = {str(k): v for k, v in self.id2label.items()}
            data["label2id"] = {v: k for k, v in self.id2label.items()}
        return data

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")

    def replace(self, **changes: Any) -> VideoMAEConfig:
        return dataclasses.replace(self, **changes)


# Sizes of the released models (reference table 1.9), for original-format .pth files, which carry no config.
# "small" uses the original 6 heads; transformers' converter wrote 16, so trust a checkpoint's config.json when it has one.
SIZE_PRESETS: dict[str, dict[str, int]] = {
    "small": dict(hidden_size=384, num_hidden_layers=12, num_attention_heads=6, intermediate_size=1536,
                  decoder_hidden_size=192, decoder_num_hidden_layers=4, decoder_num_attention_heads=3,
                  decoder_intermediate_size=768),
    "base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                 decoder_hidden_size=384, decoder_num_hidden_layers=4, decoder_num_attention_heads=6,
                 decoder_intermediate_size=1536),
    "large": dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
                  decoder_hidden_size=512, decoder_num_hidden_layers=12, decoder_num_attention_heads=8,
                  decoder_intermediate_size=2048),
    "huge": dict(hidden_size=1280, num_hidden_layers=32, num_attention_heads=16, intermediate_size=5120,
                 decoder_hidden_size=640, decoder_num_hidden_layers=12, decoder_num_attention_heads=8,
                 decoder_intermediate_size=2560),
}
