"""Benchmark results as rows with targets, written as a markdown table and as JSON."""

from __future__ import annotations

import json
import math
import operator
from dataclasses import asdict, dataclass
from pathlib import Path

_OPS = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt}


@dataclass(frozen=True)
class Target:
    """A bound the measured value must meet, e.g. Target("<=", 1.0)."""

    op: str
    limit: float

    def met_by(self, value: float) -> bool:
        return math.isfinite(value) and _OPS[self.op](value, self.limit)

    def __str__(self) -> str:
        return f"{self.op} {self.limit:g}"


@dataclass(frozen=True)
class Row:
    """One measured number: ``section`` groups rows in the table, ``note`` says how it was measured."""

    section: str
    metric: str
    value: float
    unit: str
    target: Target | None = None
    note: str = ""

    @property
    def passed(self) -> bool | None:
        return None if self.target is None else self.target.met_by(self.value)


def _number(value: float) -> str:
    if value == 0 or not math.isfinite(value):
        return str(value)
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 1:
        return f"{value:.4g}"  # 1.001, not 1.00, next to a "<= 1" target
    return f"{value:.3g}"


def _text(text: str) -> str:
    """Free text for a table cell: a bare | would end the cell."""
    return text.replace("|", "\\|")


def _cell(row: Row) -> str:
    return f"{_number(row.value)} {row.unit}".strip()


def _verdict(row: Row) -> str:
    return {None: "", True: "pass", False: "**FAIL**"}[row.passed]


def markdown(rows: list[Row], machine: dict[str, str], method: list[str]) -> str:
    """The whole report: machine, method notes, a summary of targets and one table per section."""
    lines = ["# VideoMAE benchmarks", "", "Written by `python -m videomae_viz.bench`; do not edit by hand.", ""]
    lines += [f"- **{key}**: {value}" for key, value in machine.items()]
    lines += ["", "## Method", ""] + [f"- {note}" for note in method]
    checked = [r for r in rows if r.target is not None]
    passed = sum(bool(r.passed) for r in checked)
    lines += ["", "## Targets", "", f"{passed} of {len(checked)} targets met.", "",
              "| section | metric | measured | target | result |", "|---|---|---|---|---|"]
    lines += [f"| {r.section} | {_text(r.metric)} | {_cell(r)} | {r.target} | {_verdict(r)} |" for r in checked]
    for section in dict.fromkeys(r.section for r in rows):
        lines += ["", f"## {section}", "", "| metric | measured | target | result | how |", "|---|---|---|---|---|"]
        lines += [f"| {_text(r.metric)} | {_cell(r)} | {r.target or ''} | {_verdict(r)} | {_text(r.note)} |"
                  for r in rows if r.section == section]
    return "\n".join(lines) + "\n"


def to_json(rows: list[Row], machine: dict[str, str], method: list[str]) -> str:
    records = [{**asdict(r), "target": str(r.target) if r.target else None, "passed": r.passed} for r in rows]
    return json.dumps({"machine": machine, "method": method, "rows": records}, indent=2) + "\n"


SOAK_HEADING = "## Soak"
SOAK_JSON = "soak.json"  # next to the report: the last full soak's record (``bench.soak``)


def soak_section(record: dict) -> str:
    """The soak's record (``bench.soak``) as the report's last section, Markdown."""
    memory = ", ".join(f"{count}: {mb} MB" for count, mb in record["rss_mb_after"].items())
    lines = [SOAK_HEADING, "", f"Written by `python -m videomae_viz.bench.soak` on {record['date']} ({record['machine']}):"
             f" {record['requests']} sequential `/analyze_json` requests on the embedded default over loopback, the "
             "example clips in turn.", "", "| metric | measured |", "|---|---|",
             f"| failures | {record['failures']} of {record['requests']} |",
             f"| latency p50 / p95 | {record['latency_p50_s']} s / {record['latency_p95_s']} s |",
             f"| server resident memory after N requests | {memory} |",
             f"| wall time | {record['seconds']} s |"]
    return "\n".join(lines) + "\n"


def with_soak(text: str, folder: Path) -> str:
    """``text`` (a report) with its soak section replaced by the one of ``folder``/soak.json, when that exists."""
    record = folder / SOAK_JSON
    head = text.split(SOAK_HEADING)[0].rstrip("\n") + "\n"
    if not record.is_file():
        return head
    return head + "\n" + soak_section(json.loads(record.read_text(encoding="utf-8")))


def write(rows: list[Row], machine: dict[str, str], method: list[str], path: Path) -> tuple[Path, Path]:
    """Write the markdown table to ``path`` (with the last soak's section, ``with_soak``) and the JSON next to it
    (same name, .json). Returns both paths."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(with_soak(markdown(rows, machine, method), path.parent), encoding="utf-8")
    json_path = path.with_suffix(".json")
    json_path.write_text(to_json(rows, machine, method), encoding="utf-8")
    return path, json_path
