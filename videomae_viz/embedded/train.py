"""Train the embedded default pair from scratch: masked-autoencoder pre-training, then classifier fine-tuning.

    python -m videomae_viz.embedded.train --out assets            # the shipped recipe (about 86 min on 2 CPU cores)
    python -m videomae_viz.embedded.train --out /tmp/x --smoke    # a few steps of each stage, for CI

Everything is generated procedurally by ``synthetic`` (no downloads) with fixed seeds. Each stage writes a hub-layout
folder (config.json, preprocessor_config.json, model.safetensors) and ``training.json`` with its losses and timings;
the example clips (one per label, from a seed no training stage uses) go to ``examples/``. The generated clips stay
in memory: the shipped recipe holds about 14 GB resident (25400 clips of 16 x 108 x 108 x 3 bytes).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import multiprocessing
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..checkpoints import load_model, load_state_dict_strict, save_pretrained
from ..config import (
    CLASSIFICATION,
    IMAGENET_DEFAULT_MEAN,
    IMAGENET_DEFAULT_STD,
    PRETRAINING,
    SYMMETRIES_KEY,
    VideoMAEConfig,
)
from ..masking import make_batch_masks
from ..model import VideoMAEForPreTraining, VideoMAEForVideoClassification, init_weights, set_fused_attn
from ..preprocess import VideoMAEProcessor
from .synthetic import LABELS, OPPOSITE, make_clip, make_dataset, make_pretrain_clip, write_examples

log = logging.getLogger("videomae_viz.embedded.train")

# Seeds: training, validation, held-out evaluation and the shipped examples never share a generator stream.
TRAIN_SEED, PRETRAIN_SEED, PLAIN_SEED, VAL_SEED = 1000, 1500, 1700, 2000
EVAL_SEED, EXAMPLES_SEED = 3000, 4000

# A small VideoMAE for 2 CPU cores: 108 px, 16 frames, tubelets of 4 frames x 12 x 12 pixels -> 4 x 9 x 9 = 324
# tokens; 96 wide, 4 layers. Small enough for thousands of fine-tuning steps in the time budget, which finding motion
# takes; patches of 12 pixels rather than 16 so small objects span more than one or two tokens.
EMBEDDED_CONFIG = VideoMAEConfig(
    image_size=108, patch_size=12, num_frames=16, tubelet_size=4,
    hidden_size=96, num_hidden_layers=4, num_attention_heads=2, intermediate_size=384,
    decoder_hidden_size=96, decoder_num_hidden_layers=2, decoder_num_attention_heads=2, decoder_intermediate_size=384,
    layer_norm_eps=1e-6, norm_pix_loss=False,  # raw pixel targets: reconstructions need no hidden-patch statistics
)
_SIDE = EMBEDDED_CONFIG.image_size  # the processor crops exactly the model's input
EMBEDDED_PROCESSOR = VideoMAEProcessor(
    size={"shortest_edge": _SIDE}, crop_size={"height": _SIDE, "width": _SIDE},
    image_mean=IMAGENET_DEFAULT_MEAN, image_std=IMAGENET_DEFAULT_STD,  # so the pixel target equals the input pixels
)


@dataclass(frozen=True)
class Recipe:
    pool_labelled: int = 12000  # labelled clips, shared by both stages (x8 by flips and time reversal)
    pool_unlabelled: int = 3000  # extra pre-training variety
    pretrain_steps: int = 800
    pretrain_batch: int = 64
    pretrain_lr: float = 1.5e-3
    pool_plain: int = 10000  # labelled clips with a solid object on a plain background: the motion signal alone
    plain_share: float = 0.25  # of each fine-tuning batch in the last curriculum stage
    advance_accuracy: float = 0.8  # of every class's clips in the last 50 training batches, to leave an early stage
    stage_steps: int = 6000  # at most, per early curriculum stage
    finetune_steps: int = 12000
    finetune_batch: int = 32
    finetune_lr: float = 1e-3
    validate_every: int = 1000
    mask_ratio: float = 0.9
    val_clips: int = 400
    bf16: bool = True  # autocast matmuls to bfloat16 (weights and optimiser stay float32): ~2.5x faster steps here
    fused_attn: bool = True  # at 324 tokens CPU flash attention trains ~17% faster than the manual path (same maths)


SMOKE = Recipe(pool_labelled=16, pool_unlabelled=8, pool_plain=8, pretrain_steps=2, pretrain_batch=4,
               finetune_steps=3, finetune_batch=4, stage_steps=1, val_clips=8)

# How each augmentation relabels a clip: flips mirror directions and turning sense; time reversal inverts motion.
_INDEX = {name: i for i, name in enumerate(LABELS)}
_SWAP_H = {"moving left": "moving right", "rotating clockwise": "rotating counterclockwise"}
_SWAP_V = {"moving up": "moving down", "rotating clockwise": "rotating counterclockwise"}
_SWAP_T = {"moving left": "moving up", "moving right": "moving down",  # transposing the frames
           "rotating clockwise": "rotating counterclockwise"}


def _label_map(pairs: dict[str, str]) -> np.ndarray:
    both = {**pairs, **{v: k for k, v in pairs.items()}}
    return np.array([_INDEX[both.get(name, name)] for name in LABELS])


HFLIP, VFLIP, REVERSE = _label_map(_SWAP_H), _label_map(_SWAP_V), _label_map(OPPOSITE)
# Written into the classifier's config: the app averages these views of a clip (``views``); time is not among them.
SYMMETRIES = {"flip_width": HFLIP.tolist(), "flip_height": VFLIP.tolist(), "transpose": _label_map(_SWAP_T).tolist()}


def augment(clips: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Random horizontal/vertical flips and time reversal with the matching label change, plus brightness and
    contrast jitter. clips (B, T, H, W, 3) uint8 -> same shape uint8; labels (B,) int64."""
    out, new = np.empty_like(clips), labels.copy()
    for i, clip in enumerate(clips):  # each flip is a view; the clip is copied once, into out
        if rng.random() < 0.5:
            clip, new[i] = clip[:, :, ::-1], HFLIP[new[i]]
        if rng.random() < 0.5:
            clip, new[i] = clip[:, ::-1], VFLIP[new[i]]
        if rng.random() < 0.5:
            clip, new[i] = clip[::-1], REVERSE[new[i]]
        if rng.random() < 0.5:
            gain, offset = rng.uniform(0.75, 1.25), rng.uniform(-25, 25)
            levels = clip.astype(np.float32)
            levels *= gain
            levels += offset
            clip = np.clip(levels, 0, 255, out=levels)
        out[i] = clip  # a float clip is truncated to uint8 here
    return out, new


def cosine_lr(step: int, total: int, peak: float, warmup: int) -> float:
    """Learning rate at ``step`` of ``total``: linear warm-up to ``peak`` over ``warmup`` steps, then cosine decay."""
    if step < warmup:
        return peak * (step + 1) / warmup
    return peak * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))


def optimizer(model: nn.Module, lr: float) -> torch.optim.Optimizer:
    """AdamW with weight decay on matrices only (not on biases, norms or the mask token)."""
    decay = [p for p in model.parameters() if p.ndim >= 2 and p.shape[0] > 1]
    rest = [p for p in model.parameters() if not (p.ndim >= 2 and p.shape[0] > 1)]
    return torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": rest, "weight_decay": 0.0}],
                             lr=lr, betas=(0.9, 0.95))


def _run(model: nn.Module, steps: int, lr: float, batch_loss, history: list[dict], stage: str, bf16: bool,
         fused_attn: bool, validate=None, validate_every: int = 0) -> None:
    """The shared optimisation loop: cosine schedule with 5% warm-up, ``batch_loss(step)`` under bfloat16 autocast
    when ``bf16``, attention by SDPA or by the manual path (``fused_attn``), gradient clipping, a log line every 25
    steps and, when given, ``validate(step)`` every ``validate_every`` steps."""
    opt = optimizer(model, lr)
    set_fused_attn(model, fused_attn)
    model.train()
    start = time.time()
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = cosine_lr(step, steps, lr, max(1, steps // 20))
        with torch.autocast("cpu", torch.bfloat16, enabled=bf16):
            loss = batch_loss(step)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 25 == 0 or step == steps - 1:
            elapsed = time.time() - start
            history.append({"step": step, "loss": round(loss.item(), 5), "seconds": round(elapsed, 1)})
            log.info("%s step %d/%d loss %.4f (%.0f s)", stage, step + 1, steps, loss.item(), elapsed)
        if validate and (step + 1) % validate_every == 0 and step + 1 < steps:
            model.eval()
            validate(step)
            model.train()
    model.eval()


def pretrain(recipe: Recipe, labelled: np.ndarray, unlabelled: np.ndarray) -> tuple[VideoMAEForPreTraining, dict]:
    """Masked-autoencoder pre-training with 90% tube masking on raw pixels."""
    torch.manual_seed(PRETRAIN_SEED)
    rng = np.random.default_rng(PRETRAIN_SEED)
    config = EMBEDDED_CONFIG.replace(use_mean_pooling=False, architectures=(PRETRAINING,))
    model = VideoMAEForPreTraining(config)
    init_weights(model)
    history: list[dict] = []

    def batch_loss(step: int) -> torch.Tensor:
        idx = rng.integers(0, len(labelled) + len(unlabelled), recipe.pretrain_batch)
        batch = np.stack([labelled[i] if i < len(labelled) else unlabelled[i - len(labelled)] for i in idx])
        clips, _ = augment(batch, np.zeros(len(idx), dtype=np.int64), rng)
        seeds = [int(s) for s in rng.integers(0, 2**31, len(idx))]
        masks = make_batch_masks("tube", config.grid, recipe.mask_ratio, seeds)
        return model(EMBEDDED_PROCESSOR.to_pixel_values(clips), bool_masked_pos=masks).loss

    start = time.time()
    _run(model, recipe.pretrain_steps, recipe.pretrain_lr, batch_loss, history, "pretrain", recipe.bf16,
         recipe.fused_attn)
    return model, {"history": history, "seconds": round(time.time() - start, 1)}


TRANSLATIONS = tuple(_INDEX[name] for name in ("moving left", "moving right", "moving up", "moving down"))


class Curriculum:
    """Which clips a fine-tuning batch is drawn from. A small ViT sits at chance level for a long time before it
    finds a motion (the sign of a motion is a product of pixel features; the sense of a rotation, a product of the
    position in the object and the local motion, is found last), so it starts where that is easiest: stage 0, the
    plain pool's four translations; stage 1, the plain pool's eight motions; stage 2, the full-variety pool with
    ``plain_share`` of each batch from the plain pool.

    Plain clips are drawn class by class, each class weighted by its error rate over the last ``window`` batches
    (at least ``floor``), so the motions not yet found get the most practice. An early stage ends once every one
    of its classes is right on ``advance_accuracy`` of its recent clips, or after ``stage_steps`` steps. Flips and
    time reversal keep a clip's label inside the stage's classes."""

    window = 50
    floor = 0.1

    def __init__(self, recipe: Recipe, plain_labels: np.ndarray) -> None:
        self.recipe = recipe
        self.stage, self.started = 0, 0
        self.recent: list[tuple[np.ndarray, np.ndarray]] = []  # (labels, right) of the last batches
        self.by_class = [np.nonzero(plain_labels == c)[0] for c in range(len(LABELS))]

    def classes(self) -> np.ndarray:
        """The class ids of the current stage."""
        return np.array(TRANSLATIONS if self.stage == 0 else range(len(LABELS)))

    def class_accuracy(self) -> np.ndarray:
        """(8,) share of right clips per class over the recent batches; nan for a class not seen there."""
        if not self.recent:
            return np.full(len(LABELS), np.nan)
        labels = np.concatenate([labels for labels, _ in self.recent])
        right = np.concatenate([right for _, right in self.recent])
        seen = np.bincount(labels, minlength=len(LABELS))
        with np.errstate(invalid="ignore"):
            return np.bincount(labels, weights=right, minlength=len(LABELS)) / seen

    def draw(self, rng: np.random.Generator, pool_size: int) -> tuple[np.ndarray, np.ndarray]:
        """Indices into the full pool and into the plain pool for one batch."""
        batch = self.recipe.finetune_batch
        n_plain = batch if self.stage < 2 else round(self.recipe.plain_share * batch)
        classes = self.classes()
        error = np.nan_to_num(1.0 - self.class_accuracy()[classes], nan=1.0)
        weights = np.maximum(error, self.floor) * np.array([len(self.by_class[c]) > 0 for c in classes])
        picks = rng.choice(classes, n_plain, p=weights / weights.sum())
        plain_idx = np.array([rng.choice(self.by_class[c]) for c in picks], dtype=np.int64)
        return rng.integers(0, pool_size, batch - n_plain), plain_idx

    def update(self, step: int, labels: np.ndarray, predicted: np.ndarray) -> bool:
        """Record a batch's labels and predictions; True when this step moved to the next stage."""
        self.recent = (self.recent + [(labels, labels == predicted)])[-self.window:]
        if self.stage == 2:
            return False
        accuracy = self.class_accuracy()[self.classes()]
        learned = len(self.recent) == self.window and bool(np.all(accuracy >= self.recipe.advance_accuracy))
        if learned or step + 1 - self.started >= self.recipe.stage_steps:
            self.stage, self.started, self.recent = self.stage + 1, step + 1, []
            return True
        return False


def finetune(recipe: Recipe, encoder_source: VideoMAEForPreTraining, clips: np.ndarray, labels: np.ndarray,
             plain: tuple[np.ndarray, np.ndarray],
             val: tuple[np.ndarray, np.ndarray]) -> tuple[VideoMAEForVideoClassification, dict]:
    """Fine-tune a mean-pooling classifier initialised from the pre-trained encoder, along ``Curriculum``."""
    torch.manual_seed(TRAIN_SEED)
    rng = np.random.default_rng(TRAIN_SEED)
    config = EMBEDDED_CONFIG.replace(use_mean_pooling=True, architectures=(CLASSIFICATION,),
                                     id2label=dict(enumerate(LABELS)), extra={SYMMETRIES_KEY: SYMMETRIES})
    model = VideoMAEForVideoClassification(config)
    init_weights(model)
    encoder_state = {k: v for k, v in encoder_source.videomae.state_dict().items() if not k.startswith("norm.")}
    load_state_dict_strict(model.videomae, encoder_state, "the pre-trained encoder")
    history: list[dict] = []
    curriculum = Curriculum(recipe, plain[1])

    def batch_loss(step: int) -> torch.Tensor:
        idx, plain_idx = curriculum.draw(rng, len(clips))
        x, y = augment(np.concatenate([clips[idx], plain[0][plain_idx]]),
                       np.concatenate([labels[idx], plain[1][plain_idx]]), rng)
        logits = model(EMBEDDED_PROCESSOR.to_pixel_values(x)).logits.float()
        if curriculum.update(step, y, logits.argmax(-1).numpy()):
            history.append({"step": step, "stage": curriculum.stage})
            log.info("finetune step %d: curriculum stage %d", step + 1, curriculum.stage)
        return nn.functional.cross_entropy(logits, torch.from_numpy(y), label_smoothing=0.1)

    def validate(step: int) -> None:
        accuracy = evaluate_accuracy(model, *val)
        history.append({"step": step, "val_top1": accuracy})
        log.info("finetune step %d validation top-1 %.3f", step + 1, accuracy)

    start = time.time()
    _run(model, recipe.finetune_steps, recipe.finetune_lr, batch_loss, history, "finetune", recipe.bf16,
         recipe.fused_attn, validate, recipe.validate_every)
    accuracy = evaluate_accuracy(model, *val)
    log.info("validation top-1 %.3f on %d clips", accuracy, len(val[1]))
    return model, {"history": history, "seconds": round(time.time() - start, 1), "val_top1": accuracy}


@torch.inference_mode()
def evaluate_accuracy(model: VideoMAEForVideoClassification, clips: np.ndarray, labels: np.ndarray) -> float:
    """Top-1 accuracy on (B, T, H, W, 3) uint8 clips, batched."""
    correct = 0
    for i in range(0, len(clips), 32):
        logits = model(EMBEDDED_PROCESSOR.to_pixel_values(clips[i:i + 32])).logits
        correct += int((logits.argmax(-1).numpy() == labels[i:i + 32]).sum())
    return correct / len(labels)


def _save(model: nn.Module, folder: Path, record: dict) -> None:
    save_pretrained(model, folder)
    EMBEDDED_PROCESSOR.save(folder)
    (folder / "training.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    log.info("wrote %s", folder)


def _labelled_chunk(args: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    n, seed = args
    return make_dataset(n, seed, num_frames=EMBEDDED_CONFIG.num_frames, size=EMBEDDED_CONFIG.image_size)


def _plain_chunk(args: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    n, seed = args
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % len(LABELS)).astype(np.int64)
    clips = np.stack([make_clip(rng, LABELS[label], num_frames=EMBEDDED_CONFIG.num_frames,
                                size=EMBEDDED_CONFIG.image_size, plain=True) for label in labels])
    return clips, labels


def _unlabelled_chunk(args: tuple[int, int]) -> np.ndarray:
    n, seed = args
    rng = np.random.default_rng(seed)
    return np.stack([make_pretrain_clip(rng, num_frames=EMBEDDED_CONFIG.num_frames, size=EMBEDDED_CONFIG.image_size)
                     for _ in range(n)])


def generate(n: int, seed: int, kind: str, workers: int) -> tuple[np.ndarray, np.ndarray] | np.ndarray:
    """n clips of a kind ("labelled", "plain" or "unlabelled") in 8 fixed chunks (chunk i uses seed + i), so the
    data are the same whatever ``workers`` is."""
    chunk = {"labelled": _labelled_chunk, "plain": _plain_chunk, "unlabelled": _unlabelled_chunk}[kind]
    sizes = [n // 8 + (i < n % 8) for i in range(8)]
    jobs = [(size, seed + i) for i, size in enumerate(sizes) if size]
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        parts = pool.map(chunk, jobs)
    if kind == "unlabelled":
        return np.concatenate(parts)
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m videomae_viz.embedded.train",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder that receives motion-tiny-pretrain/ and motion-tiny/")
    parser.add_argument("--smoke", action="store_true", help="a few steps of each stage (CI)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--pretrained", type=Path,
                        help="reuse a motion-tiny-pretrain folder written by an earlier run and only fine-tune")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    torch.set_num_threads(args.threads)
    recipe = SMOKE if args.smoke else Recipe()
    t0 = time.time()
    clips, labels = generate(recipe.pool_labelled, TRAIN_SEED, "labelled", args.threads)
    plain = generate(recipe.pool_plain, PLAIN_SEED, "plain", args.threads)
    unlabelled = (np.empty((0,), np.uint8) if args.pretrained
                  else generate(recipe.pool_unlabelled, PRETRAIN_SEED, "unlabelled", args.threads))
    val = generate(recipe.val_clips, VAL_SEED, "labelled", args.threads)
    data_seconds = round(time.time() - t0, 1)
    log.info("generated %d labelled + %d plain + %d unlabelled + %d validation clips in %.0f s",
             len(clips), len(plain[1]), len(unlabelled), len(val[1]), data_seconds)
    common = {"recipe": recipe.__dict__, "seeds": {"train": TRAIN_SEED, "plain": PLAIN_SEED,
                                                   "pretrain": PRETRAIN_SEED, "val": VAL_SEED},
              "data_seconds": data_seconds, "torch": torch.__version__, "threads": args.threads}
    if args.pretrained:
        pre = load_model(args.pretrained)
        log.info("fine-tuning from %s", args.pretrained)
    else:
        pre, pre_record = pretrain(recipe, clips, unlabelled)
        _save(pre, args.out / "motion-tiny-pretrain", {**common, **pre_record})
    cls, cls_record = finetune(recipe, pre, clips, labels, plain, val)
    _save(cls, args.out / "motion-tiny", {**common, **cls_record, "total_seconds": round(time.time() - t0, 1)})
    write_examples(args.out / "examples", EXAMPLES_SEED)
    log.info("wrote %s", args.out / "examples")


if __name__ == "__main__":
    main()
