"""The processor against transformers' VideoMAE image processor (PIL backend), and its config reading and writing."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import transformers

from videomae_viz.config import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from videomae_viz.preprocess import PREPROCESSOR_CONFIG, VideoMAEProcessor, load_processor

# The PIL processor is the reference; without torchvision VideoMAEImageProcessor falls back to it.
Reference = getattr(transformers, "VideoMAEImageProcessorPil", None) or transformers.VideoMAEImageProcessor

IMAGENET = {"image_mean": IMAGENET_DEFAULT_MEAN, "image_std": IMAGENET_DEFAULT_STD}
SETTINGS = {
    "default": {},  # mean/std 0.5/0.5
    "imagenet": IMAGENET,
    "small": {"size": {"shortest_edge": 112}, "crop_size": {"height": 112, "width": 112}, **IMAGENET},
    # the resized image is narrower than the crop (zero-padded) and taller (cropped)
    "pad": {"size": {"shortest_edge": 200}},
    "fixed_size": {"size": {"height": 100, "width": 300}},
    "no_resize": {"do_resize": False},  # 97 x 133 frames are padded on both axes
}


def clip(height: int, width: int, frames: int = 16, channels: int = 3, seed: int = 0) -> np.ndarray:
    shape = (frames, height, width, channels) if channels else (frames, height, width)
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def reference(frames: np.ndarray, **settings) -> torch.Tensor:
    return Reference(**settings)(list(frames), return_tensors="pt")["pixel_values"]


@pytest.mark.parametrize("name", SETTINGS)
@pytest.mark.parametrize("height, width", [(97, 133), (301, 207)])
def test_parity_with_transformers(name, height, width):
    settings = SETTINGS[name]
    frames = clip(height, width)
    processor = VideoMAEProcessor(**settings)
    ours, theirs = processor(frames)["pixel_values"], reference(frames, **settings)
    crop = processor.crop_size
    assert ours.shape == theirs.shape == (1, 16, 3, crop["height"], crop["width"])
    assert ours.dtype == torch.float32 and ours.is_contiguous()
    diff = (ours - theirs).abs()
    one_level = 1 / 255 / min(processor.image_std) + 1e-6
    assert diff.mean() <= 0.01
    assert diff.max() <= one_level  # a pixel is never off by more than one level: the geometry is the same
    assert (diff > 1e-6).float().mean() <= 0.03


def test_parity_at_720p_with_one_level_differences_only():
    frames = clip(720, 1280, frames=2)
    diff = (VideoMAEProcessor()(frames)["pixel_values"] - reference(frames)).abs()
    assert diff.max() <= 2 / 255 + 1e-6
    assert (diff > 1e-6).float().mean() <= 0.001


def test_crop_frames_are_the_model_pixels():
    frames = clip(97, 133, frames=4)
    processor = VideoMAEProcessor(**IMAGENET)
    cropped = processor.crop_frames(frames)
    assert cropped.shape == (4, 224, 224, 3) and cropped.dtype == np.uint8
    pixels = processor.to_pixels(processor(frames)["pixel_values"])  # (1, T, 3, h, w)
    assert pixels.shape == (1, 4, 3, 224, 224) and 0 <= pixels.min() and pixels.max() <= 1
    expected = torch.from_numpy(cropped).permute(0, 3, 1, 2).float()[None]
    assert (pixels * 255 - expected).abs().max() <= 0.5


def test_a_batch_of_cropped_clips_gets_the_values_of_each_clip_alone():
    # Training feeds (B, T, h, w, 3) batches through to_pixel_values; the app feeds one clip through __call__.
    processor = VideoMAEProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}, **IMAGENET)
    batch = np.stack([clip(32, 32, frames=4, seed=seed) for seed in range(3)])  # (3, 4, 32, 32, 3)
    values = processor.to_pixel_values(batch)
    assert values.shape == (3, 4, 3, 32, 32) and values.dtype == torch.float32 and values.is_contiguous()
    for i in range(3):
        assert torch.equal(values[i], processor(batch[i])["pixel_values"][0])
    mean, std = torch.tensor(IMAGENET_DEFAULT_MEAN).view(3, 1, 1), torch.tensor(IMAGENET_DEFAULT_STD).view(3, 1, 1)
    levels = torch.from_numpy(batch[1, 2]).permute(2, 0, 1).float()  # (3, h, w)
    assert (values[1, 2] - (levels / 255 - mean) / std).abs().max() <= 1e-6


@pytest.mark.parametrize("settings", [{}, {"do_rescale": False}, {"do_normalize": False}])
def test_to_pixels_inverts_rescale_and_normalise(settings):
    processor = VideoMAEProcessor(**settings)
    frames = clip(301, 207, frames=2)
    pixels = processor.to_pixels(processor(frames)["pixel_values"])
    expected = torch.from_numpy(processor.crop_frames(frames)).permute(0, 3, 1, 2).float()[None]
    assert (pixels * 255 - expected).abs().max() <= 0.5


def test_padding_is_zero_and_centred_as_transformers_places_it():
    frames = np.full((1, 5, 6, 3), 200, np.uint8)
    cropped = VideoMAEProcessor(do_resize=False, crop_size={"height": 8, "width": 9})(frames)
    pixels = VideoMAEProcessor().to_pixels(cropped["pixel_values"])[0, 0, 0]  # (8, 9)
    rows, cols = np.nonzero(pixels.numpy())
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (2, 6, 2, 7)  # ceil(3 / 2) rows, ceil(3 / 2) cols


def test_without_crop_the_output_is_the_resized_frame():
    processor = VideoMAEProcessor(do_center_crop=False)
    assert processor.crop_frames(clip(97, 133, frames=2)).shape == (2, 224, 307, 3)  # int(224 * 133 / 97)
    assert processor.crop_frames(clip(301, 207, frames=2)).shape == (2, 325, 224, 3)


@pytest.mark.parametrize("channels", [0, 1])
def test_grayscale_frames_become_rgb(channels):
    frames = clip(97, 133, frames=3, channels=channels)
    processor = VideoMAEProcessor()
    cropped = processor.crop_frames(frames)
    assert cropped.shape == (3, 224, 224, 3)
    assert (cropped == cropped[..., :1]).all()
    rgb = np.repeat(frames.reshape(3, 97, 133, 1), 3, axis=-1)
    assert np.array_equal(cropped, processor.crop_frames(rgb))


def test_rgba_frames_are_composited_onto_white():
    frames = clip(97, 133, frames=3, channels=4)
    processor = VideoMAEProcessor()
    ours = processor(frames)["pixel_values"]
    theirs = Reference(do_convert_rgb=True)(list(frames), return_tensors="pt")["pixel_values"]
    assert (ours - theirs).abs().max() <= 1e-6
    opaque, clear = frames.copy(), frames.copy()
    opaque[..., 3], clear[..., 3] = 255, 0
    assert np.array_equal(processor.crop_frames(opaque), processor.crop_frames(opaque[..., :3]))
    assert (processor.crop_frames(clear) == 255).all()


def test_frames_may_be_a_list_an_array_or_a_tensor():
    frames = clip(97, 133, frames=2)
    processor = VideoMAEProcessor()
    expected = processor.crop_frames(frames)
    assert np.array_equal(processor.crop_frames(list(frames)), expected)
    assert np.array_equal(processor.crop_frames(torch.from_numpy(frames)), expected)


@pytest.mark.parametrize("frames", [[], np.zeros((0, 10, 10, 3), np.uint8)])
def test_empty_input_is_an_error(frames):
    with pytest.raises(ValueError, match="no frames"):
        VideoMAEProcessor()(frames)


@pytest.mark.parametrize("frames, message", [
    (np.zeros((2, 10, 10, 3), np.float32), "uint8"),
    (np.zeros((2, 10, 10, 2), np.uint8), "shape"),
    ([np.zeros((10, 10, 3), np.uint8), np.zeros((12, 10, 3), np.uint8)], "different sizes"),
])
def test_bad_frames_are_errors(frames, message):
    with pytest.raises(ValueError, match=message):
        VideoMAEProcessor(do_center_crop=False).crop_frames(frames)


# ---- preprocessor_config.json ----

def test_legacy_integer_sizes():
    processor = VideoMAEProcessor.from_dict({"size": 112, "crop_size": 100, "do_center_crop": True})
    assert processor.size == {"shortest_edge": 112}
    assert processor.crop_size == {"height": 100, "width": 100}


def test_unknown_keys_are_tolerated():
    data = {"feature_extractor_type": "VideoMAEFeatureExtractor", "processor_class": "X", "do_convert_rgb": None,
            "size": 224, "image_mean": IMAGENET_DEFAULT_MEAN, "image_std": IMAGENET_DEFAULT_STD}
    assert VideoMAEProcessor.from_dict(data) == VideoMAEProcessor(**IMAGENET)


def test_reads_what_transformers_saves(tmp_path):
    settings = {"size": {"shortest_edge": 112}, "crop_size": {"height": 112, "width": 100}, "resample": 3,
                "rescale_factor": 1 / 127.5, "do_normalize": False, **IMAGENET}
    Reference(**settings).save_pretrained(tmp_path)
    assert load_processor(tmp_path) == VideoMAEProcessor(**settings)
    assert load_processor(tmp_path / PREPROCESSOR_CONFIG) == VideoMAEProcessor(**settings)


def test_transformers_reads_what_we_save(tmp_path):
    ours = VideoMAEProcessor(size={"height": 128, "width": 160}, crop_size={"height": 112, "width": 112},
                             do_rescale=False, **IMAGENET)
    ours.save(tmp_path / "model")
    data = json.loads((tmp_path / "model" / PREPROCESSOR_CONFIG).read_text())
    assert data["image_processor_type"] == "VideoMAEImageProcessor"
    theirs = json.loads(Reference.from_pretrained(tmp_path / "model").to_json_string())
    for key, value in ours.to_dict().items():
        assert theirs[key] == value, key
    assert VideoMAEProcessor.from_dict(theirs) == ours


def test_defaults_when_there_is_no_config(tmp_path):
    assert load_processor(tmp_path) == VideoMAEProcessor()
    assert load_processor() == VideoMAEProcessor()
    assert VideoMAEProcessor().to_dict() == json.loads(Reference().to_json_string())


def test_other_sources_go_through_the_checkpoint_resolver(tmp_path, monkeypatch):
    VideoMAEProcessor(**IMAGENET).save(tmp_path)
    asked = []

    def resolve_file(source, filename):
        asked.append((source, filename))
        return tmp_path / filename if source == "owner/model" else None

    monkeypatch.setattr("videomae_viz.checkpoints.resolve_file", resolve_file)
    assert load_processor("owner/model") == VideoMAEProcessor(**IMAGENET)
    assert load_processor("owner/other") == VideoMAEProcessor()
    assert asked == [("owner/model", PREPROCESSOR_CONFIG), ("owner/other", PREPROCESSOR_CONFIG)]


def test_invalid_sizes_are_errors():
    with pytest.raises(ValueError, match="size"):
        VideoMAEProcessor(size={"longest_edge": 224})
    with pytest.raises(ValueError, match="crop_size"):
        VideoMAEProcessor(crop_size={"shortest_edge": 224})


def test_pixel_values_of_every_level_equal_a_float64_rescale():
    # transformers rescales uint8 levels in float64, casts to float32 and normalises in float32.
    processor = VideoMAEProcessor(**IMAGENET)
    levels = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)[None]  # (1, 256, 3): every level, each channel
    values = processor.to_pixel_values(levels)[:, 0]  # (3, 256)
    rescaled = torch.from_numpy((np.arange(256, dtype=np.float64) * processor.rescale_factor).astype(np.float32))
    mean, std = torch.tensor(IMAGENET_DEFAULT_MEAN).view(3, 1), torch.tensor(IMAGENET_DEFAULT_STD).view(3, 1)
    assert torch.equal(values, (rescaled[None] - mean) / std)
