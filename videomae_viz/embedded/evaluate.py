"""Measure the embedded pair on held-out generated clips (seed disjoint from training):

    python -m videomae_viz.embedded.evaluate [--n 800] [--json metrics.json] [--cards]

top-1 accuracy and how often time reversal flips the prediction to the opposite motion, both as the app answers
(averaged over the classifier's symmetric views) and from one forward pass of the clip as given; masked-patch PSNR
at 90% tube masking against the mean-colour baseline (leak-free by construction: the embedded decoder predicts raw
pixels).
With ``--cards`` the metrics are also written into the model cards of the embedded pair (``model_card``).
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from ..checkpoints import ASSETS
from ..pipeline import PRESETS, Settings, VideoMAEPipeline
from ..video_io import write_mp4
from .model_card import write_cards
from .synthetic import LABELS, OPPOSITE, make_clip, make_dataset
from .train import EVAL_SEED

log = logging.getLogger("videomae_viz.embedded.evaluate")

PAIR = PRESETS["embedded-motion"]  # the generated-motion pair this evaluation and its cards describe


@torch.inference_mode()
def predict(pipeline: VideoMAEPipeline, clips: np.ndarray, batch: int = 32, views: bool = True) -> np.ndarray:
    """(B, T, H, W, 3) uint8 clips through the classifier's own processor -> (B,) predicted class ids: as the app
    answers (averaged over the classifier's symmetric views), or, when not ``views``, from one forward pass of each
    clip as given."""
    out = []
    for i in range(0, len(clips), batch):
        x = torch.cat([pipeline.classifier_processor(clip)["pixel_values"] for clip in clips[i:i + batch]])
        scores = pipeline.probabilities(x) if views else pipeline.classifier(x).logits  # (b, num_labels)
        out.append(scores.argmax(dim=-1).numpy())
    return np.concatenate(out)


def classification_metrics(forward: np.ndarray, backward: np.ndarray, labels: np.ndarray) -> dict:
    """Top-1 overall and per class, and how time reversal moves the prediction, from (B,) predicted ids of the
    clips (``forward``) and of the same clips played backwards, with the true labels (B,)."""
    opposite = np.array([LABELS.index(OPPOSITE[LABELS[i]]) for i in range(len(LABELS))])
    return {
        "top1": float((forward == labels).mean()),
        "top1_per_class": {LABELS[c]: float((forward[labels == c] == c).mean()) for c in range(len(LABELS))},
        "reversal_flips_prediction": float((backward == opposite[forward]).mean()),
        "reversal_predicts_opposite_of_truth": float((backward == opposite[labels]).mean()),
    }


def video_path_accuracy(pipeline: VideoMAEPipeline, n: int, seed: int) -> float:
    """Top-1 through the app's whole path: clips rendered at 224 px with 3 frames per model step, written as H.264
    MP4 at 12 fps, decoded, sampled (16 frames spread evenly) and preprocessed (resized to the model's size)."""
    rng = np.random.default_rng(seed)
    correct = 0
    with tempfile.TemporaryDirectory() as folder:
        for i in range(n):
            label = LABELS[i % len(LABELS)]
            path = write_mp4(make_clip(rng, label, size=224, substeps=3), Path(folder) / f"{i}.mp4", fps=12.0)
            analysis = pipeline.analyze(path, Settings(top_k=1, attention=False))
            correct += analysis.labels[0][0] == label
    return correct / n


def evaluate(pipeline: VideoMAEPipeline, n: int, seed: int, reconstruct_n: int, video_n: int) -> dict:
    """All acceptance metrics of the embedded model on ``n`` clips generated with ``seed``."""
    config = pipeline.classifier_config
    t0 = time.time()
    clips, labels = make_dataset(n, seed, num_frames=config.num_frames, size=config.image_size)
    answered = classification_metrics(predict(pipeline, clips), predict(pipeline, clips[:, ::-1]), labels)
    single = classification_metrics(predict(pipeline, clips, views=False),
                                    predict(pipeline, clips[:, ::-1], views=False), labels)
    psnr, base = [], []
    for i, clip in enumerate(clips[:reconstruct_n]):
        x = pipeline.reconstructor_processor(clip)["pixel_values"]
        rec = pipeline.reconstruct(x, Settings(mask_ratio=0.9, masking="tube", seed=i))
        psnr.append(rec.psnr)
        base.append(rec.baseline_psnr)
    psnr_a, base_a = np.array(psnr), np.array(base)
    video_top1 = video_path_accuracy(pipeline, video_n, seed + 1) if video_n else None
    return {
        "clips": n,
        "seed": seed,
        "views": pipeline.classifier_views,
        **answered,
        "single_view": single,
        "reconstruction_clips": len(psnr),
        "mask": "tube 0.9, seeds 0..n-1",
        "psnr_mean": float(psnr_a.mean()),
        "baseline_psnr_mean": float(base_a.mean()),
        "psnr_gain_mean": float((psnr_a - base_a).mean()),
        "psnr_beats_baseline": float((psnr_a > base_a).mean()),
        "video_path_clips": video_n,
        "video_path_top1": video_top1,
        "seconds": round(time.time() - t0, 1),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m videomae_viz.embedded.evaluate",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=800, help="held-out clips")
    parser.add_argument("--seed", type=int, default=EVAL_SEED, help="generator seed (training uses others)")
    parser.add_argument("--reconstruct-n", type=int, default=800, help="clips scored for reconstruction")
    parser.add_argument("--video-n", type=int, default=80, help="clips also run through MP4 encoding and decoding")
    parser.add_argument("--classifier", default=PAIR.classifier)
    parser.add_argument("--reconstructor", default=PAIR.reconstructor)
    parser.add_argument("--json", type=Path, help="also write the metrics here")
    parser.add_argument("--cards", action="store_true",
                        help="write the metrics into assets/motion-tiny*/README.md (the shipped pair only)")
    args = parser.parse_args(argv)
    if args.cards and (args.classifier, args.reconstructor) != (PAIR.classifier, PAIR.reconstructor):
        parser.error("--cards describes the shipped pair: leave --classifier and --reconstructor at their defaults")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    metrics = evaluate(VideoMAEPipeline(args.classifier, args.reconstructor), args.n, args.seed,
                       min(args.reconstruct_n, args.n), args.video_n)
    text = json.dumps(metrics, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    if args.cards:
        for path in write_cards(ASSETS, metrics):
            log.info("wrote %s", path)


if __name__ == "__main__":
    main()
