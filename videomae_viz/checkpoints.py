"""Loading and saving checkpoints: the one place that knows foreign key names.

Sources ``load_model`` understands:
- an embedded model's name (``EMBEDDED``), shipped in ``assets/``;
- a local folder in the hub layout: ``config.json`` + ``model.safetensors`` | ``pytorch_model.bin`` | a sharded index;
- a hub repo id ``owner/name``, through huggingface_hub (the local cache answers when ``HF_HUB_OFFLINE=1``);
- an original MCG-NJU ``.pth`` file (weights under ``model`` or ``module``), with ``size`` naming a ``SIZE_PRESETS`` row.
Pickled files are read with ``torch.load(weights_only=True)`` only, so loading never runs code from a file.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from .config import BARE, CLASSIFICATION, PRETRAINING, SIZE_PRESETS, VideoMAEConfig
from .model import MODEL_CLASSES

log = logging.getLogger(__name__)

ASSETS = Path(__file__).resolve().parent.parent / "assets"
EMBEDDED: dict[str, Path] = {
    "motion-tiny": ASSETS / "motion-tiny",
    "motion-tiny-pretrain": ASSETS / "motion-tiny-pretrain",
    "video-tiny-pretrain": ASSETS / "video-tiny-pretrain",
}
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")


class CheckpointError(Exception):
    """A checkpoint that cannot be loaded; the message says why in readable lines."""


# transformers name <-> our name, one table read in both directions. Our names follow the original MCG-NJU code;
# transformers splits the fused qkv weight into query/key/value (handled beside the table).
HF_PREFIXES: tuple[tuple[str, str], ...] = (
    ("videomae.embeddings.patch_embeddings.projection.", "videomae.patch_embed."),
    ("videomae.encoder.layer.", "videomae.blocks."),
    ("videomae.layernorm.", "videomae.norm."),
    ("decoder.decoder_layers.", "decoder.blocks."),
)
HF_BLOCK_PARTS: tuple[tuple[str, str], ...] = (
    ("attention.attention.q_bias", "attn.q_bias"),  # hub checkpoints; saving writes these
    ("attention.attention.v_bias", "attn.v_bias"),
    ("attention.attention.query.bias", "attn.q_bias"),  # transformers 5.x's own names, read only
    ("attention.attention.value.bias", "attn.v_bias"),
    ("attention.output.dense.", "attn.proj."),
    ("intermediate.dense.", "mlp.fc1."),
    ("output.dense.", "mlp.fc2."),
    ("layernorm_before.", "norm1."),
    ("layernorm_after.", "norm2."),
)
QKV_NAMES = ("query", "key", "value")
# Original fine-tuned checkpoints have no prefix, pre-training ones an ``encoder.`` prefix on the encoder.
ORIG_RENAMES: tuple[tuple[str, str], ...] = (
    (r"^encoder\.", ""),
    (r"^patch_embed\.proj\.", "videomae.patch_embed."),
    (r"^blocks\.", "videomae.blocks."),
    (r"^norm\.", "videomae.norm."),
    (r"^head\.", "classifier."),
)


def _rename(key: str, rules: tuple[tuple[str, str], ...]) -> str:
    for pattern, replacement in rules:
        key = re.sub(pattern, replacement, key)
    return key


BLOCK_KEY = re.compile(r"^((?:videomae\.(?:blocks|encoder\.layer)|decoder\.(?:blocks|decoder_layers))\.\d+\.)(.*)$")


def _translate(key: str, to_ours: bool) -> str:
    """Map one key between transformers' names and ours with ``HF_PREFIXES`` and ``HF_BLOCK_PARTS``."""
    src, dst = (0, 1) if to_ours else (1, 0)
    for pair in HF_PREFIXES:
        if key.startswith(pair[src]):
            key = pair[dst] + key[len(pair[src]):]
            break
    match = BLOCK_KEY.match(key)
    if match:
        for pair in HF_BLOCK_PARTS:
            if match[2].startswith(pair[src]):
                return match[1] + pair[dst] + match[2][len(pair[src]):]
    return key


def from_hf_state_dict(state: dict[str, Tensor], architecture: str) -> dict[str, Tensor]:
    """transformers keys -> ours; query/key/value weights are stacked into one qkv weight. A bare encoder's keys
    carry no ``videomae.`` prefix on either side."""
    if architecture == BARE:
        state = {f"videomae.{k}": v for k, v in state.items()}
    out: dict[str, Tensor] = {}
    qkv: dict[str, dict[str, Tensor]] = {}
    for key, value in state.items():
        match = re.match(r"^(.*\.)attention\.attention\.(query|key|value)\.weight$", key)
        if match:
            qkv.setdefault(_translate(match[1], True) + "attn.qkv.weight", {})[match[2]] = value
        else:
            out[_translate(key, True)] = value
    for key, parts in qkv.items():
        if set(parts) != set(QKV_NAMES):
            raise CheckpointError(f"{key}: the checkpoint has only {sorted(parts)} of query/key/value")
        out[key] = torch.cat([parts[name] for name in QKV_NAMES])
    if architecture == BARE:
        out = {k.removeprefix("videomae."): v for k, v in out.items()}
    return out


def to_hf_state_dict(model: nn.Module) -> dict[str, Tensor]:
    """Our state dict in transformers' names and layout (what ``save_pretrained`` would write)."""
    bare = isinstance(model, MODEL_CLASSES[BARE])
    out: dict[str, Tensor] = {}
    for key, value in model.state_dict().items():
        key = f"videomae.{key}" if bare else key
        if key.endswith(".attn.qkv.weight"):
            stem = _translate(key[: -len("attn.qkv.weight")], False)
            for name, part in zip(QKV_NAMES, value.chunk(3)):
                out[f"{stem}attention.attention.{name}.weight"] = part.contiguous()
        else:
            out[_translate(key, False)] = value.contiguous()
    return {k.removeprefix("videomae."): v for k, v in out.items()} if bare else out


def from_original_state_dict(state: dict[str, Tensor]) -> dict[str, Tensor]:
    """MCG-NJU .pth keys -> ours (the block layout is already ours)."""
    return {_rename(k, ORIG_RENAMES): v for k, v in state.items()}


def load_state_dict_strict(model: nn.Module, state: dict[str, Tensor], source: str) -> None:
    """Copy ``state`` into ``model``; any missing, unexpected or mis-shaped key raises ``CheckpointError``."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    shapes = sorted(f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(v.shape)}"
                    for k, v in expected.items() if k in state and state[k].shape != v.shape)
    if missing or unexpected or shapes:
        lines = [f"{source} does not fit {type(model).__name__}:"]
        lines += [f"  {len(keys)} {title}: {_summarise(keys)}"
                  for title, keys in (("missing", missing), ("unexpected", unexpected), ("mis-shaped", shapes)) if keys]
        raise CheckpointError("\n".join(lines))
    model.load_state_dict(state, strict=True)


def _summarise(keys: list[str]) -> str:
    """Keys grouped by their first name: small groups in full, large ones as ``decoder.* (26 keys, e.g. ...)``."""
    groups: dict[str, list[str]] = {}
    for key in keys:
        groups.setdefault(key.split(".")[0], []).append(key)
    parts = []
    for name, members in groups.items():
        if len(members) <= 3:
            parts.extend(members)
        else:
            parts.append(f"{name}.* ({len(members)} keys, e.g. {members[0]}, {members[-1]})")
    return "; ".join(parts)


def read_weights(folder: Path) -> dict[str, Tensor]:
    """The tensors of a hub-layout folder: safetensors preferred, then .bin (weights_only), sharded or not."""
    for name in WEIGHT_FILES:
        path = folder / name
        if not path.is_file():
            continue
        if name.endswith(".index.json"):
            shards = sorted(set(json.loads(path.read_text(encoding="utf-8"))["weight_map"].values()))
            state: dict[str, Tensor] = {}
            for shard in shards:
                state.update(_read_file(folder / shard))
            return state
        return _read_file(path)
    raise CheckpointError(f"{folder} has no weights (looked for {', '.join(WEIGHT_FILES)})")


def _read_file(path: Path) -> dict[str, Tensor]:
    if path.suffix == ".safetensors":
        return load_file(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a pickle with code in it, or a damaged file: never fall back to unsafe loading
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"{path.name} cannot be loaded safely (weights_only): {first_line}") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path.name} does not hold a state dict")
    return state


def resolve_folder(source: str | Path) -> Path:
    """An embedded name, a local folder or a hub id -> a local folder in the hub layout."""
    if str(source) in EMBEDDED:
        folder = EMBEDDED[str(source)]
        if not (folder / "config.json").is_file():
            raise CheckpointError(f"the embedded model {source!r} is missing from {folder}")
        return folder
    path = Path(source).expanduser()
    if path.is_dir():
        return path
    if HUB_ID.match(str(source)):
        return _download(str(source))
    raise CheckpointError(f"{source}: not an embedded model ({', '.join(EMBEDDED)}), a folder or a hub id owner/name")


def _download(repo_id: str) -> Path:
    from huggingface_hub import snapshot_download  # imported here: only hub sources need it

    try:
        return Path(snapshot_download(repo_id, allow_patterns=["*.json", "*.safetensors", "*.bin"]))
    except Exception as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"cannot fetch {repo_id} from the hub ({type(err).__name__}: {reason})") from None


def resolve_file(source: str | Path, filename: str) -> Path | None:
    """One file (e.g. preprocessor_config.json) of a model source, or None when the source has none."""
    try:
        path = resolve_folder(source) / filename
    except CheckpointError:
        return None
    return path if path.is_file() else None


def load_model(source: str | Path, *, size: str | VideoMAEConfig | None = None,
               architecture: str | None = None) -> nn.Module:
    """Load a VideoMAE model in eval mode on the CPU.

    ``size`` is needed for original ``.pth`` files, which carry no config: a ``SIZE_PRESETS`` name, or a config whose
    sizes are used. ``architecture`` overrides the head named in ``config.json`` (e.g. "VideoMAEModel" for the bare
    encoder of a classification checkpoint).
    """
    path = Path(source).expanduser()
    if path.is_file() and path.suffix in (".pth", ".pt"):
        model = _load_original(path, size)
    else:
        folder = resolve_folder(source)
        config = VideoMAEConfig.from_json_file(folder / "config.json")
        arch = architecture or config.architecture
        if arch not in MODEL_CLASSES:
            raise CheckpointError(f"{source}: unsupported architecture {arch!r}")
        model = MODEL_CLASSES[arch](config)
        state = read_weights(folder)
        if arch == BARE and any(k.startswith("videomae.") for k in state):  # the encoder of a head checkpoint
            state = {k.removeprefix("videomae."): v for k, v in state.items() if k.startswith("videomae.")}
        load_state_dict_strict(model, from_hf_state_dict(state, arch), str(source))
    log.info("loaded %s as %s", source, type(model).__name__)
    return model.eval()


def _load_original(path: Path, size: str | VideoMAEConfig | None) -> nn.Module:
    if isinstance(size, VideoMAEConfig):
        base = size
    elif size in SIZE_PRESETS:
        base = VideoMAEConfig(**SIZE_PRESETS[size])
    else:
        raise CheckpointError(f"{path.name}: original checkpoints carry no config; name a size "
                              f"({', '.join(SIZE_PRESETS)})")
    raw = _read_file(path)
    state = raw.get("model", raw.get("module", raw))
    state = from_original_state_dict(state)
    is_pretraining = any(k.startswith("decoder.") for k in state)
    config = base.replace(use_mean_pooling="fc_norm.weight" in state,
                          architectures=(PRETRAINING,) if is_pretraining else (CLASSIFICATION,))
    if not is_pretraining and "classifier.weight" in state and not config.id2label:
        config = config.replace(id2label={i: f"LABEL_{i}" for i in range(state["classifier.weight"].shape[0])})
    model = MODEL_CLASSES[config.architecture](config)
    load_state_dict_strict(model, state, path.name)
    return model


def save_pretrained(model: nn.Module, folder: str | Path) -> Path:
    """Write ``config.json`` and ``model.safetensors`` in the hub layout transformers reads."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config: VideoMAEConfig = model.config
    if not config.architectures:
        config = config.replace(architectures=(type(model).__name__,))
    config.save(folder / "config.json")
    save_file(to_hf_state_dict(model), folder / "model.safetensors", metadata={"format": "pt"})
    return folder
