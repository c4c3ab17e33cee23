"""Numerical parity with transformers' VideoMAE (test-only reference) on fully random weights, fp32."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
import transformers

from tests.tiny import TINY, pixel_values, randomize
from videomae_viz import kernels
from videomae_viz.checkpoints import from_hf_state_dict, load_state_dict_strict, save_pretrained
from videomae_viz.kernels import blocked_attention
from videomae_viz.masking import make_batch_masks
from videomae_viz.model import MODEL_CLASSES, set_fused_attn

TOL = 1e-4


def pair(arch: str, attn: str = "eager", **changes):
    """The same random weights in a transformers model and in ours."""
    config = TINY.replace(architectures=(arch,), **changes)
    hf_config = transformers.VideoMAEConfig.from_dict(config.to_dict())
    hf_config._attn_implementation = attn
    hf = randomize(getattr(transformers, arch)(hf_config)).eval()
    ours = MODEL_CLASSES[arch](config).eval()
    load_state_dict_strict(ours, from_hf_state_dict(hf.state_dict(), arch), "transformers")
    return hf, ours


def masks(batch: int = 2):
    return make_batch_masks("tube", TINY.grid, 0.75, seeds=list(range(batch)))


@pytest.mark.parametrize("use_mean_pooling", [True, False])
@pytest.mark.parametrize("qkv_bias", [True, False])
@pytest.mark.parametrize("fused", [True, False])
def test_classification_logits(use_mean_pooling, qkv_bias, fused):
    hf, ours = pair("VideoMAEForVideoClassification", use_mean_pooling=use_mean_pooling, qkv_bias=qkv_bias)
    set_fused_attn(ours, fused)
    x = pixel_values(TINY)
    with torch.no_grad():
        expected = hf(pixel_values=x).logits
        got = ours(x).logits
    assert got.shape == (2, 3)
    assert (got - expected).abs().max() <= TOL
    assert expected.abs().max() > 1e-2  # the comparison is not between two near-zero tensors


@pytest.mark.parametrize("norm_pix_loss", [True, False])
@pytest.mark.parametrize("fused", [True, False])
def test_pretraining_logits_and_loss(norm_pix_loss, fused):
    hf, ours = pair("VideoMAEForPreTraining", norm_pix_loss=norm_pix_loss, use_mean_pooling=False)
    set_fused_attn(ours, fused)
    x, mask = pixel_values(TINY), masks()
    with torch.no_grad():
        expected = hf(pixel_values=x, bool_masked_pos=mask)
        got = ours(x, bool_masked_pos=mask)
    n_mask = int(mask[0].sum())
    assert got.logits.shape == (2, n_mask, TINY.patch_dim)
    assert (got.logits - expected.logits).abs().max() <= TOL
    assert abs(float(got.loss) - float(expected.loss)) <= TOL
    assert float(expected.loss) > 0.01


@pytest.mark.parametrize("with_mask", [True, False])
@pytest.mark.parametrize("use_mean_pooling", [True, False])
def test_hidden_states(with_mask, use_mean_pooling):
    hf, ours = pair("VideoMAEModel", use_mean_pooling=use_mean_pooling)
    x = pixel_values(TINY)
    mask = masks() if with_mask else None
    with torch.no_grad():
        expected = hf(pixel_values=x, bool_masked_pos=mask, output_hidden_states=True)
        got = ours(x, bool_masked_pos=mask, output_hidden_states=True)
    tokens = TINY.num_patches - (int(mask[0].sum()) if with_mask else 0)
    assert got.last_hidden_state.shape == (2, tokens, TINY.hidden_size)
    assert (got.last_hidden_state - expected.last_hidden_state).abs().max() <= TOL
    assert len(got.hidden_states) == len(expected.hidden_states) == TINY.num_hidden_layers + 1
    for a, b in zip(got.hidden_states, expected.hidden_states):
        assert (a - b).abs().max() <= TOL


def test_inference_path_writes_in_place_safely():
    """Without autograd the GELU and the second residual add run in place. Every hidden state kept along the way
    equals the one from the allocating path (with autograd), so none was overwritten by a later layer."""
    _, ours = pair("VideoMAEModel")
    x = pixel_values(TINY)
    with torch.inference_mode():
        fast = ours(x, output_hidden_states=True).hidden_states
    slow = ours(x, output_hidden_states=True).hidden_states
    assert slow[-1].requires_grad and not fast[-1].requires_grad
    assert len(fast) == TINY.num_hidden_layers + 1
    for a, b in zip(fast, slow):
        assert torch.equal(a, b.detach())
    assert not torch.equal(fast[-1], fast[-2])


def test_sdpa_reference_agrees_too():
    """transformers' own SDPA path gives the same logits as ours, so parity does not hinge on its eager path."""
    hf, ours = pair("VideoMAEForVideoClassification", attn="sdpa")
    x = pixel_values(TINY)
    with torch.no_grad():
        assert (ours(x).logits - hf(pixel_values=x).logits).abs().max() <= TOL


@pytest.mark.parametrize("patch_size", [8, 32])
def test_tubelet_embedding_equals_the_convolution(patch_size):
    """The embedding runs its Conv3d weights as a matmul on patch vectors; in float64 that equals the convolution,
    token by token, on a grid of 4 x 4 patches per frame and of one."""
    config = TINY.replace(patch_size=patch_size)
    encoder = randomize(MODEL_CLASSES["VideoMAEModel"](config).double())
    x = pixel_values(config).double()
    with torch.no_grad():
        conv = encoder.patch_embed(x.transpose(1, 2)).flatten(2).transpose(1, 2)  # (B, N, D)
        got = encoder.embed(x) - encoder.pos_embed
    assert got.shape == (2, config.num_patches, config.hidden_size)
    assert (got - conv).abs().max() <= 1e-12


@pytest.mark.parametrize("block", [16, 50, 64])
def test_blocked_attention_equals_sdpa(block):
    """Blocks of query rows through one score buffer, the last block short when 50 tokens do not divide."""
    q, k, v = torch.randn(3, 2, 3, 50, 8, generator=torch.Generator().manual_seed(block)).unbind(0)
    expected = F.scaled_dot_product_attention(q, k, v)
    with torch.inference_mode():
        got = blocked_attention(q, k, v, block=block)
    assert got.shape == (2, 3, 50, 8)
    assert (got - expected).abs().max() <= 1e-6


@pytest.mark.parametrize("blocked", [True, False])
def test_bf16_inference_attention_follows_the_cpu(monkeypatch, blocked):
    """Under bf16 autocast on the CPU, inference runs blocked attention in every layer where the CPU lacks AMX
    (``BLOCKED_BF16``) and torch's fused kernel where it has it, and stays within bf16 rounding of the fp32
    reference either way; with gradients it keeps SDPA, which autograd can go through."""
    hf, ours = pair("VideoMAEForVideoClassification", attn="sdpa")
    calls = []
    monkeypatch.setattr(kernels, "BLOCKED_BF16", blocked)
    monkeypatch.setattr(kernels, "blocked_attention",
                        lambda *a, **kw: calls.append(1) or blocked_attention(*a, **kw))
    x = pixel_values(TINY)
    with torch.no_grad():
        expected = hf(pixel_values=x).logits
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        got = ours(x).logits.float()
    assert len(calls) == (TINY.num_hidden_layers if blocked else 0)
    assert (got - expected).abs().max() <= 0.02 * expected.abs().max()
    assert (got - expected).abs().max() > 0  # it did run in bf16
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ours(x).logits.float().sum().backward()
    assert len(calls) == (TINY.num_hidden_layers if blocked else 0)
    assert ours.videomae.blocks[0].attn.qkv.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("arch", ["VideoMAEForVideoClassification", "VideoMAEForPreTraining", "VideoMAEModel"])
def test_saved_folder_loads_in_transformers(arch, tmp_path):
    """Our hub-layout files (q_bias/v_bias names, as on the hub) load into transformers with identical tensors."""
    hf, ours = pair(arch, use_mean_pooling=arch == "VideoMAEForVideoClassification")
    save_pretrained(ours, tmp_path)
    reloaded = getattr(transformers, arch).from_pretrained(tmp_path).eval()
    theirs, back = hf.state_dict(), reloaded.state_dict()
    assert set(back) == set(theirs)
    for key, value in theirs.items():
        assert torch.equal(back[key], value), key
