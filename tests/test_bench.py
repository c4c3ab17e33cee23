"""The benchmark command end to end in quick mode: a table with every section, finite positive numbers, and a
pass/fail verdict wherever there is a target (whether targets pass is the benchmark's business, not the test's)."""

from __future__ import annotations

import json
import math

import pytest

from videomae_viz.bench.__main__ import main
from videomae_viz.bench.report import Row, Target, markdown

SECTIONS = ("Model forward", "bf16 accuracy", "Attention maps", "End-to-end request", "Embedded model end to end",
            "Long clip: sampling vs decoding whole", "Masked pre-training forward")


@pytest.mark.slow  # a whole quick benchmark run
def test_quick_benchmark_writes_table_and_json(tmp_path, capsys):
    out = tmp_path / "docs" / "bench.md"
    assert main(["--quick", "--repeats", "1", "--out", str(out), "--cache", str(tmp_path / "cache")]) == 0
    table, data = out.read_text(), json.loads(out.with_suffix(".json").read_text())
    assert "wrote" in capsys.readouterr().out
    for key in ("CPU", "cores", "torch", "date"):
        assert f"- **{key}**:" in table and data["machine"][key]
    for section in SECTIONS:
        assert f"\n## {section}\n" in table
    rows = data["rows"]
    assert {r["section"] for r in rows} == set(SECTIONS)
    for row in rows:
        assert math.isfinite(row["value"]), row
        assert (row["passed"] is None) == (row["target"] is None), row
        if row["unit"] in ("s", "x", "GFLOP/s", "%"):  # times, ratios, rates and shares (extra memory may be < 0)
            assert row["value"] > 0, row
    targeted = [r for r in rows if r["target"]]
    assert len(targeted) >= 8
    assert f"of {len(targeted)} targets met" in table


def test_verdicts_follow_the_numbers():
    rows = [Row("S", "fast", 0.5, "x", Target("<=", 1.0)), Row("S", "slow", 1.5, "x", Target("<=", 1.0)),
            Row("S", "info", 2.0, "s"), Row("S", "just over", 1.0013, "x", Target("<=", 1.0))]
    assert [r.passed for r in rows] == [True, False, None, False]
    text = markdown(rows, {"CPU": "test"}, ["note"])
    assert "1 of 3 targets met" in text and "**FAIL**" in text
    assert "| just over | 1.001 x | <= 1 | **FAIL** |" in text  # the digits that decide the verdict are shown
    assert not Target(">=", 80.0).met_by(float("nan"))


@pytest.mark.slow  # transformers and the embedded default, end to end
def test_the_gpu_check_runs_its_machinery_on_the_cpu():
    from videomae_viz.bench.gpu import main as gpu_check

    text = gpu_check(["--device", "cpu", "--quick"])
    rows = {line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("| ")}
    assert "not run" in rows["fp16"]
    for name in ("fp32", "bf16"):
        cells = [cell.strip() for cell in rows[name].split("|")[1:-1]]
        assert float(cells[1]) < (1e-4 if name == "fp32" else 0.5), cells  # ours against transformers
        assert cells[3].endswith("%") and float(cells[4]) > 0 and cells[6].endswith("x"), cells
    assert "one analysis of" in text and "files)" in text


def test_the_soak_section_is_kept_and_replaced(tmp_path):
    """The soak's record becomes the report's last section; a new record replaces it, a regenerated report keeps
    it."""
    from videomae_viz.bench.report import SOAK_HEADING, SOAK_JSON, with_soak

    record = {"requests": 1000, "failures": 0, "latency_p50_s": 0.9, "latency_p95_s": 1.2,
              "rss_mb_after": {"100": 700.1, "500": 702.0, "1000": 703.5}, "seconds": 1000.0,
              "date": "2026-12-06 23:00 UTC", "machine": "some CPU, 2 cores"}
    report = "# VideoMAE benchmarks\n\n## Model forward\n\n| a | b |\n"
    assert with_soak(report, tmp_path) == report  # no soak yet
    (tmp_path / SOAK_JSON).write_text(json.dumps(record))
    once = with_soak(report, tmp_path)
    assert once.startswith(report) and once.count(SOAK_HEADING) == 1
    assert "| failures | 0 of 1000 |" in once and "1000: 703.5 MB" in once
    record["failures"] = 2
    (tmp_path / SOAK_JSON).write_text(json.dumps(record))
    again = with_soak(once, tmp_path)
    assert again.count(SOAK_HEADING) == 1 and "| failures | 2 of 1000 |" in again and "## Model forward" in again
