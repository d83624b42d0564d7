"""The dataset report: one self-contained HTML file of charts and tables about a dataset folder."""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from qa_crawler.record import REQUIRED_PARTS

REPORT_NAME = "report.html"
WIDTH_IN = 8.0
HEIGHT_IN = 4.0
DPI = 100
MAX_DEPARTMENTS = 25
MAX_LABEL = 38
# Okabe-Ito colours: distinguishable with the common colour-vision deficiencies.
BLUE, ORANGE, SKY, GREEN, GREY = "#0072B2", "#E69F00", "#56B4E9", "#009E73", "#999999"
GENDER_COLOURS = {"female": ORANGE, "male": BLUE}
TEXT_COLUMNS = ("question", "answer", "more_info")


@dataclass
class Chart:
    """One section of the report: a PNG, or the reason there is nothing to draw."""

    key: str
    heading: str
    png_b64: str | None = None
    alt: str = ""
    summary: str = ""


# -- reading -------------------------------------------------------------------------------


def _read_manifest(folder: Path) -> dict:
    path = folder / "manifest.json"
    if not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def _read(qa: Path, columns: list[str]) -> pa.Table:
    """The named columns of ``qa.parquet``; a column the file lacks comes back all null."""
    present = set(pq.read_schema(qa).names)
    table = pq.read_table(qa, columns=[c for c in columns if c in present])
    for name in columns:
        if name not in present:
            table = table.append_column(name, pa.nulls(table.num_rows))
    return table


def _text_lengths(qa: Path, column: str) -> np.ndarray:
    """Character lengths of a text column's non-null cells, a batch at a time."""
    if column not in pq.read_schema(qa).names:
        return np.array([], dtype=np.int64)
    parts = []
    # Batches keep memory flat: a large crawl's texts need not all be in memory at once.
    for batch in pq.ParquetFile(qa).iter_batches(columns=[column], batch_size=20_000):
        lengths = pc.utf8_length(batch.column(0).cast(pa.string())).drop_null()
        parts.append(lengths.to_numpy(zero_copy_only=False))
    return np.concatenate(parts).astype(np.int64) if parts else np.array([], dtype=np.int64)


# -- drawing -------------------------------------------------------------------------------


def _figure(height: float = HEIGHT_IN) -> Figure:
    # A bare Figure (not pyplot) renders with Agg and never touches the caller's backend or
    # global figure list, so a notebook or a long-running process can call us safely.
    return Figure(figsize=(WIDTH_IN, height), dpi=DPI, layout="constrained")


def _png(fig: Figure) -> str:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        # Names in a script the bundled font lacks still draw (as boxes); not worth failing on.
        warnings.filterwarnings("ignore", message=r"Glyph .* missing from")
        # No software/date metadata: the same data gives byte-identical images.
        fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"


def _style(ax) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_axisbelow(True)


def _department_chart(table: pa.Table) -> Chart:
    chart = Chart("departments", "Questions per department")
    col = table["department"]
    missing = col.null_count
    counts = pc.value_counts(col.drop_null()).to_pylist()
    if not counts:
        chart.summary = "No data: no row has a department."
        return chart
    pairs = sorted(((c["values"], c["counts"]) for c in counts), key=lambda p: (-p[1], p[0]))
    if len(pairs) > MAX_DEPARTMENTS:
        rest = pairs[MAX_DEPARTMENTS - 1:]
        pairs = pairs[: MAX_DEPARTMENTS - 1] + [
            (f"{len(rest)} other departments", sum(n for _, n in rest))]
    labels = [_short(d) for d, _ in pairs]
    values = [n for _, n in pairs]
    fig = _figure(max(HEIGHT_IN, 0.32 * len(pairs) + 1.2))
    ax = fig.add_subplot()
    bars = ax.barh(range(len(pairs)), values, color=BLUE)
    ax.set_yticks(range(len(pairs)), labels)
    ax.invert_yaxis()
    ax.bar_label(bars, padding=3, fontsize=9)
    ax.set_xlabel("questions")
    ax.set_ylabel("department")
    ax.set_title("Questions per department")
    ax.set_xlim(0, max(values) * 1.12)
    ax.grid(axis="x", alpha=0.3)
    _style(ax)
    chart.png_b64 = _png(fig)
    total = sum(values)
    chart.alt = "Horizontal bars: " + ", ".join(f"{d} {n}" for d, n in pairs[:10])
    chart.summary = (f"{len(counts)} department(s); the largest, {pairs[0][0]}, holds "
                     f"{pairs[0][1]} of {total} questions ({pairs[0][1] / total:.0%}).")
    if missing:
        chart.summary += f" {missing} row(s) have no department and are not shown."
    return chart


def _year_chart(table: pa.Table) -> Chart:
    chart = Chart("years", "Questions per year asked")
    years = pc.year(table["asked_on"]).drop_null().to_numpy(zero_copy_only=False)
    missing = table.num_rows - len(years)
    if not len(years):
        chart.summary = "No data: no row has an ask date."
        return chart
    span = np.arange(years.min(), years.max() + 1)
    values = np.array([(years == y).sum() for y in span])
    fig = _figure()
    ax = fig.add_subplot()
    bars = ax.bar(span, values, color=BLUE, width=0.8)
    if len(span) <= 30:
        ax.bar_label(bars, padding=2, fontsize=8)
    # Integer year ticks; thinned so that labels never overlap on a long crawl.
    step = max(1, int(np.ceil(len(span) / 16)))
    ax.set_xticks(span[::step], [str(y) for y in span[::step]])
    ax.set_xlabel("year asked")
    ax.set_ylabel("questions")
    ax.set_title("Questions per year asked")
    ax.set_ylim(0, values.max() * 1.15)
    ax.grid(axis="y", alpha=0.3)
    _style(ax)
    chart.png_b64 = _png(fig)
    busiest = int(span[values.argmax()])
    chart.alt = "Bars per year: " + ", ".join(f"{y} {n}" for y, n in zip(span, values))
    chart.summary = (f"Asked from {int(span[0])} to {int(span[-1])}; busiest year {busiest} "
                     f"({int(values.max())} questions).")
    if missing:
        chart.summary += f" {missing} row(s) have no ask date and are not shown."
    return chart


def _days(n: float) -> str:
    return f"{n:g} day" if n == 1 else f"{n:g} days"


def _delay_chart(table: pa.Table) -> Chart:
    chart = Chart("reply-delay", "Reply delay")
    days = pc.days_between(table["asked_on"], table["answered_on"]).drop_null()
    days = days.to_numpy(zero_copy_only=False).astype(np.int64)
    if not len(days):
        chart.summary = "No data: no row has both an ask date and a reply date."
        return chart
    median = float(np.median(days))
    # A long tail (replies years later) would squash the bulk into one bar: draw up to the
    # 99th percentile and say how many lie beyond.
    cut = int(np.ceil(np.percentile(days, 99))) if days.max() - days.min() > 60 else days.max()
    shown = days[days <= cut]
    beyond = len(days) - len(shown)
    lo, hi = int(shown.min()), int(shown.max())
    bins = np.arange(lo, hi + 2) - 0.5 if hi - lo <= 60 else 40
    fig = _figure()
    ax = fig.add_subplot()
    ax.hist(shown, bins=bins, color=BLUE, edgecolor="white")
    ax.axvline(median, color=ORANGE, linewidth=2, label=f"median {_days(median)}")
    ax.legend(frameon=False)
    ax.set_xlabel("days from question to reply (answered_on − asked_on)")
    ax.set_ylabel("questions")
    ax.set_title(f"Reply delay (median {_days(median)})")
    if hi - lo <= 60:
        ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(axis="y", alpha=0.3)
    _style(ax)
    chart.png_b64 = _png(fig)
    negative = int((days < 0).sum())
    chart.alt = f"Histogram of reply delays in days; median {median:g}."
    chart.summary = (f"Median reply delay {_days(median)} over {len(days)} questions "
                     f"(quartiles {np.percentile(days, 25):g} and {np.percentile(days, 75):g}, "
                     f"longest {int(days.max())}).")
    if beyond:
        chart.summary += f" {beyond} delay(s) longer than {cut} days are not drawn."
    if negative:
        chart.summary += (f" {negative} reply date(s) come before their ask date: a data error "
                          "on the page or in parsing.")
    missing = table.num_rows - len(days)
    if missing:
        chart.summary += f" {missing} row(s) lack one of the two dates."
    return chart


def age_band(lo: int | None, hi: int | None) -> str:
    """The age band as the site shows it: ``20~29``, ``under 10``, ``over 60``, or ``unknown``."""
    if lo is None and hi is None:
        return "unknown"
    if lo is None:
        return f"under {hi + 1}"
    if hi is None:
        return f"over {lo}"
    return str(lo) if lo == hi else f"{lo}~{hi}"


def _band_order(lo: int | None, hi: int | None) -> tuple:
    if lo is None and hi is None:
        return (1, 0, 0)
    return (0, -1 if lo is None else lo, 10_000 if hi is None else hi)


def _asker_chart(table: pa.Table) -> Chart:
    chart = Chart("askers", "Askers by age band and gender")
    if not table.num_rows:
        chart.summary = "No data: the dataset has no rows."
        return chart
    if all(table[c].null_count == table.num_rows
           for c in ("asker_age_min", "asker_age_max", "asker_gender")):
        chart.summary = "No data: no row has an age band or a gender."
        return chart
    groups = table.select(["asker_age_min", "asker_age_max", "asker_gender"]).group_by(
        ["asker_age_min", "asker_age_max", "asker_gender"]).aggregate([([], "count_all")])
    counts: dict[tuple[str, str], int] = {}
    bands: dict[str, tuple] = {}
    for row in groups.to_pylist():
        band = age_band(row["asker_age_min"], row["asker_age_max"])
        bands[band] = min(bands.get(band, (9,)), _band_order(row["asker_age_min"],
                                                             row["asker_age_max"]))
        gender = row["asker_gender"] or "not given"
        counts[band, gender] = counts.get((band, gender), 0) + row["count_all"]
    band_names = sorted(bands, key=lambda b: bands[b])
    present = {g for _, g in counts}
    genders = [g for g in ("female", "male") if g in present]
    genders += sorted(present - {"female", "male", "not given"})
    genders += ["not given"] if "not given" in present else []
    fig = _figure()
    ax = fig.add_subplot()
    x = np.arange(len(band_names))
    width = 0.8 / len(genders)
    for k, gender in enumerate(genders):
        values = [counts.get((b, gender), 0) for b in band_names]
        colour = GENDER_COLOURS.get(gender, GREY if gender == "not given" else GREEN)
        ax.bar(x + (k - (len(genders) - 1) / 2) * width, values, width, label=gender,
               color=colour)
    ax.set_xticks(x, band_names, rotation=30 if len(band_names) > 9 else 0)
    ax.set_xlabel("asker age band (years)")
    ax.set_ylabel("askers")
    ax.set_title("Askers by age band and gender")
    ax.legend(title="gender", frameon=False)
    ax.grid(axis="y", alpha=0.3)
    _style(ax)
    chart.png_b64 = _png(fig)
    by_gender = {g: sum(n for (_, gg), n in counts.items() if gg == g) for g in genders}
    total = sum(by_gender.values())
    chart.alt = "Grouped bars of askers per age band, one bar per gender."
    chart.summary = "Askers: " + ", ".join(f"{g} {n} ({n / total:.0%})"
                                            for g, n in by_gender.items()) + "."
    unknown = sum(n for (b, _), n in counts.items() if b == "unknown")
    if unknown:
        chart.summary += f" {unknown} gave no age."
    return chart


def _fill_chart(manifest: dict, n_rows: int) -> Chart:
    chart = Chart("fill-rates", "Field fill rates")
    rates = manifest.get("fill_rates") or {}
    if not rates or not n_rows:
        chart.summary = "No data: the manifest has no fill rates for a non-empty dataset."
        return chart
    names = list(rates)
    values = [100 * float(rates[n] or 0) for n in names]
    required = set(REQUIRED_PARTS) | {"qa_id", "url"}
    colours = [BLUE if n in required else SKY for n in names]
    fig = _figure(max(HEIGHT_IN, 0.26 * len(names) + 1.4))
    ax = fig.add_subplot()
    bars = ax.barh(range(len(names)), values, color=colours)
    ax.set_yticks(range(len(names)), names, fontsize=9)
    ax.invert_yaxis()
    ax.bar_label(bars, labels=[f"{v:.0f}%" for v in values], padding=3, fontsize=8)
    ax.set_xlim(0, 112)
    ax.set_xticks(range(0, 101, 20), [f"{v}%" for v in range(0, 101, 20)])
    ax.set_xlabel("rows with a value (%)")
    ax.set_ylabel("column")
    ax.set_title("Field fill rates")
    fig.legend(handles=[Patch(color=BLUE, label="every Q&A page has it"),
                        Patch(color=SKY, label="optional, or provenance of the fetch")],
               loc="outside lower center", ncol=2, frameon=False, fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    _style(ax)
    chart.png_b64 = _png(fig)
    low = [n for n in names if n in required and rates[n] < 0.95]
    chart.alt = "Horizontal bars of the share of rows with a value, per column."
    chart.summary = (f"{sum(1 for v in values if v >= 99.995)} of {len(names)} columns are filled "
                     "in every row.")
    if low:
        chart.summary += (" Columns every page should have but that are under 95%: "
                          + ", ".join(low) + ".")
    return chart


def _length_chart(qa: Path) -> Chart:
    chart = Chart("text-lengths", "Text lengths")
    data = {c: _text_lengths(qa, c) for c in TEXT_COLUMNS}
    data = {c: v for c, v in data.items() if len(v)}
    if not data:
        chart.summary = "No data: no question, answer or more_info text."
        return chart
    # One panel per column, each with its own x axis: more_info is often tens of times longer
    # than a question, and on a shared axis the short texts would collapse into one bar.
    fig = _figure(max(HEIGHT_IN, 1.9 * len(data) + 0.6))
    axes = fig.subplots(len(data), 1, squeeze=False)[:, 0]
    clipped = []
    for ax, (name, values) in zip(axes, data.items()):
        median = float(np.median(values))
        # Clip only a real long tail (a few pasted essays), not the ordinary top percent.
        p99 = float(np.percentile(values, 99))
        cut = p99 if values.max() > 2 * p99 else values.max()
        shown = values[values <= cut]
        if len(shown) < len(values):
            clipped.append(f"{len(values) - len(shown)} {name} text(s) over {cut:,.0f}")
        ax.hist(shown, bins=min(40, max(5, len(np.unique(shown)))), color=SKY, edgecolor="white")
        ax.axvline(median, color=ORANGE, linewidth=2, label=f"median {median:,.0f}")
        ax.legend(frameon=False, fontsize=8, loc="upper right")
        ax.set_title(f"{name} (n={len(values):,})", fontsize=10, loc="left")
        ax.set_xlabel("characters")
        ax.set_ylabel("rows")
        ax.grid(axis="y", alpha=0.3)
        _style(ax)
    fig.suptitle("Text lengths in characters")
    chart.png_b64 = _png(fig)
    chart.alt = "Histograms of character lengths: " + ", ".join(
        f"{c} median {np.median(v):,.0f}" for c, v in data.items())
    chart.summary = "Median length: " + ", ".join(
        f"{c} {np.median(v):,.0f} characters" for c, v in data.items()) + "."
    if clipped:
        chart.summary += " Not drawn (a long tail): " + "; ".join(clipped) + "."
    absent = [c for c in TEXT_COLUMNS if c not in data]
    if absent:
        chart.summary += " No text at all in: " + ", ".join(absent) + "."
    return chart


# -- page ----------------------------------------------------------------------------------


def _when(value) -> str:
    if not value:
        return "unknown"
    try:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    if moment.tzinfo:
        moment = moment.astimezone(dt.timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _e(value) -> str:
    return html.escape("" if value is None else str(value))


def _verdict(monitors: dict | None) -> str:
    if not monitors:
        return "—"
    failed = [c.get("name", "?") for c in monitors.get("checks", []) if not c.get("ok", True)]
    verdict = monitors.get("verdict", "?")
    return f"{verdict}: {', '.join(failed)}" if failed else verdict


def _runs_html(manifest: dict) -> str:
    runs = manifest.get("runs") or []
    if not runs:
        return '<p class="nodata">No data: the manifest lists no crawl runs.</p>'
    workers = len({r.get("worker") for r in runs}) > 1
    head = ["#", "started (UTC)", "finished (UTC)", *(["worker"] if workers else []),
            "finish reason", "new records", "changed records", "failures", "monitors"]
    rows = []
    for k, run in enumerate(runs, start=1):
        stats = run.get("stats") or {}
        failures = sum(v for key, v in stats.items()
                       if key.startswith("qa/failures/") and isinstance(v, (int, float)))
        verdict = _verdict(run.get("monitors"))
        cls = ' class="bad"' if verdict.startswith("fail") else ""
        cells = [k, _when(run.get("started_at")), _when(run.get("finished_at")),
                 *([run.get("worker")] if workers else []),
                 run.get("finish_reason") or "did not finish",
                 stats.get("qa/records/new", 0), stats.get("qa/records/changed", 0), failures]
        kinds = {0: "num", 1: "when", 2: "when", 4 + workers: "num", 5 + workers: "num",
                 6 + workers: "num"}
        rows.append("<tr>" + "".join(
            f'<td class="{kinds[i]}">{_e(c)}</td>' if i in kinds else f"<td>{_e(c)}</td>"
            for i, c in enumerate(cells))
            + f"<td{cls}>{_e(verdict)}</td></tr>")
    out = ['<table class="runs"><thead><tr>' + "".join(f"<th>{_e(h)}</th>" for h in head)
           + "</tr></thead><tbody>", *rows, "</tbody></table>"]
    latest = manifest.get("monitors")
    if latest:
        out.append(f"<p>Latest monitors verdict: <strong>{_e(latest.get('verdict'))}</strong></p>")
        out.append("<ul class=checks>" + "".join(
            f"<li>{'✔' if c.get('ok') else '✘'} <code>{_e(c.get('name'))}</code>: "
            f"{_e(c.get('message'))}</li>" for c in latest.get("checks", [])) + "</ul>")
    return "\n".join(out)


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;
 margin:0;color:#1d1d1f;background:#f6f7f9;line-height:1.45}
main{max-width:860px;margin:0 auto;padding:24px 20px 48px}
h1{font-size:1.6em;margin:0 0 4px}
h2{font-size:1.2em;margin:0 0 8px}
.sub{color:#555;margin:0 0 16px}
section{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:16px 18px;
 margin:0 0 18px}
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:0}
dt{color:#555}dd{margin:0}
img{display:block;max-width:100%;height:auto;margin:4px 0 8px}
.nodata{color:#8a5a00;background:#fff6e0;border:1px solid #f0d9a0;padding:10px 12px;
 border-radius:6px}
.summary{margin:0;color:#333}
pre{background:#f0f2f5;padding:10px 12px;border-radius:6px;overflow-x:auto;font-size:.88em}
code{font-family:ui-monospace,"DejaVu Sans Mono",monospace}
table{border-collapse:collapse;width:100%;font-size:.9em}
th,td{border-bottom:1px solid #e3e6ea;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f0f2f5}td.num{text-align:right;font-variant-numeric:tabular-nums}
td.when{white-space:nowrap}
td.bad{color:#b00020;font-weight:600}
ul.checks{margin:4px 0 0;padding-left:18px}
nav a{margin-right:12px}
"""


def _header_html(folder: Path, manifest: dict, n_rows: int) -> str:
    rows = manifest.get("rows") or {}
    crawl = manifest.get("crawl") or {}
    asked = manifest.get("asked_on_range") or [None, None]
    counts = ", ".join(f"{_e(t)} {rows.get(t, 0):,}"
                       for t in ("qa", "similar", "related_topics", "failures") if t in rows)
    runs = manifest.get("runs") or []
    items = [
        # Shown as text, not a link: the report must not point the browser anywhere.
        ("Source", f"<code>{_e(manifest.get('start_url') or 'unknown')}</code>"),
        ("Crawl window", f"{_e(_when(crawl.get('started_at')))} to "
                         f"{_e(_when(crawl.get('finished_at')))} UTC, {len(runs)} run(s)"),
        ("Questions asked", f"{_e(asked[0] or 'unknown')} to {_e(asked[1] or 'unknown')}"),
        ("Rows", counts or f"qa {n_rows:,}"),
        ("Made by", f"qa-crawler {_e(manifest.get('tool_version', '?'))}, parser "
                    f"{_e(manifest.get('parser_version', '?'))}, schema version "
                    f"{_e(manifest.get('schema_version', '?'))}"),
        ("Dataset written", f"{_e(_when(manifest.get('created_at')))} UTC"),
    ]
    return "<dl>" + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in items) + "</dl>"


HOW_TO_LOAD = """\
import qa_crawler                       # run from this folder, or give its path
df = qa_crawler.load_dataset(".")       # pandas DataFrame of qa.parquet
df.groupby("department").size()

import duckdb
duckdb.sql("SELECT department, count(*) AS n FROM 'qa.parquet' GROUP BY 1 ORDER BY n DESC")
duckdb.sql("SELECT q.department, r.topic, count(*) FROM 'qa.parquet' q "
           "JOIN 'related_topics.parquet' r USING (qa_id) GROUP BY 1, 2 ORDER BY 3 DESC")
"""


def _chart_html(chart: Chart) -> str:
    body = [f'<section class="chart" id="{chart.key}"><h2>{_e(chart.heading)}</h2>']
    if chart.png_b64:
        body.append(f'<img src="data:image/png;base64,{chart.png_b64}" alt="{_e(chart.alt)}" '
                    f'width="{int(WIDTH_IN * DPI)}">')
        body.append(f'<p class="summary">{_e(chart.summary)}</p>')
    else:
        body.append(f'<p class="nodata">{_e(chart.summary)}</p>')
    body.append("</section>")
    return "\n".join(body)


def render_report(dataset_dir: str | os.PathLike) -> str:
    """The report of a dataset folder as an HTML string."""
    folder = Path(dataset_dir)
    qa = folder / "qa.parquet"
    if not qa.is_file():
        raise FileNotFoundError(f"{folder}: no qa.parquet here; is it a qa-crawler dataset folder?")
    manifest = _read_manifest(folder)
    table = _read(qa, ["department", "asked_on", "answered_on", "asker_age_min",
                       "asker_age_max", "asker_gender"])
    for name, kind in (("asked_on", pa.date32()), ("answered_on", pa.date32()),
                       ("asker_age_min", pa.int16()), ("asker_age_max", pa.int16()),
                       ("department", pa.string()), ("asker_gender", pa.string())):
        # An all-null column from another writer may come typed as null; give it its type.
        if table[name].type != kind:
            table = table.set_column(table.schema.get_field_index(name), name,
                                     table[name].cast(kind))
    charts = [
        _department_chart(table), _year_chart(table), _delay_chart(table),
        _asker_chart(table), _fill_chart(manifest, table.num_rows), _length_chart(qa),
    ]
    nav = " ".join(f'<a href="#{c.key}">{_e(c.heading)}</a>' for c in charts)
    made = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        # Nothing may load from outside the file: the report must open offline and must not
        # tell a third party who reads it. A stray external reference fails visibly.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "img-src data:; style-src 'unsafe-inline'\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Dataset report: {_e(folder.resolve().name)}</title>",
        f"<style>{CSS}</style></head><body><main>",
        "<h1>Q&amp;A dataset report</h1>",
        f'<p class="sub">Dataset folder <code>{_e(folder.resolve().name)}</code>; report '
        f"written {made} UTC by qa-crawler.</p>",
        '<section id="about"><h2>What this is</h2>',
        _header_html(folder, manifest, table.num_rows),
        "<h2 style=\"margin-top:14px\">How to load it</h2>",
        f"<pre><code>{_e(HOW_TO_LOAD)}</code></pre>",
        f"<nav>{nav} <a href=\"#runs\">Crawl history</a></nav></section>",
        *[_chart_html(c) for c in charts],
        '<section id="runs"><h2>Crawl history</h2>',
        _runs_html(manifest),
        "</section>",
        "</main></body></html>",
        "",
    ])


def write_report(dataset_dir: str | os.PathLike) -> Path:
    """Write ``report.html`` into the dataset folder and return its path; prints nothing."""
    folder = Path(dataset_dir)
    text = render_report(folder)
    path = folder / REPORT_NAME
    tmp = folder / (REPORT_NAME + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    # Renamed into place so that a reader never opens a half-written report.
    os.replace(tmp, path)
    return path
