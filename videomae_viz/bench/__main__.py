"""``python -m videomae_viz.bench [--quick] [--out docs/benchmarks.md] [--repeats N]``."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from . import attention_cost, requests, speed
from .machine import machine_info
from .reference import ReferenceMissing, transformers_module
from .report import Row, markdown, write
from .setup import Setup, random_checkpoints

log = logging.getLogger("videomae_viz.bench")

METHOD = [
    "Times are medians of runs that alternate between the contenders, the order reversed every round (A B, B A, "
    "...), after warm-up runs, in one process; comparisons are reported as ratios. fp32, batch 1, CPU, torch's "
    "default thread count.",
    "Models have seeded random weights (the training initialisation), written once with our save_pretrained and "
    "loaded by our load_model and by transformers' from_pretrained, so both run the same weights on the same input.",
    "bf16 means torch.autocast on the CPU around the same fp32 models, for ours and for transformers alike. Under "
    "it our attention runs in blocks of query rows (kernels.blocked_attention: bf16 matmuls, softmax in place); "
    "transformers' SDPA runs torch's fused kernel, which is as slow in bf16 as in fp32 on this CPU.",
    "Model FLOP utilisation: the forward's multiply-adds x 2 (config.encoder_flops plus the head) over its median "
    "time, divided by the measured matmul peak (a square torch.matmul) of the same dtype, timed in the same "
    "alternating rounds as the forwards.",
    "Peak memory: see the memory rows; each number comes from a fresh process, so earlier runs leave nothing behind.",
    "Generated videos are a moving gradient (cheap to encode and decode, lighter than camera footage); decoding a "
    "long clip whole is measured on its first part and extrapolated.",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m videomae_viz.bench", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="a tiny model, short clips and few repeats: checks the machinery in seconds")
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"),
                        help="markdown table to write; the JSON goes next to it (default: docs/benchmarks.md)")
    parser.add_argument("--repeats", type=int, help="timed rounds per comparison (default: 5, quick: 3)")
    parser.add_argument("--cache", type=Path, help="where generated clips and random checkpoints are kept")
    return parser


def run(setup: Setup) -> list[Row]:
    """Every measurement of the benchmark, as rows."""
    classifier, pretraining = random_checkpoints(setup)
    return [
        *speed.speed_rows(setup, classifier),
        *speed.drift_rows(setup, classifier),
        *speed.agreement_rows(setup),
        *attention_cost.time_rows(setup, classifier),
        *attention_cost.memory_rows(setup, classifier),
        *requests.request_rows(setup, classifier, pretraining),
        *requests.embedded_rows(setup),
        *requests.decoding_rows(setup),
        *speed.masking_rows(setup, pretraining),
    ]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    if args.repeats is not None and args.repeats < 1:
        print("error: --repeats must be at least 1", file=sys.stderr)
        return 2
    try:
        reference_version = transformers_module().__version__
    except ReferenceMissing as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    make = Setup.quick if args.quick else Setup.full
    setup = make(**{k: v for k, v in (("repeats", args.repeats), ("cache", args.cache)) if v is not None})
    log.info("benchmark, %s", setup.describe())
    rows = run(setup)
    machine = {**machine_info(reference_version), "setup": setup.describe()}
    table, data = write(rows, machine, METHOD, args.out)
    print(markdown(rows, machine, METHOD))
    print(f"wrote {table} and {data}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
