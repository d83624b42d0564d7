"""Figures and how they are reported: the console table, ``results.json`` and ``results.md``.

A :class:`Figure` is one of ours measured next to its baseline in the same run; its ratio is
what the target is about (absolute numbers on a shared 2-core machine are noisy, ratios much
less so). A figure that could not be measured (Redis down, ...) carries ``skipped``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class Measure:
    """One side of a figure: a throughput (higher is better) or a size (lower is better)."""

    label: str
    value: float
    unit: str

    def text(self) -> str:
        return f"{self.label}: {_num(self.value)} {self.unit}"


@dataclass
class Figure:
    key: str
    title: str
    ours: Measure | None = None
    baseline: Measure | None = None
    ratio: float | None = None
    target: float | None = None
    higher_is_better: bool = True  # the ratio must be >= target; else <= target
    extra: dict[str, float] = field(default_factory=dict)  # other ratios worth a line
    details: dict = field(default_factory=dict)  # raw numbers: runs, seconds, counts
    skipped: str | None = None
    note: str | None = None  # what holds a missed target back (benchmarks/notes.py)

    @property
    def met(self) -> bool | None:
        if self.ratio is None or self.target is None:
            return None
        return self.ratio >= self.target if self.higher_is_better else self.ratio <= self.target

    @property
    def target_text(self) -> str:
        if self.target is None:
            return ""
        return f"{'>=' if self.higher_is_better else '<='} {self.target:g}"

    def verdict(self) -> str:
        if self.skipped:
            return "skipped"
        return {True: "met", False: "MISSED", None: ""}[self.met]

    def to_json(self) -> dict:
        out = asdict(self)
        out["met"] = self.met
        return out


def _num(x: float) -> str:
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def _ratio(x: float | None) -> str:
    return "" if x is None else f"{x:.2f}"


def table_rows(figures: list[Figure]) -> list[list[str]]:
    rows = [["figure", "ours", "baseline", "ratio", "target", "verdict"]]
    for f in figures:
        if f.skipped:
            rows.append([f.title, f"skipped: {f.skipped}", "", "", f.target_text, "skipped"])
            continue
        rows.append([f.title, f.ours.text() if f.ours else "", f.baseline.text() if f.baseline
                     else "", _ratio(f.ratio), f.target_text, f.verdict()])
        for name, value in f.extra.items():
            rows.append([f"  {name}", "", "", _ratio(value), "", ""])
    return rows


def console_table(figures: list[Figure]) -> str:
    rows = table_rows(figures)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(figures: list[Figure]) -> str:
    rows = table_rows(figures)
    out = ["| " + " | ".join(rows[0]) + " |", "|" + " --- |" * len(rows[0])]
    for row in rows[1:]:
        cells = [c.replace("|", "\\|") for c in row]
        indent = len(cells[0]) - len(cells[0].lstrip(" "))
        cells[0] = "&emsp;" * (indent // 2) + cells[0].lstrip(" ")  # extra lines, indented
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def summary(figures: list[Figure]) -> str:
    """One line: how many targets were met, missed, skipped."""
    verdicts = [f.verdict() for f in figures]
    return (f"Targets met: {verdicts.count('met')} of {len(figures)}; missed:"
            f" {verdicts.count('MISSED')}; skipped: {verdicts.count('skipped')}.")


def _machine_md(machine: dict) -> str:
    versions = ", ".join(f"{k} {v}" for k, v in machine["versions"].items() if v)
    return "\n".join([
        f"- date: {machine['date']}",
        (f"- CPU: {machine['cpu']}, {machine['cores']} cores; RAM {machine['ram_gib']} GiB;"
         f" {machine['os']}"),
        f"- Python {machine['python']}; {versions}",
        (f"- load average (1, 5, 15 min) at start: {machine.get('load_average_at_start')},"
         f" at end: {machine.get('load_average_at_end')}"),
    ])


def _details_md(f: Figure) -> str:
    lines = [f"### {f.title}", ""]
    if f.skipped:
        lines += [f"Skipped: {f.skipped}", ""]
    elif f.ours and f.baseline:
        lines += [f"- ours: {f.ours.text()}", f"- baseline: {f.baseline.text()}",
                  f"- ratio {_ratio(f.ratio)} (target {f.target_text}): **{f.verdict()}**"]
        lines += [f"- {name}: {_ratio(v)}" for name, v in f.extra.items()]
        lines.append("")
    if f.note:
        lines += [f.note.strip(), ""]
    if f.details:
        lines += ["<details><summary>raw numbers</summary>", "", "```json",
                  json.dumps(f.details, indent=1, default=str), "```", "", "</details>", ""]
    return "\n".join(lines)


def write_results(figures: list[Figure], machine: dict, config: dict, out_dir: Path,
                  elapsed: float) -> tuple[Path, Path]:
    """Write ``results.json`` and ``results.md`` into ``out_dir``; returns their paths."""
    json_path, md_path = out_dir / "results.json", out_dir / "results.md"
    json_path.write_text(json.dumps({
        "machine": machine, "config": config, "elapsed_seconds": round(elapsed, 1),
        "figures": [f.to_json() for f in figures],
    }, indent=2, default=str) + "\n")
    md = [
        "# qa-crawler benchmarks",
        "",
        "Written by `make bench` (`python -m benchmarks`"
        + (" --quick" if config.get("quick") else "") + "); every figure is measured next to its"
        " baseline in the same run, and the ratio is what the target is about.",
        "",
        "## Machine",
        "",
        _machine_md(machine),
        "",
        f"Configuration: {json.dumps(config)}; the whole run took {elapsed / 60:.1f} min.",
        "",
        "## Results",
        "",
        summary(figures),
        "",
        markdown_table(figures),
        "",
        "## Figures, and what holds back the targets missed",
        "",
    ]
    md += [_details_md(f) for f in figures]
    md_path.write_text("\n".join(md).rstrip() + "\n")
    return json_path, md_path
