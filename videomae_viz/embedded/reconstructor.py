"""Train the embedded reconstructor: a small VideoMAE pre-trained on real footage, photographs and generated motion.

    python -m videomae_viz.embedded.reconstructor --out assets --work runs/recon   # the shipped recipe
    python -m videomae_viz.embedded.reconstructor --out /tmp/x --work /tmp/w --smoke

Data come from Debian packages (``footage``); ``--work`` holds the decoded data, ``log.jsonl`` (loss, and the
validation PSNR of the decoder beside the classical fills) and ``checkpoint.pt``, written every
``checkpoint_every`` steps. Run the same command again after an interruption and it resumes from the checkpoint.
The held-out clips (whole videos and photographs never trained on) are written to ``--work``/held-out.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..checkpoints import save_pretrained
from ..config import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD, PRETRAINING, VideoMAEConfig
from ..masking import make_batch_masks
from ..model import VideoMAEForPreTraining, init_weights, set_fused_attn
from ..preprocess import VideoMAEProcessor
from . import footage
from .clips import photo_motion, video_window
from .heldout import HeldOut, held_out_sets, score
from .synthetic import make_pretrain_clip
from .train import cosine_lr, optimizer

log = logging.getLogger("videomae_viz.embedded.reconstructor")

# 128 px, tubelets of 4 frames x 8 x 8 pixels -> 4 x 16 x 16 = 1024 tokens: smaller patches than the classifier's,
# where the oracle headroom over the mean fill is largest for the cost (the table).
CONFIG = VideoMAEConfig(
    image_size=128, patch_size=8, num_frames=16, tubelet_size=4,
    hidden_size=128, num_hidden_layers=6, num_attention_heads=4, intermediate_size=512,
    decoder_hidden_size=128, decoder_num_hidden_layers=4, decoder_num_attention_heads=4, decoder_intermediate_size=512,
    layer_norm_eps=1e-6, norm_pix_loss=False, use_mean_pooling=False, architectures=(PRETRAINING,),
)
PROCESSOR = VideoMAEProcessor(
    size={"shortest_edge": CONFIG.image_size}, crop_size={"height": CONFIG.image_size, "width": CONFIG.image_size},
    image_mean=IMAGENET_DEFAULT_MEAN, image_std=IMAGENET_DEFAULT_STD,  # so the pixel target equals the input pixels
)
SEED = 6000


@dataclass(frozen=True)
class Stage:
    """One cosine cycle of the learning rate with its own data mix and masking; the stages run in order, each one
    from the weights and optimiser state the one before left."""

    steps: int
    lr: float
    warmup: int
    video_share: float  # of each batch: windows of real video
    photo_share: float  # photographs under camera motion; the rest generated motion clips
    # (strategy, ratio, weight): what each training step masks; every clip of a batch shares one setting.
    maskings: tuple[tuple[str, float, float], ...]
    decoded: float = 1.0  # share of the masked tokens the decoder reconstructs (VideoMAE V2's decoder masking)


# The first stage learns the three worlds at every ratio, the decoder reconstructing a quarter of the masked tokens
# (a deeper decoder and more steps for the cost of a shallow one); the second, at a lower rate, reconstructs every
# masked token as the app does and leans towards the app's default (90% tube) and the photo and generated clips.
STAGES = (
    Stage(steps=1900, lr=1.5e-3, warmup=100, video_share=0.45, photo_share=0.4,
          maskings=(("tube", 0.9, 0.4), ("random", 0.75, 0.3), ("tube", 0.75, 0.1), ("random", 0.9, 0.1),
                    ("tube", 0.5, 0.05), ("random", 0.5, 0.05)), decoded=0.25),
    Stage(steps=550, lr=6e-4, warmup=50, video_share=0.35, photo_share=0.4,
          maskings=(("tube", 0.9, 0.55), ("random", 0.75, 0.2), ("tube", 0.75, 0.1), ("random", 0.9, 0.05),
                    ("tube", 0.5, 0.05), ("random", 0.5, 0.05))),
)


@dataclass(frozen=True)
class Recipe:
    stages: tuple[Stage, ...] = STAGES
    batch: int = 32
    generated_pool: int = 1500
    validate_every: int = 500
    checkpoint_every: int = 100
    bf16: bool = False  # this machine (AVX2, no bf16 units) runs bf16 autocast about 10x slower than fp32

    @property
    def steps(self) -> int:
        return sum(stage.steps for stage in self.stages)

    def at(self, step: int) -> tuple[Stage, int, bool]:
        """The stage that global ``step`` belongs to, the step within it and whether it is that stage's last."""
        for stage in self.stages:
            if step < stage.steps:
                return stage, step, step == stage.steps - 1
            step -= stage.steps
        raise IndexError(f"step past the recipe's {self.steps} steps")


SMOKE = Recipe(stages=(replace(STAGES[0], steps=2, warmup=1), replace(STAGES[1], steps=2, warmup=1)), batch=4,
               generated_pool=4, validate_every=2, checkpoint_every=2)


class Batches:
    """Training batches (B, T, S, S, 3) uint8 drawn from the three sources with their own generator, one batch
    made ahead in a thread while the model trains on the current one (numpy, PIL and torch release the GIL)."""

    def __init__(self, recipe: Recipe, data: Path, rng: np.random.Generator, first: int) -> None:
        self.recipe, self.rng, self.step = recipe, rng, first  # the step whose batch is drawn next
        self.pool = ThreadPoolExecutor(max_workers=1)
        self.ahead: Future | None = None
        self.videos = footage.load_videos(data)
        self.photos = footage.load_photos(data, footage.TRAIN_PHOTOS)
        side, frames = CONFIG.image_size, CONFIG.num_frames
        gen = np.random.default_rng(SEED + 1)
        self.generated = np.stack([make_pretrain_clip(gen, num_frames=frames, size=side)
                                   for _ in range(recipe.generated_pool)])

    def next(self) -> tuple[dict, np.ndarray]:
        """The generator state the batch was drawn from (for a checkpoint) and the batch; starts the next one."""
        current = self.ahead or self.pool.submit(self._draw)
        self.ahead = self.pool.submit(self._draw)
        return current.result()

    def _draw(self) -> tuple[dict, np.ndarray]:
        state = self.rng.bit_generator.state
        rng, r = self.rng, self.recipe
        stage, _, _ = r.at(min(self.step, r.steps - 1))
        self.step += 1
        n_video = round(stage.video_share * r.batch)
        n_photo = round(stage.photo_share * r.batch)
        side, frames = CONFIG.image_size, CONFIG.num_frames
        clips = [video_window(rng, self.videos[rng.integers(len(self.videos))], frames, side) for _ in range(n_video)]
        for _ in range(n_photo):
            i, j = rng.integers(len(self.photos), size=2)
            clips.append(photo_motion(rng, self.photos[i], self.photos[j], frames, side))
        picks = rng.integers(len(self.generated), size=r.batch - n_video - n_photo)
        clips.extend(self.generated[picks])
        return state, np.stack(clips)


def _masking(stage: Stage, rng: np.random.Generator) -> tuple[str, float]:
    weights = np.array([w for _, _, w in stage.maskings])
    strategy, ratio, _ = stage.maskings[rng.choice(len(weights), p=weights / weights.sum())]
    return strategy, ratio


def decoded_subset(masks: torch.Tensor, share: float, rng: np.random.Generator) -> torch.Tensor | None:
    """A random ``share`` of each clip's masked tokens, the same count per clip: (B, N) bool -> (B, N) bool, or
    None (every masked token) when ``share`` is 1."""
    if share >= 1:
        return None
    count = max(1, round(int(masks[0].sum()) * share))
    decoded = torch.zeros_like(masks)
    for row, mask in enumerate(masks):
        masked = mask.nonzero().flatten().numpy()
        decoded[row, torch.from_numpy(rng.choice(masked, count, replace=False))] = True
    return decoded


def _validate(model: VideoMAEForPreTraining, sets: dict[str, HeldOut], step: int) -> dict:
    """Decoder PSNR gain over the mean and interpolation fills on each held-out set, logged and returned."""
    model.eval()
    record = {"step": step}
    for name, held in sets.items():
        for strategy, ratio in (("tube", 0.9), ("random", 0.75)):
            gains = score(model, held, PROCESSOR, strategy, ratio)
            record[f"{name} {strategy} {ratio}"] = gains
            log.info("step %d %s %s %.2f: %+.2f dB over the mean fill, %+.2f dB over interpolation", step, name,
                     strategy, ratio, gains["over_mean"], gains["over_interpolation"])
    model.train()
    return record


def train(recipe: Recipe, work: Path) -> tuple[VideoMAEForPreTraining, float]:
    """Pre-train (resuming from ``work``/checkpoint.pt when present) -> the model in eval mode and the seconds of
    training it took, over every run that resumed (data preparation not included)."""
    footage.prepare(work / "data")
    torch.manual_seed(SEED)
    model = VideoMAEForPreTraining(CONFIG)
    init_weights(model)
    set_fused_attn(model, True)
    opt = optimizer(model, recipe.stages[0].lr)
    rng, data_rng = np.random.default_rng(SEED), np.random.default_rng(SEED + 2)
    checkpoint, log_path = work / "checkpoint.pt", work / "log.jsonl"
    first, elapsed = 0, 0.0
    if checkpoint.exists():
        state = torch.load(checkpoint, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        rng.bit_generator.state = state["rng"]
        data_rng.bit_generator.state = state["data_rng"]
        torch.set_rng_state(state["torch_rng"])
        first, elapsed = state["step"], state["seconds"]
        log.info("resumed at step %d (%.0f s trained)", first, elapsed)
    batches = Batches(recipe, work / "data", data_rng, first)
    sets = held_out_sets(work, PROCESSOR)
    model.train()
    start = time.time() - elapsed
    with open(log_path, "a", encoding="utf-8") as out:
        for step in range(first, recipe.steps):
            stage, within, last = recipe.at(step)
            for group in opt.param_groups:
                group["lr"] = cosine_lr(within, stage.steps, stage.lr, stage.warmup)
            _, clips = batches.next()
            strategy, ratio = _masking(stage, rng)
            masks = make_batch_masks(strategy, CONFIG.grid, ratio, [int(s) for s in rng.integers(0, 2**31, len(clips))])
            with torch.autocast("cpu", torch.bfloat16, enabled=recipe.bf16):
                loss = model(PROCESSOR.to_pixel_values(clips), bool_masked_pos=masks,
                             bool_decoded_pos=decoded_subset(masks, stage.decoded, rng)).loss
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            if step % 25 == 0:
                seconds = time.time() - start
                out.write(json.dumps({"step": step, "loss": round(loss.item(), 5), "masking": f"{strategy} {ratio}",
                                      "seconds": round(seconds, 1)}) + "\n")
                out.flush()
                log.info("step %d/%d loss %.5f (%s %.2f) %.0f s", step + 1, recipe.steps, loss.item(), strategy, ratio,
                         seconds)
            done = step + 1
            if done % recipe.validate_every == 0 or last:
                out.write(json.dumps(_validate(model, sets, done)) + "\n")
                out.flush()
            if done % recipe.checkpoint_every == 0 or last:
                torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "rng": rng.bit_generator.state,
                            "data_rng": batches.ahead.result()[0], "torch_rng": torch.get_rng_state(), "step": done, "seconds": time.time() - start},
                           checkpoint.with_suffix(".tmp"))
                checkpoint.with_suffix(".tmp").replace(checkpoint)
    model.eval()
    return model, (time.time() - start) if first < recipe.steps else elapsed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m videomae_viz.embedded.reconstructor",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder that receives video-tiny-pretrain/")
    parser.add_argument("--work", type=Path, required=True, help="data, log and checkpoint (resumable)")
    parser.add_argument("--smoke", action="store_true", help="a few steps, for tests")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    torch.set_num_threads(args.threads)
    recipe = SMOKE if args.smoke else Recipe()
    args.work.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    model, train_seconds = train(recipe, args.work)
    folder = args.out / "video-tiny-pretrain"
    save_pretrained(model, folder)
    PROCESSOR.save(folder)
    record = {"recipe": asdict(recipe), "seed": SEED, "torch": torch.__version__, "threads": args.threads,
              "seconds_this_run": round(time.time() - t0, 1), "train_seconds": round(train_seconds, 1),
              "log": [json.loads(line) for line in (args.work / "log.jsonl").read_text(encoding="utf-8").splitlines()
                      if "loss" not in line]}
    (folder / "training.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    log.info("wrote %s", folder)


if __name__ == "__main__":
    main()
