"""Attention maps recorded during the classifying forward pass equal maps built from transformers' full eager attention
matrices, and recording them leaves the answer as it was."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch
import transformers

from tests.tiny import TINY, pixel_values, randomize
from videomae_viz.attention import (
    AttentionMaps,
    class_relevance,
    maps_from_records,
    own_slice_share,
    recording,
    temporal_profile,
)
from videomae_viz.checkpoints import from_hf_state_dict, load_state_dict_strict
from videomae_viz.model import VideoMAEForVideoClassification, set_fused_attn

CLS = "VideoMAEForVideoClassification"


def models():
    config = TINY.replace(architectures=(CLS,))
    hf_config = transformers.VideoMAEConfig.from_dict(config.to_dict())
    hf_config._attn_implementation = "eager"
    hf = randomize(transformers.VideoMAEForVideoClassification(hf_config), seed=4).eval()
    ours = VideoMAEForVideoClassification(config).eval()
    load_state_dict_strict(ours, from_hf_state_dict(hf.state_dict(), CLS), "transformers")
    return hf, ours


def ours_maps(model, x):
    with torch.inference_mode(), recording(model.videomae) as records:
        model(x)
    return maps_from_records(records)


def test_maps_equal_full_matrices_of_the_reference():
    hf, ours = models()
    x = pixel_values(TINY, batch=1)
    with torch.no_grad():
        full = hf(pixel_values=x, output_attentions=True).attentions  # L x (1, heads, N, N)
    maps = ours_maps(ours, x)
    n = TINY.num_patches
    for layer, a in enumerate(full):
        a = a[0]  # (heads, N, N)
        assert torch.allclose(maps.received[layer], a.mean(dim=1), atol=1e-5)
        for token in (0, 7, n - 1):
            assert torch.allclose(maps.query(layer, token), a[:, token], atol=1e-5)
    # rollout: explicit products of (A + I) / 2, read out as the mean row
    rollout = torch.eye(n)
    for layer, a in enumerate(full):
        rollout = 0.5 * (a[0].mean(0) + torch.eye(n)) @ rollout
        assert torch.allclose(rollout.sum(dim=1), torch.ones(n), atol=1e-5)  # rows sum to 1
        assert torch.allclose(maps.rollout[layer], rollout.mean(dim=0), atol=1e-5)
        assert abs(float(maps.rollout[layer].sum()) - 1) < 1e-5


def test_relevance_matches_chefer_on_full_matrices_and_depends_on_the_class():
    hf, ours = models()
    x = pixel_values(TINY, batch=1)
    n = TINY.num_patches
    for class_id in (0, 2):
        out = hf(pixel_values=x, output_attentions=True)
        for a in out.attentions:
            a.retain_grad()
        out.logits[0, class_id].backward()
        relevance = torch.eye(n)
        expected = []
        for a in out.attentions:
            cam = (a.grad[0] * a[0]).clamp(min=0).mean(dim=0).detach()
            relevance = relevance + cam @ relevance
            expected.append((relevance - torch.eye(n)).mean(dim=0))
        hf.zero_grad()
        got = class_relevance(ours, x, class_id)
        assert torch.allclose(got, torch.stack(expected), atol=1e-5)
    first, second = class_relevance(ours, x, 0)[-1], class_relevance(ours, x, 2)[-1]
    assert (first / first.sum() - second / second.sum()).abs().max() > 1e-3


@pytest.mark.parametrize("fused", [True, False])
def test_recording_leaves_the_answer_and_reads_the_first_clip(fused):
    """The recorded pass (blocked attention) gives the logits of the plain pass, SDPA or manual, and with a batch of
    two clips it records the first: the maps equal those of that clip alone."""
    _, ours = models()
    set_fused_attn(ours, fused)
    x = pixel_values(TINY, batch=2)
    with torch.inference_mode():
        plain = ours(x).logits
        with recording(ours.videomae) as records:
            recorded = ours(x).logits
    assert (recorded - plain).abs().max() <= 1e-5
    batch, alone = maps_from_records(records), ours_maps(ours, x[:1])
    assert torch.allclose(batch.received, alone.received, atol=1e-6)
    assert torch.allclose(batch.rollout, alone.rollout, atol=1e-6)
    assert all(torch.equal(a, b) for a, b in zip(batch.k, alone.k))
    second = ours_maps(ours, x[1:])
    assert (batch.received - second.received).abs().max() > 1e-4  # the clips' maps do differ


def test_recording_in_bf16_stays_near_fp32():
    _, ours = models()
    x = pixel_values(TINY, batch=1)
    expected = ours_maps(ours, x)
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16), recording(ours.videomae) as records:
        ours(x)
    got = maps_from_records(records)
    assert got.received.dtype == torch.float32 and got.q[0].dtype == torch.bfloat16
    assert torch.allclose(got.received, expected.received, atol=2e-2)
    assert torch.allclose(got.rollout, expected.rollout, atol=2e-2)
    assert abs(float(got.rollout[-1].sum()) - 1) < 1e-3


def test_recording_ends_with_its_block():
    _, ours = models()
    x = pixel_values(TINY, batch=1)
    with torch.inference_mode(), recording(ours.videomae) as records:
        ours(x)
    assert len(records) == TINY.num_hidden_layers
    with torch.inference_mode():
        ours(x)
    assert len(records) == TINY.num_hidden_layers


def test_concurrent_recordings_on_one_model_stay_apart():
    """Two threads (two requests in the app) record on the same model at the same time: each records its own
    forward pass, exactly as it would alone."""
    _, ours = models()
    inputs = [pixel_values(TINY, batch=1, seed=seed) for seed in (1, 2)]
    alone = [ours_maps(ours, x) for x in inputs]
    inside, done = threading.Barrier(2, timeout=30), threading.Barrier(2, timeout=30)

    def run(x):
        with torch.inference_mode(), recording(ours.videomae) as records:
            inside.wait()  # both recordings are open before either forward pass starts...
            ours(x)
            done.wait()  # ...and both passes have finished before either recording closes
        return records

    with ThreadPoolExecutor(2) as pool:
        captured = list(pool.map(run, inputs))
    for records, expected in zip(captured, alone):
        assert len(records) == TINY.num_hidden_layers
        maps = maps_from_records(records)
        assert all(torch.equal(a, b) for a, b in zip(maps.q, expected.q))
        assert torch.allclose(maps.rollout, expected.rollout)


def test_temporal_profile_sums_to_one():
    profile = temporal_profile(torch.rand(TINY.num_patches), TINY.grid)
    assert profile.shape == (TINY.grid[0],) and abs(float(profile.sum()) - 1) < 1e-6


def test_own_slice_share_is_one_for_self_attention_and_one_over_t_for_uniform():
    grid = (4, 2, 3)  # t, h, w: 24 tokens
    n, heads, d = 24, 2, 24
    eye = torch.eye(n).expand(heads, n, d) * 50.0  # each token attends (almost only) to itself
    zeros = torch.zeros(heads, n, d)  # every score equal: attention spread evenly
    maps = AttentionMaps(q=[eye, zeros], k=[eye, zeros], received=torch.zeros(2, heads, n), rollout=torch.zeros(2, n))
    share = own_slice_share(maps, grid)
    assert share.shape == (2, heads)
    assert torch.allclose(share[0], torch.ones(heads), atol=1e-4)
    assert torch.allclose(share[1], torch.full((heads,), 1 / 4), atol=1e-6)
