"""load_model on every source kind proves outputs equal to the transformers model holding the same weights."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import transformers

from tests.tiny import TINY, pixel_values, randomize
from videomae_viz.checkpoints import CheckpointError, load_model
from videomae_viz.masking import make_batch_masks

ROOT = Path(__file__).resolve().parent.parent
CLS = "VideoMAEForVideoClassification"
PRE = "VideoMAEForPreTraining"


def hf_model(arch: str):
    config = TINY.replace(architectures=(arch,), use_mean_pooling=arch == CLS)
    return randomize(getattr(transformers, arch)(transformers.VideoMAEConfig.from_dict(config.to_dict()))).eval()


def outputs(model, hf: bool) -> torch.Tensor:
    x = pixel_values(TINY)
    mask = make_batch_masks("tube", TINY.grid, 0.75, [0, 1]) if "PreTraining" in type(model).__name__ else None
    with torch.no_grad():
        if hf:
            return model(pixel_values=x, **({"bool_masked_pos": mask} if mask is not None else {})).logits
        return model(x, bool_masked_pos=mask).logits


def assert_same(ours, hf):
    assert not ours.training
    assert (outputs(ours, hf=False) - outputs(hf, hf=True)).abs().max() <= 1e-5


@pytest.mark.parametrize("arch", [CLS, PRE])
def test_folder_safetensors(arch, tmp_path):
    hf = hf_model(arch)
    hf.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").is_file()
    ours = load_model(tmp_path)
    assert type(ours).__name__ == arch  # the head comes from config.json's architectures
    assert_same(ours, hf)


@pytest.mark.parametrize("arch", [CLS, PRE])
def test_folder_pytorch_bin(arch, tmp_path):
    hf = hf_model(arch)
    hf.save_pretrained(tmp_path)
    (tmp_path / "model.safetensors").unlink()
    torch.save(hf.state_dict(), tmp_path / "pytorch_model.bin")  # the pre-safetensors hub format
    assert_same(load_model(tmp_path), hf)


def test_folder_sharded(tmp_path):
    hf = hf_model(CLS)
    hf.save_pretrained(tmp_path, max_shard_size="40KB")
    assert (tmp_path / "model.safetensors.index.json").is_file()
    assert len(list(tmp_path.glob("model-*.safetensors"))) > 1
    assert_same(load_model(tmp_path), hf)


def test_bare_encoder_from_a_head_checkpoint(tmp_path):
    hf = hf_model(CLS)
    hf.save_pretrained(tmp_path)
    encoder = load_model(tmp_path, architecture="VideoMAEModel")
    x = pixel_values(TINY)
    with torch.no_grad():
        expected = hf.videomae(pixel_values=x).last_hidden_state
        assert (encoder(x).last_hidden_state - expected).abs().max() <= 1e-5


@pytest.mark.slow  # a fresh Python process for the offline hub cache
def test_hub_id_from_offline_cache(tmp_path):
    """A hub id resolves from the local hub cache with HF_HUB_OFFLINE=1 (no network here or in CI)."""
    hf = hf_model(CLS)
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--MCG-NJU--videomae-tiny-test"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    hf.save_pretrained(repo / "snapshots" / commit)
    torch.save(pixel_values(TINY), tmp_path / "x.pt")
    script = (
        "import json, sys, torch; from videomae_viz import load_model;"
        "m = load_model('MCG-NJU/videomae-tiny-test');"
        f"x = torch.load({str(tmp_path / 'x.pt')!r});"
        "print(json.dumps(m(x).logits.tolist()))"
    )
    env = {**os.environ, "HF_HUB_CACHE": str(tmp_path / "hub"), "HF_HUB_OFFLINE": "1"}
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    got = torch.tensor(json.loads(run.stdout.strip().splitlines()[-1]))
    assert (got - outputs(hf, hf=True)).abs().max() <= 1e-5


@pytest.mark.slow  # a fresh Python process
def test_unreachable_hub_id_is_a_clear_error(tmp_path):
    script = "from videomae_viz import load_model; load_model('MCG-NJU/not-in-the-cache')"
    env = {**os.environ, "HF_HUB_CACHE": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    assert "CheckpointError: cannot fetch MCG-NJU/not-in-the-cache" in run.stderr


def to_original(hf) -> dict[str, torch.Tensor]:
    """transformers weights in the MCG-NJU layout (the reverse of the published conversion): fused qkv, ``blocks``,
    ``encoder.`` prefix for pre-training checkpoints, ``head`` for the classifier."""
    pretraining = isinstance(hf, transformers.VideoMAEForPreTraining)
    out: dict[str, torch.Tensor] = {}
    state = hf.state_dict()
    for key, value in state.items():
        if ".attention.attention.key." in key or ".attention.attention.value.weight" in key:
            continue
        k = key.replace("videomae.embeddings.patch_embeddings.projection", "patch_embed.proj")
        k = k.replace("videomae.encoder.layer.", "blocks.").replace("decoder.decoder_layers.", "decoder.blocks.")
        k = k.replace("videomae.layernorm.", "norm.").replace("classifier.", "head.")
        k = k.replace("attention.output.dense", "attn.proj").replace("intermediate.dense", "mlp.fc1")
        k = k.replace("output.dense", "mlp.fc2").replace("layernorm_before", "norm1").replace("layernorm_after", "norm2")
        k = k.replace("attention.attention.query.bias", "attn.q_bias").replace("attention.attention.value.bias", "attn.v_bias")
        if k.endswith("attention.attention.query.weight"):
            stem = key.removesuffix("query.weight")
            k = k.replace("attention.attention.query.weight", "attn.qkv.weight")
            value = torch.cat([state[stem + "query.weight"], state[stem + "key.weight"], state[stem + "value.weight"]])
        if pretraining and not k.startswith(("decoder.", "encoder_to_decoder", "mask_token")):
            k = "encoder." + k
        out[k] = value
    return out


@pytest.mark.parametrize("arch,container", [(PRE, "model"), (CLS, "module")])
def test_original_pth(arch, container, tmp_path):
    hf = hf_model(arch)
    path = tmp_path / "checkpoint.pth"
    torch.save({container: to_original(hf), "epoch": 3}, path)
    ours = load_model(path, size=TINY.replace(id2label={}))
    assert type(ours).__name__ == arch
    assert_same(ours, hf)


def test_original_pth_needs_a_size(tmp_path):
    path = tmp_path / "checkpoint.pth"
    torch.save({"model": to_original(hf_model(CLS))}, path)
    with pytest.raises(CheckpointError, match="name a size"):
        load_model(path)


def test_wrong_keys_fail_loudly_with_a_list(tmp_path):
    hf = hf_model(CLS)
    hf.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    config["hidden_size"], config["intermediate_size"] = 64, 64
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError) as err:
        load_model(tmp_path)
    assert "31 mis-shaped" in str(err.value) and "classifier.weight: checkpoint (3, 32) vs model (3, 64)" in str(err.value)


def test_missing_and_unexpected_keys_are_listed(tmp_path):
    hf = hf_model(PRE)
    hf.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    config["architectures"] = [CLS]
    config["id2label"] = {"0": "a"}
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError) as err:
        load_model(tmp_path)
    text = str(err.value)
    assert "2 missing: classifier.bias; classifier.weight" in text
    assert "unexpected: decoder.* (" in text and "encoder_to_decoder.weight" in text and "mask_token" in text


class RunsCode:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_pickle_that_runs_code_is_refused(tmp_path):
    hf = hf_model(CLS)
    hf.save_pretrained(tmp_path)
    (tmp_path / "model.safetensors").unlink()
    marker = tmp_path / "pwned"
    torch.save({"weights": RunsCode(marker)}, tmp_path / "pytorch_model.bin")
    with pytest.raises(CheckpointError, match="cannot be loaded safely"):
        load_model(tmp_path)
    assert not marker.exists()


def test_unknown_source_is_a_clear_error():
    with pytest.raises(CheckpointError, match="not an embedded model"):
        load_model("no such thing")
