"""The shipped generated-motion pair (assets/motion-tiny*): it loads offline, recognises motion, uses time, and its
generated example clips are labelled as their index says. Its reconstructor is level with the mean-colour fill (its
model card); the default reconstructor's margins are tested in test_reconstructor.py. A handful of clips each, so
this stays fast; the full 800-clip numbers come from ``python -m videomae_viz.embedded.evaluate`` and live in the
model cards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from videomae_viz.checkpoints import ASSETS
from videomae_viz.config import VideoMAEConfig
from videomae_viz.embedded.evaluate import predict
from videomae_viz.embedded.synthetic import LABELS, OPPOSITE, make_dataset
from videomae_viz.embedded.train import EVAL_SEED, augment
from videomae_viz.pipeline import VideoMAEPipeline
from videomae_viz.views import VIEWS

pytestmark = pytest.mark.slow  # the shipped models end to end, on held-out clips and through the CLI

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ASSETS / "examples"
CLIPS = 24  # three per label


@pytest.fixture(scope="module")
def pipeline() -> VideoMAEPipeline:
    return VideoMAEPipeline.from_preset("embedded-motion")


@pytest.fixture(scope="module")
def held_out() -> tuple[np.ndarray, np.ndarray]:
    """Clips from the evaluation seed, which training never saw, at the model's size: (24, 16, S, S, 3) uint8 and
    (24,) label ids."""
    size = VideoMAEConfig.from_json_file(ASSETS / "motion-tiny" / "config.json").image_size
    return make_dataset(CLIPS, EVAL_SEED + 7, size=size)


def test_assets_are_small_and_in_the_hub_layout():
    total = sum(f.stat().st_size for f in ASSETS.rglob("*") if f.is_file())
    assert total <= 60 * 2**20, total
    for name in ("motion-tiny", "motion-tiny-pretrain"):
        for file in ("config.json", "preprocessor_config.json", "model.safetensors", "README.md"):
            assert (ASSETS / name / file).is_file(), (name, file)
    config = json.loads((ASSETS / "motion-tiny" / "config.json").read_text())
    assert list(config["id2label"].values()) == list(LABELS)
    assert json.loads((ASSETS / "motion-tiny-pretrain" / "config.json").read_text())["norm_pix_loss"] is False


def test_recognises_held_out_motion(pipeline, held_out):
    clips, labels = held_out
    accuracy = float((predict(pipeline, clips) == labels).mean())
    # Measured as the app answers (8 views): 23 of these 24 (19 with one view); 95.5% on the model card's 800
    # held-out clips (89.75% with one view; chance 12.5%). Issue 3 asks 95%.
    assert accuracy >= 0.9, accuracy


def test_each_declared_view_is_read_back_in_the_right_labels(pipeline, held_out):
    """The shipped label maps are right about the motions: one forward pass of each mirrored or transposed clip,
    its answer mapped back, is about as accurate as the clip as given. A map that got a pair of motions wrong
    would miss every clip of that pair."""
    clips, labels = held_out
    x = torch.cat([pipeline.classifier_processor(clip)["pixel_values"] for clip in clips])  # (24, T, 3, H, W)
    symmetries = pipeline.classifier_config.label_symmetries
    assert set(symmetries) == set(VIEWS)
    for name, perm in symmetries.items():
        with torch.inference_mode():
            answer = pipeline.classifier(VIEWS[name](x)).logits.argmax(dim=-1)  # in the view's labels
        back = torch.tensor(perm).argsort()[answer].numpy()  # class c of the clip is class perm[c] of the view
        accuracy = float((back == labels).mean())
        assert accuracy >= 0.8, (name, accuracy)  # measured: 21-23 of 24 for each view


def test_the_app_answers_every_view_alike(pipeline, held_out):
    """The app's probabilities average the declared views, so a mirrored clip gets the same answer with its labels
    mapped (one forward pass alone would not: the model itself is not exactly symmetric)."""
    x = pipeline.classifier_processor(held_out[0][0])["pixel_values"]  # (1, T, 3, H, W)
    clip = pipeline.probabilities(x)
    for name, perm in pipeline.classifier_config.label_symmetries.items():
        assert torch.allclose(pipeline.probabilities(VIEWS[name](x))[:, list(perm)], clip, atol=1e-5), name
    with torch.inference_mode():
        single = pipeline.classifier(x).logits.softmax(dim=-1)
    assert not torch.allclose(single, clip, atol=1e-3)


def test_time_reversal_flips_the_prediction(pipeline, held_out):
    clips, _ = held_out
    forward = predict(pipeline, clips)
    backward = predict(pipeline, clips[:, ::-1])
    opposite = np.array([LABELS.index(OPPOSITE[name]) for name in LABELS])
    flipped = float((backward == opposite[forward]).mean())
    assert flipped >= 0.9, flipped  # as answered: 22 of 24 here, 96.25% of 800 (one view: 89.1%); issue 3 asks 90%


def test_cli_labels_the_examples_as_their_index_says(tmp_path):
    index = [item for item in json.loads((EXAMPLES / "index.json").read_text()) if item["label"]]  # generated ones
    assert 4 <= len(index) <= 8
    clips = [str(EXAMPLES / item["file"]) for item in index]
    result = subprocess.run([sys.executable, "-m", "videomae_viz", "--no-attention", "--top-k", "1", "--out",
                             str(tmp_path), *clips], cwd=ROOT, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert result.returncode == 0, result.stderr
    predicted = [json.loads(line)["labels"][0]["label"] for line in result.stdout.splitlines()]
    assert predicted == [item["label"] for item in index]


def _both_ways(pairs: dict[str, str]) -> dict[str, str]:
    return {**pairs, **{b: a for a, b in pairs.items()}}


def test_augment_flips_and_reverses_with_the_matching_label():
    # Random pixels: a jittered copy of the right flip of its input correlates near 1, any other flip near 0.
    axes = {"t": 0, "v": 1, "h": 2}  # clips (B, T, H, W, 3): time, height, width
    relabel = {"h": _both_ways({"moving left": "moving right", "rotating clockwise": "rotating counterclockwise"}),
               "v": _both_ways({"moving up": "moving down", "rotating clockwise": "rotating counterclockwise"}),
               "t": OPPOSITE}
    clips = np.random.default_rng(0).integers(0, 256, (48, 4, 6, 7, 3), dtype=np.uint8)
    labels = np.arange(48) % len(LABELS)
    out, new = augment(clips, labels, np.random.default_rng(1))
    assert out.shape == clips.shape and out.dtype == np.uint8
    seen, jittered = set(), 0
    for i in range(len(clips)):
        candidates = {}
        for combo in ("", "h", "v", "t", "hv", "ht", "vt", "hvt"):
            clip = clips[i]
            for axis in combo:
                clip = np.flip(clip, axes[axis])
            candidates[combo] = clip
        scores = {combo: np.corrcoef(clip.ravel(), out[i].ravel())[0, 1] for combo, clip in candidates.items()}
        flips = max(scores, key=scores.get)
        assert scores[flips] > 0.8, (i, scores)
        name = LABELS[labels[i]]
        for axis in flips:
            name = relabel[axis].get(name, name)
        assert LABELS[new[i]] == name, (i, flips)
        seen.add(flips)
        jittered += not np.array_equal(candidates[flips], out[i])
    assert len(seen) >= 6 and 10 <= jittered <= 38  # about half of the clips get brightness/contrast jitter


def test_training_smoke_run_writes_loadable_checkpoints(tmp_path):
    result = subprocess.run([sys.executable, "-m", "videomae_viz.embedded.train", "--smoke", "--out", str(tmp_path)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "pretrain step 2/2 loss" in result.stderr and "finetune step 3/3 loss" in result.stderr
    assert "curriculum stage 2" in result.stderr
    pair = VideoMAEPipeline(str(tmp_path / "motion-tiny"), str(tmp_path / "motion-tiny-pretrain"))
    assert pair.classifier_config.id2label == dict(enumerate(LABELS))
    record = json.loads((tmp_path / "motion-tiny" / "training.json").read_text())
    assert record["recipe"]["finetune_steps"] == 3
    assert [entry["stage"] for entry in record["history"] if "stage" in entry] == [1, 2]
    assert (tmp_path / "examples" / "index.json").is_file()


def test_model_cards_are_written_from_the_records(tmp_path):
    from videomae_viz.embedded.model_card import write_cards

    for name in ("motion-tiny", "motion-tiny-pretrain"):
        folder = tmp_path / name
        folder.mkdir()
        for file in ("config.json", "training.json"):
            (folder / file).write_bytes((ASSETS / name / file).read_bytes())
    metrics = {"clips": 800, "seed": 3000, "top1": 0.9712, "top1_per_class": {name: 0.5 for name in LABELS},
               "reversal_flips_prediction": 0.9321, "reversal_predicts_opposite_of_truth": 0.9111,
               "reconstruction_clips": 800, "psnr_mean": 25.123, "baseline_psnr_mean": 20.456, "psnr_gain_mean": 4.667,
               "psnr_beats_baseline": 0.99, "video_path_clips": 80, "video_path_top1": 0.9625, "views": 8,
               "single_view": {"top1": 0.8512, "top1_per_class": {name: 0.25 for name in LABELS},
                               "reversal_flips_prediction": 0.8834, "reversal_predicts_opposite_of_truth": 0.8456}}
    paths = write_cards(tmp_path, metrics)
    assert [p.parent.name for p in paths] == ["motion-tiny", "motion-tiny-pretrain"]
    text = paths[0].read_text()
    for shown in ("97.1%", "93.2%", "91.1%", "85.1%", "88.3%", "84.6%", "moving left 25.0%", "8 views",
                  "25.12 dB", "20.46 dB", "+4.67 dB", "96.2%", "seed 3000"):
        assert shown in text, shown
    record = json.loads((tmp_path / "motion-tiny" / "training.json").read_text())
    assert f"{record['recipe']['finetune_steps']} steps of {record['recipe']['finetune_batch']} clips" in text
