"""What the attention maps cost over a plain classifying forward pass, in time and in peak memory; transformers'
``output_attentions=True`` alongside for comparison."""

from __future__ import annotations

import functools
import logging
import statistics
from pathlib import Path

import torch

from ..attention import AttentionMaps, LayerRecord, class_relevance, maps_from_records, recording
from ..checkpoints import load_model
from ..config import VideoMAEConfig
from .peak_memory import Action, available, peak_growth_mb
from .reference import load_reference
from .report import Row, Target
from .setup import Setup
from .speed import ALTERNATED, forward, random_input
from .timing import alternate, rounds

log = logging.getLogger(__name__)

SECTION = "Attention maps"
MEMORY_NOTE = ("peak RSS growth of the action in a fresh process (VmHWM reset through /proc/self/clear_refs after a "
               "warm-up run), minus the same for a plain forward")


def recorded_forward(model: torch.nn.Module, x: torch.Tensor) -> list[LayerRecord]:
    """The classifying forward pass with every layer's attention recorded (blocked attention, reduced as it goes)."""
    with torch.inference_mode(), recording(model.videomae) as records:
        model(x)
    return records


def query_rows(maps: AttentionMaps, token: int) -> list[torch.Tensor]:
    """Where one token looks, in every layer and head."""
    return [maps.query(layer, token) for layer in range(maps.num_layers)]


def all_maps(model: torch.nn.Module, x: torch.Tensor) -> AttentionMaps:
    """Every map but relevance, as a request computes them: recorded forward, received and rollout, one query."""
    maps = maps_from_records(recorded_forward(model, x))
    query_rows(maps, maps.q[0].shape[1] // 2)  # the middle token
    return maps


def reference_attentions(model: torch.nn.Module, x: torch.Tensor) -> tuple:
    """transformers' full attention matrices of every layer (its eager path)."""
    with torch.inference_mode():
        return model(pixel_values=x, output_attentions=True).attentions


def prepare(folder: str, task: str) -> Action:
    """An action for the memory measurement, built in the child process: "plain", "attention" or "relevance" on our
    model, "transformers" (SDPA forward) or "transformers attentions" (eager, output_attentions=True)."""
    x = random_input(VideoMAEConfig.from_json_file(Path(folder) / "config.json"))
    if task == "transformers":
        reference = load_reference(folder, "sdpa")
        return lambda: forward(reference, x)
    if task == "transformers attentions":
        reference = load_reference(folder, "eager")
        return lambda: reference_attentions(reference, x)
    model = load_model(folder)
    actions = {"plain": lambda: forward(model, x), "attention": lambda: all_maps(model, x),
               "relevance": lambda: class_relevance(model, x, 0)}
    return actions[task]


def recorded_mb(records: list[LayerRecord]) -> float:
    """What a recorded pass keeps: q and k of every layer for later queries, the head means for rollout, in MB."""
    return sum(t.numel() * t.element_size() for r in records for t in (r.q, r.k, r.received, r.mean)) / 2**20


def time_rows(setup: Setup, classifier: Path) -> list[Row]:
    config = setup.classifier_config
    model = load_model(classifier)
    x = random_input(config)
    records = recorded_forward(model, x)
    maps = maps_from_records(records)
    token = config.num_patches // 2
    log.info("attention maps: time")
    timed = rounds({
        "plain": lambda: forward(model, x),
        "record": lambda: recorded_forward(model, x),
        "maps": lambda: maps_from_records(records),
        "query": lambda: query_rows(maps, token),
    }, 2 * setup.repeats, setup.warmup)
    seconds = {name: statistics.median(values) for name, values in timed.items()}
    plain = seconds["plain"]
    record_cost = max(statistics.median(c - p for c, p in zip(timed["record"], timed["plain"])), 0.0)
    total = record_cost + seconds["maps"] + seconds["query"]
    relevance = alternate({"relevance": lambda: class_relevance(model, x, 0)}, setup.slow_repeats, 1)["relevance"]
    sdpa, eager = load_reference(classifier, "sdpa"), load_reference(classifier, "eager")
    reference = alternate({"sdpa": lambda: forward(sdpa, x), "attentions": lambda: reference_attentions(eager, x)},
                          setup.slow_repeats, 1)
    return [
        Row(SECTION, "classifying forward, plain", plain, "s", None, ALTERNATED),
        Row(SECTION, "recording during that forward (blocked attention, reduced per block), extra",
            record_cost / plain, "x forward", None,
            f"median over {2 * setup.repeats} rounds of (recorded forward - plain forward) in the same round, over "
            "the plain forward; 0 if negative"),
        Row(SECTION, "attention received + rollout, all layers and heads", seconds["maps"] / plain, "x forward",
            None, "maps_from_records on the recorded layers"),
        Row(SECTION, "query rows: one token, all layers and heads", seconds["query"] / plain, "x forward", None,
            "AttentionMaps.query per layer"),
        Row(SECTION, "all maps but relevance (recording + received + rollout + query), all layers", total / plain,
            "x forward", Target("<=", 0.3), "sum of the three lines above"),
        Row(SECTION, "class relevance, all layers (forward with grad + gradients + maps)", relevance / plain,
            "x forward", Target("<=", 0.3), f"median of {setup.slow_repeats}; needs its own forward with autograd "
            "and a backward pass to the first layer, so it cannot be a fraction of a forward"),
        Row(SECTION, "transformers output_attentions=True (eager) / its SDPA forward", reference["attentions"]
            / reference["sdpa"], "x", None, f"for comparison; median of {setup.slow_repeats}, alternating"),
        Row(SECTION, "size of what a recorded pass keeps (q, k and head-mean attention of every layer)",
            recorded_mb(records), "MB", None, "computed from tensor sizes"),
    ]


def memory_rows(setup: Setup, classifier: Path) -> list[Row]:
    if not available():
        return []
    log.info("attention maps: peak memory (fresh processes)")
    folder = str(classifier)
    tasks = ["plain", "attention"] + (["relevance", "transformers", "transformers attentions"]
                                      if setup.mode == "full" else [])
    growth = {task: peak_growth_mb(functools.partial(prepare, folder, task)) for task in tasks}
    rows = [Row(SECTION, "extra peak memory: all maps but relevance", growth["attention"] - growth["plain"], "MB",
                Target("<=", 300.0), MEMORY_NOTE)]
    if "relevance" in growth:
        rows += [
            Row(SECTION, "extra peak memory: class relevance", growth["relevance"] - growth["plain"], "MB", None,
                MEMORY_NOTE),
            Row(SECTION, "extra peak memory: transformers output_attentions=True (eager)",
                growth["transformers attentions"] - growth["transformers"], "MB", None,
                "as above, against transformers' SDPA forward"),
        ]
    return rows
