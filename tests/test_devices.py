"""Device and dtype handling, tested on the CPU: the device choice, and models and pipelines moved to another device
or dtype, so that a tensor left behind fails here rather than first on a GPU."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.tiny import TINY, save_tiny_pair
from videomae_viz.devices import DEVICE_ENV, resolve_device
from videomae_viz.model import VideoMAEForVideoClassification
from videomae_viz.pipeline import Settings, VideoMAEPipeline
from videomae_viz.video_io import write_mp4

ROOT = Path(__file__).resolve().parent.parent


def test_auto_picks_cuda_only_when_torch_sees_it(monkeypatch):
    monkeypatch.delenv(DEVICE_ENV, raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device() == torch.device("cpu") and resolve_device("auto") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device() == torch.device("cuda")
    assert resolve_device("cpu") == torch.device("cpu")  # cpu forces the CPU
    monkeypatch.setenv(DEVICE_ENV, "cpu")
    assert resolve_device() == torch.device("cpu")  # the app's variable


def test_a_device_that_is_not_there_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="sees no CUDA GPU"):
        resolve_device("cuda")
    with pytest.raises(ValueError, match="unknown device"):
        resolve_device("gpu-please")


def test_the_classifier_traces_on_the_meta_device():
    """Shapes only: every tensor a forward pass makes follows the input's device (a CPU tensor would fail here).
    The autoencoder selects tokens by its mask, which needs the mask's values, so it is checked in float64 below."""
    model = VideoMAEForVideoClassification(TINY).to("meta")
    x = torch.empty(2, TINY.num_frames, 3, TINY.image_size, TINY.image_size, device="meta")
    logits = model(x).logits
    assert logits.shape == (2, len(TINY.id2label)) and logits.device.type == "meta"


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory) -> tuple[str, str, Path]:
    folder = tmp_path_factory.mktemp("devices")
    classifier, reconstructor = save_tiny_pair(folder / "models")
    frames = np.zeros((12, 40, 40, 3), np.uint8)
    for i in range(12):
        frames[i, 10:26, 2 + 2 * i: 18 + 2 * i] = (200, 80, 40)
    return classifier, reconstructor, write_mp4(frames, folder / "clip.mp4", fps=8)


def test_a_float64_pipeline_gives_the_float32_answers(tiny_clip):
    """Every input, mask and buffer follows the models' dtype: a float32 tensor left behind fails the matmuls."""
    classifier, reconstructor, clip = tiny_clip
    single = VideoMAEPipeline(classifier, reconstructor, device="cpu")
    double = single.to(dtype=torch.float64)
    assert double.classifier.videomae.blocks[0].attn.qkv.weight.dtype == torch.float64
    assert single.classifier.videomae.blocks[0].attn.qkv.weight.dtype == torch.float32  # the first one is unchanged
    settings = Settings(mask_ratio=0.5, top_k=3)
    a, b = single.analyze(clip, settings), double.analyze(clip, settings)
    assert [name for name, _ in a.labels] == [name for name, _ in b.labels]
    assert np.allclose([p for _, p in a.labels], [p for _, p in b.labels], atol=1e-5)
    assert abs(a.reconstruction.psnr - b.reconstruction.psnr) < 1e-3
    assert torch.allclose(a.attention.rollout, b.attention.rollout.float(), atol=1e-5)
    top = single.class_id(a.labels[0][0])
    assert torch.allclose(single.relevance(a, top), double.relevance(b, top).float(), atol=1e-4)


@pytest.mark.slow  # two CLI runs in subprocesses
def test_the_cli_takes_a_device(tiny_clip):
    classifier, reconstructor, clip = tiny_clip
    common = [sys.executable, "-m", "videomae_viz", "--classifier", classifier, "--reconstructor", reconstructor,
              "--no-attention", str(clip)]
    ok = subprocess.run([*common, "--device", "cpu"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stderr
    env = {"CUDA_VISIBLE_DEVICES": "", "PATH": "/usr/bin:/bin"}
    missing = subprocess.run([*common, "--device", "cuda"], cwd=ROOT, capture_output=True, text=True, timeout=300,
                             env=env)
    assert missing.returncode == 2 and missing.stderr.strip().splitlines() == [
        "error: device 'cuda' asked for, but torch sees no CUDA GPU here; use auto or cpu"]
