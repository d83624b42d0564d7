"""The dataset report: ``report.html``, one self-contained page of charts about a dataset folder.

Everything the page shows is inside the file: the charts are PNGs drawn with matplotlib (Agg)
and embedded as ``data:`` URIs, the style is inline, and there is no script. A Content Security
Policy forbids the browser to load anything else, so the report opens offline, tells no third
party who reads it, and a stray external reference would fail visibly.

The chart columns are read with the project's own loader, :func:`qa_crawler.load.load_dataset`;
the long texts are only measured, by pyarrow, one column and 256 rows at a time; so a large
dataset is never loaded whole.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from pipelines.audit import render_audit
from qa_crawler.load import load_dataset, qa_file
from qa_crawler import stats as keys
from qa_crawler.record import LONG_TEXTS, NESTED, NOT_NULL, REQUIRED_PARTS

REPORT_NAME = "report.html"
WIDTH_IN, HEIGHT_IN = 8.0, 3.8
DPI = 150  # drawn at 1.5x and shown 800 px wide: sharp on high-density screens too
SHOWN_WIDTH = 800
MAX_DEPARTMENTS = 25
MAX_RUNS_DRAWN = 40
MAX_RUNS_LISTED = 50
MAX_LABEL = 38
DAY_BINS_UP_TO = 45  # reply delays up to this many days get one bar per day; longer: buckets
DELAY_BUCKETS = [(0, 0, "same day"), (1, 1, "1"), (2, 3, "2–3"), (4, 7, "4–7"), (8, 14, "8–14"),
                 (15, 30, "15–30"), (31, 90, "31–90"), (91, 365, "91–365"),
                 (366, None, "over 365")]
CHART_COLUMNS = {  # what the charts read, and the dtype to give a column the file lacks
    "department": "string", "asked_on": "datetime64[ms]", "answered_on": "datetime64[ms]",
    "asker_age_min": "Int16", "asker_age_max": "Int16", "asker_gender": "string",
}
CHART_SOURCES = {"departments": ("department",), "years": ("asked_on",),
                 "reply-delay": ("asked_on", "answered_on")}
# Okabe-Ito colours: distinguishable with the common colour-vision deficiencies.
BLUE, ORANGE, SKY, GREEN, VERMILION, GREY = (
    "#0072B2", "#E69F00", "#56B4E9", "#009E73", "#D55E00", "#999999")
GENDER_COLOURS = {"female": ORANGE, "male": BLUE, "not given": GREY}


@dataclass
class Chart:
    """One section of the report: a chart, how to read it, and what it shows."""

    key: str
    heading: str
    how_to_read: str
    png_b64: str | None = None
    alt: str = ""
    findings: list[str] = field(default_factory=list)
    nodata: str = ""


# -- reading -------------------------------------------------------------------------------


def _read_manifest(folder: Path) -> dict:
    try:
        return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _load_columns(folder: Path, present: set[str], wanted: dict[str, str]) -> pd.DataFrame:
    """The wanted columns of ``qa``; one the file lacks (or that was redacted) comes back empty."""
    df = load_dataset(folder, columns=[c for c in wanted if c in present])
    for name, dtype in wanted.items():
        if name not in present:
            df[name] = pd.Series(pd.NA if dtype != "datetime64[ms]" else pd.NaT,
                                 index=df.index, dtype=dtype)
    return df


def _text_lengths(folder: Path, column: str) -> np.ndarray:
    """Character lengths of one text column's non-null cells, counted by Arrow a row group at a
    time: the texts themselves never sit in memory all at once, whatever the dataset's size."""
    lengths = []
    with pq.ParquetFile(qa_file(folder)) as qa:
        for batch in qa.iter_batches(columns=[column], batch_size=256):  # long texts: small batches
            counted = pc.drop_null(pc.utf8_length(batch.column(0)))
            lengths.append(counted.to_numpy(zero_copy_only=False).astype(np.int64))
    return np.concatenate(lengths) if lengths else np.zeros(0, dtype=np.int64)


def _fill_rates(folder: Path, manifest: dict, present: list[str]) -> tuple[dict, str]:
    """Share of rows with a value per column: the manifest's, else counted from the file."""
    rates = manifest.get("fill_rates")
    if rates:
        return {c: float(v or 0) for c, v in rates.items()}, "manifest.json"
    rates = {}
    rows = pq.ParquetFile(folder / "qa.parquet").metadata.num_rows
    for name in present:
        values = pq.read_table(folder / "qa.parquet", columns=[name])[name]
        if name in NESTED:  # a list is filled when it has at least one entry
            filled = sum(1 for v in values.to_pylist() if v)
        else:
            filled = len(values) - values.null_count
        rates[name] = filled / rows if rows else 0.0
    return rates, "qa.parquet"


# -- drawing -------------------------------------------------------------------------------


def _figure(height: float = HEIGHT_IN) -> Figure:
    # A bare Figure on an Agg canvas (not pyplot): never touches the caller's backend or the
    # global figure list, so a notebook or a long-running process can call us safely.
    fig = Figure(figsize=(WIDTH_IN, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Figure) -> str:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        # A name in a script the bundled font lacks still draws (as boxes): not worth failing.
        warnings.filterwarnings("ignore", message=r"Glyph .* missing from")
        # No software/date metadata: the same data gives byte-identical images.
        fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _style(ax, grid: str = "y", counts: bool = True) -> None:
    """Light grid along the value axis; whole-number ticks when it counts things."""
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_axisbelow(True)
    ax.grid(axis=grid, alpha=0.3)
    if counts:
        (ax.yaxis if grid == "y" else ax.xaxis).set_major_locator(MaxNLocator(integer=True))


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"


def _n(value: int) -> str:
    return f"{value:,}"


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "–"


def _department_chart(df: pd.DataFrame) -> Chart:
    chart = Chart("departments", "Questions per department",
                  "Each bar is one department; its length, and the number at its end, is how "
                  "many questions were answered there. Largest first; past "
                  f"{MAX_DEPARTMENTS} bars the smallest departments are added up into one bar.")
    counts = df["department"].value_counts()
    pairs = sorted(((str(d), int(n)) for d, n in counts.items()), key=lambda p: (-p[1], p[0]))
    if not pairs:
        chart.nodata = "No row has a department."
        return chart
    n_departments = len(pairs)
    if len(pairs) > MAX_DEPARTMENTS:
        rest = pairs[MAX_DEPARTMENTS - 1:]
        pairs = pairs[: MAX_DEPARTMENTS - 1] + [
            (f"{len(rest)} other departments", sum(n for _, n in rest))]
    values = [n for _, n in pairs]
    fig = _figure(max(HEIGHT_IN, 0.3 * len(pairs) + 1.1))
    ax = fig.add_subplot()
    bars = ax.barh(range(len(pairs)), values, color=BLUE)
    ax.set_yticks(range(len(pairs)), [_short(d) for d, _ in pairs])
    ax.invert_yaxis()
    ax.bar_label(bars, labels=[_n(v) for v in values], padding=3, fontsize=9)
    ax.set_xlim(0, max(values) * 1.12)
    ax.set_title("Questions per department")
    ax.set_xlabel("questions")
    ax.set_ylabel("department")
    _style(ax, "x")
    chart.png_b64 = _png(fig)
    total = sum(values)
    chart.alt = "Horizontal bar chart of questions per department: " + ", ".join(
        f"{d} {n}" for d, n in pairs[:10])
    chart.findings.append(
        f"{n_departments} department(s); the largest, {pairs[0][0]}, has {_n(pairs[0][1])} of "
        f"{_n(total)} questions ({_share(pairs[0][1], total)}).")
    missing = int(df["department"].isna().sum())
    if missing:
        chart.findings.append(f"{_n(missing)} row(s) have no department and are not drawn.")
    return chart


def _year_chart(df: pd.DataFrame) -> Chart:
    chart = Chart("years", "Questions per year",
                  "Each bar counts the questions asked in one calendar year (from the ask date, "
                  "asked_on). A low last bar may just mean that year was not over, or not "
                  "fully crawled, when the data was collected.")
    years = df["asked_on"].dropna().dt.year.to_numpy(dtype=np.int64)
    if not len(years):
        chart.nodata = "No row has an ask date."
        return chart
    span = np.arange(years.min(), years.max() + 1)
    values = np.bincount(years - years.min(), minlength=len(span))
    fig = _figure()
    ax = fig.add_subplot()
    bars = ax.bar(span, values, color=BLUE, width=0.8)
    if len(span) <= 30:
        ax.bar_label(bars, labels=[_n(int(v)) for v in values], padding=2, fontsize=8)
    step = max(1, int(np.ceil(len(span) / 16)))  # never so many year labels that they overlap
    ax.set_xticks(span[::step], [str(y) for y in span[::step]])
    ax.set_ylim(0, values.max() * 1.15)
    ax.set_title("Questions per year asked")
    ax.set_xlabel("year asked")
    ax.set_ylabel("questions")
    _style(ax)
    chart.png_b64 = _png(fig)
    busiest = int(span[values.argmax()])
    chart.alt = "Bar chart of questions per year: " + ", ".join(
        f"{y} {n}" for y, n in zip(span, values))
    chart.findings.append(f"Asked from {span[0]} to {span[-1]}; the busiest year is {busiest} "
                          f"with {_n(int(values.max()))} questions.")
    missing = int(df["asked_on"].isna().sum())
    if missing:
        chart.findings.append(f"{_n(missing)} row(s) have no ask date and are not drawn.")
    return chart


def _days(n: float) -> str:
    return f"{n:g} day" if n == 1 else f"{n:g} days"


def _delay_chart(df: pd.DataFrame) -> Chart:
    chart = Chart("reply-delay", "Reply delay",
                  "How long askers waited for the doctor's reply: the reply date minus the ask "
                  "date (answered_on − asked_on) in whole days, 0 meaning the same day. Each bar "
                  "counts the questions answered after that many days (past "
                  f"{DAY_BINS_UP_TO} days, in wider groups); the orange line is the median. "
                  "Rows without both dates are left out, and so is a reply dated before its "
                  "question (a data error), counted below.")
    both = df["asked_on"].notna() & df["answered_on"].notna()
    days = (df.loc[both, "answered_on"] - df.loc[both, "asked_on"]).dt.days.to_numpy(np.int64)
    negative = int((days < 0).sum())
    days = days[days >= 0]
    if not len(days):
        chart.nodata = ("No row has both an ask date and a reply date"
                        + (f" in order ({negative} reply before its question)." if negative
                           else "."))
        return chart
    median = float(np.median(days))
    fig = _figure()
    ax = fig.add_subplot()
    if days.max() <= DAY_BINS_UP_TO:
        values = np.bincount(days, minlength=int(days.max()) + 1)
        positions = np.arange(len(values))
        bars = ax.bar(positions, values, color=BLUE, width=0.85)
        ax.axvline(median, color=ORANGE, linewidth=2, linestyle="--",
                   label=f"median {_days(median)}")
        step = max(1, int(np.ceil(len(positions) / 20)))
        ax.set_xticks(positions[::step])
        ax.set_xlabel("days from question to reply")
    else:
        values = np.array([int(((days >= lo) & (days <= (hi if hi is not None else days.max())))
                                .sum()) for lo, hi, _ in DELAY_BUCKETS])
        positions = np.arange(len(DELAY_BUCKETS))
        bars = ax.bar(positions, values, color=BLUE, width=0.85)
        where = next(k for k, (lo, hi, _) in enumerate(DELAY_BUCKETS)
                     if hi is None or median <= hi)
        ax.axvline(where, color=ORANGE, linewidth=2, linestyle="--",
                   label=f"median {_days(median)}")
        ax.set_xticks(positions, [label for _, _, label in DELAY_BUCKETS])
        ax.set_xlabel("days from question to reply (grouped)")
    if len(values) <= 46:
        ax.bar_label(bars, labels=[_n(int(v)) if v else "" for v in values], padding=2,
                     fontsize=8)
    ax.set_ylim(0, values.max() * 1.15)
    ax.legend(frameon=False)
    ax.set_title(f"Reply delay (median {_days(median)})")
    ax.set_ylabel("questions")
    _style(ax)
    chart.png_b64 = _png(fig)
    same_day = int((days == 0).sum())
    chart.alt = f"Histogram of reply delays in days; median {median:g}, longest {days.max()}."
    chart.findings.append(
        f"Median {_days(median)} over {_n(len(days))} questions; {_share(same_day, len(days))} "
        f"answered the same day; quartiles {np.percentile(days, 25):g} and "
        f"{np.percentile(days, 75):g} days; longest {_days(int(days.max()))}.")
    if negative:
        chart.findings.append(f"{_n(negative)} reply date(s) come before their ask date (an "
                              "error on the page or in parsing) and are not drawn.")
    missing = int((~both).sum())
    if missing:
        chart.findings.append(f"{_n(missing)} row(s) lack one of the two dates.")
    return chart


def age_band(lo, hi) -> str:
    """The age band as the site shows it: ``20~29``, ``under 10``, ``over 60`` or ``no age``."""
    lo = None if pd.isna(lo) else int(lo)
    hi = None if pd.isna(hi) else int(hi)
    if lo is None and hi is None:
        return "no age"
    if lo is None:
        return f"under {hi + 1}"
    if hi is None:
        return f"over {lo}"
    return str(lo) if lo == hi else f"{lo}~{hi}"


def _band_order(band: str, lo, hi) -> tuple:
    if band == "no age":
        return (2, 0, 0)
    lo = -1 if pd.isna(lo) else int(lo)
    hi = 10_000 if pd.isna(hi) else int(hi)
    return (0, lo, hi)


def _asker_chart(df: pd.DataFrame, redacted: dict) -> Chart:
    chart = Chart("askers", "Askers by age band and gender",
                  "Askers grouped by the age band the page shows (asker_age_min to "
                  "asker_age_max, as in '20~29', 'under 10', 'over 60'), one bar per gender "
                  "within each band. 'not given': the page shows no gender; 'no age': the page "
                  "shows no age band.")
    # Redacted columns come empty from the loader (render_report asks for none of them), so
    # they are drawn as 'not given'.
    hidden = [c for c in ("asker_age_min", "asker_age_max", "asker_gender") if c in redacted]
    if all(df[c].isna().all() for c in df.columns if c.startswith("asker_")):
        chart.nodata = ("No row has an age band or a gender"
                        + (f" ({', '.join(hidden)} redacted in this dataset)." if hidden else "."))
        return chart
    groups = df.groupby(["asker_age_min", "asker_age_max", "asker_gender"],
                            dropna=False).size()
    counts: dict[tuple[str, str], int] = {}
    order: dict[str, tuple] = {}
    for (lo, hi, gender), n in groups.items():
        band = age_band(lo, hi)
        order[band] = min(order.get(band, (9,)), _band_order(band, lo, hi))
        key = (band, "not given" if pd.isna(gender) else str(gender))
        counts[key] = counts.get(key, 0) + int(n)
    bands = sorted(order, key=lambda b: order[b])
    present = {g for _, g in counts}
    genders = ([g for g in ("female", "male") if g in present]
               + sorted(present - {"female", "male", "not given"})
               + (["not given"] if "not given" in present else []))
    fig = _figure()
    ax = fig.add_subplot()
    x = np.arange(len(bands))
    width = 0.8 / len(genders)
    for k, gender in enumerate(genders):
        values = [counts.get((b, gender), 0) for b in bands]
        ax.bar(x + (k - (len(genders) - 1) / 2) * width, values, width, label=gender,
               color=GENDER_COLOURS.get(gender, GREEN))
    ax.set_xticks(x, bands, rotation=30 if len(bands) > 9 else 0)
    ax.set_title("Askers by age band and gender")
    ax.set_xlabel("asker's age band (years)")
    ax.set_ylabel("askers")
    ax.legend(title="gender", frameon=False)
    _style(ax)
    chart.png_b64 = _png(fig)
    by_gender = {g: sum(n for (_, gg), n in counts.items() if gg == g) for g in genders}
    total = sum(by_gender.values())
    by_band = {b: sum(n for (bb, _), n in counts.items() if bb == b) for b in bands}
    top = max((b for b in bands if b != "no age"), key=lambda b: by_band[b], default=None)
    chart.alt = "Grouped bar chart of askers per age band, one bar per gender."
    chart.findings.append("Askers: " + ", ".join(
        f"{g} {_n(n)} ({_share(n, total)})" for g, n in by_gender.items()) + ".")
    if top:
        chart.findings.append(f"The most common age band is {top} ({_share(by_band[top], total)}"
                              " of askers).")
    if hidden:
        chart.findings.append(f"Redacted in this dataset, so not shown: {', '.join(hidden)}.")
    return chart


def _fill_chart(rates: dict, source: str, redacted: dict) -> Chart:
    chart = Chart("fill-rates", "Field fill rates",
                  "The share of rows in which each column has a value (for the similar and "
                  "related_topics lists: at least one entry). Dark bars are parts every Q&A "
                  "page has, so they should be close to 100%; light bars are optional parts "
                  "and provenance columns, which may rightly be empty (changed_at stays empty "
                  "until a page changes).")
    if not rates:
        chart.nodata = "No columns to count."
        return chart
    names = list(rates)
    values = [100 * rates[n] for n in names]
    required = {*REQUIRED_PARTS, *NOT_NULL}
    fig = _figure(max(HEIGHT_IN, 0.24 * len(names) + 1.5))
    ax = fig.add_subplot()
    bars = ax.barh(range(len(names)), values,
                   color=[BLUE if n in required else SKY for n in names])
    ax.set_yticks(range(len(names)), names, fontsize=9)
    ax.invert_yaxis()
    ax.bar_label(bars, labels=[f"{v:.0f}%" for v in values], padding=3, fontsize=8)
    ax.set_xlim(0, 112)
    ax.set_xticks(range(0, 101, 20), [f"{v}%" for v in range(0, 101, 20)])
    ax.set_title("Field fill rates")
    ax.set_xlabel("rows with a value")
    ax.set_ylabel("column")
    fig.legend(handles=[Patch(color=BLUE, label="every Q&A page has it"),
                        Patch(color=SKY, label="optional, or provenance of the fetch")],
               loc="outside lower center", ncol=2, frameon=False, fontsize=9)
    _style(ax, "x", counts=False)
    chart.png_b64 = _png(fig)
    full = sum(1 for v in values if v >= 99.995)
    chart.alt = "Horizontal bar chart of the share of rows with a value, per column."
    chart.findings.append(f"{full} of {len(names)} columns have a value in every row (counted "
                          f"from {source}).")
    low = [n for n in names if n in required and rates[n] < 0.95]
    if low:
        chart.findings.append("Columns every page should have that are under 95%: "
                              + ", ".join(low) + ": check the parser against the site.")
    if redacted:
        chart.findings.append("Redacted: " + "; ".join(f"{c} ({how})"
                                                      for c, how in redacted.items()) + ".")
    return chart


def _length_chart(folder: Path, present: set[str], redacted: dict) -> Chart:
    chart = Chart("text-lengths", "Text lengths",
                  "How long the texts are, in characters: one panel per text column, each on "
                  "its own scale (the More Info text is often many times longer than a "
                  "question). Each bar counts the rows whose text has about that length; the "
                  "orange line is the median. A few very long outliers, beyond the 99th "
                  "percentile, are left out and counted below.")
    data = {c: _text_lengths(folder, c) for c in LONG_TEXTS
            if c in present and c not in redacted}
    data = {c: v for c, v in data.items() if len(v)}
    if not data:
        chart.nodata = "No question, answer or More Info text."
        return chart
    fig = _figure(max(HEIGHT_IN, 1.8 * len(data) + 0.7))
    axes = fig.subplots(len(data), 1, squeeze=False)[:, 0]
    clipped = []
    for ax, (name, values) in zip(axes, data.items()):
        median = float(np.median(values))
        p99 = float(np.percentile(values, 99))
        cut = p99 if values.max() > 2 * p99 else float(values.max())  # only a real long tail
        shown = values[values <= cut]
        if len(shown) < len(values):
            clipped.append(f"{_n(len(values) - len(shown))} {name} text(s) over {cut:,.0f} "
                           "characters")
        ax.hist(shown, bins=min(40, max(5, len(np.unique(shown)))), color=SKY, edgecolor="white")
        ax.axvline(median, color=ORANGE, linewidth=2, linestyle="--",
                   label=f"median {median:,.0f}")
        ax.legend(frameon=False, fontsize=8, loc="upper right")
        ax.set_title(f"{name} (n={_n(len(values))})", fontsize=10, loc="left")
        ax.xaxis.set_major_formatter("{x:,.0f}")
        ax.set_xlabel("characters")
        ax.set_ylabel("rows")
        _style(ax)
    fig.suptitle("Text lengths in characters")
    chart.png_b64 = _png(fig)
    chart.alt = "Histograms of text lengths in characters: " + ", ".join(
        f"{c} median {np.median(v):,.0f}" for c, v in data.items())
    chart.findings.append("Median length: " + ", ".join(
        f"{c} {np.median(v):,.0f} characters" for c, v in data.items()) + ".")
    if clipped:
        chart.findings.append("Not drawn (long tail): " + "; ".join(clipped) + ".")
    return chart


def _run_numbers(run: dict) -> dict[str, int]:
    stats = run.get("stats") or {}
    return {
        "pages fetched": int(stats.get(keys.PAGES, 0)),
        "new records": int(stats.get(keys.RECORDS + "new", 0)),
        "changed records": int(stats.get(keys.RECORDS + "changed", 0)),
        "failed pages": int(keys.failures(stats)),
    }


def _history_chart(manifest: dict) -> Chart:
    chart = Chart("history", "Crawl history",
                  "One group of bars per crawl run, oldest on the left: every page fetched "
                  "(listings included), the Q&A records that were new, those whose content had "
                  "changed since the last fetch, and the pages that still failed after their "
                  "retries. An update run fetches few new pages; a jump in failures is worth a "
                  "look in failures.csv. The table below lists each run.")
    runs = manifest.get("runs") or []
    if not runs:
        chart.nodata = "The manifest lists no crawl runs."
        return chart
    drawn = runs[-MAX_RUNS_DRAWN:]
    first = len(runs) - len(drawn) + 1
    numbers = [_run_numbers(r) for r in drawn]
    series = [("pages fetched", SKY), ("new records", GREEN), ("changed records", ORANGE),
              ("failed pages", VERMILION)]
    fig = _figure()
    ax = fig.add_subplot()
    x = np.arange(len(drawn))
    width = 0.8 / len(series)
    for k, (name, colour) in enumerate(series):
        bars = ax.bar(x + (k - (len(series) - 1) / 2) * width, [n[name] for n in numbers], width,
                      label=name, color=colour)
        if len(drawn) <= 6:
            ax.bar_label(bars, labels=[_n(n[name]) for n in numbers], padding=2, fontsize=8)
    labels = [f"#{first + k}\n{_when(r.get('started_at'))[:10]}" for k, r in enumerate(drawn)]
    step = max(1, int(np.ceil(len(drawn) / 12)))
    ax.set_xticks(x[::step], labels[::step], fontsize=8)
    top = max(max(n.values()) for n in numbers)
    ax.set_ylim(0, max(1, top) * 1.15)
    ax.set_title("Crawl history: pages and records per run")
    ax.set_xlabel("crawl run (number and start date, UTC)")
    ax.set_ylabel("pages / records")
    ax.legend(frameon=False, ncol=4, fontsize=8, loc="upper left", bbox_to_anchor=(0, -0.28))
    _style(ax)
    chart.png_b64 = _png(fig)
    totals = {k: sum(_run_numbers(r)[k] for r in runs) for k in numbers[0]}
    chart.alt = "Grouped bar chart per crawl run: " + "; ".join(
        f"run {first + k}: " + ", ".join(f"{name} {v}" for name, v in n.items())
        for k, n in enumerate(numbers[:10]))
    chart.findings.append(f"{len(runs)} run(s) in all: " + ", ".join(
        f"{_n(v)} {k}" for k, v in totals.items()) + ".")
    if len(runs) > len(drawn):
        chart.findings.append(f"Only the last {len(drawn)} runs are drawn.")
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
    return moment.strftime("%Y-%m-%d %H:%M")


def _e(value) -> str:
    return html.escape("" if value is None else str(value))


def _verdict(monitors: dict | None) -> str:
    if not monitors:
        return "–"
    failed = [c.get("name", "?") for c in monitors.get("checks", []) if not c.get("ok", True)]
    verdict = monitors.get("verdict", "?")
    return f"{verdict}: {', '.join(failed)}" if failed else verdict


def _runs_table(manifest: dict) -> str:
    runs = manifest.get("runs") or []
    if not runs:
        return ""
    workers = len({r.get("worker") for r in runs}) > 1
    listed = runs[-MAX_RUNS_LISTED:]
    first = len(runs) - len(listed) + 1
    head = ["run", "started (UTC)", "finished (UTC)", *(["worker"] if workers else []),
            "finish reason", "pages fetched", "new", "changed", "failed", "monitors"]
    rows = []
    for k, run in enumerate(listed, start=first):
        n = _run_numbers(run)
        verdict = _verdict(run.get("monitors"))
        cells = [(k, "num"), (_when(run.get("started_at")), "when"),
                 (_when(run.get("finished_at")) if run.get("finished_at") else "–", "when"),
                 *([(run.get("worker"), "")] if workers else []),
                 (run.get("finish_reason") or "did not finish", ""),
                 *[(_n(v), "num") for v in n.values()],
                 (verdict, "bad" if verdict.startswith("fail") else "")]
        rows.append("<tr>" + "".join(f'<td class="{cls}">{_e(v)}</td>' if cls else
                                     f"<td>{_e(v)}</td>" for v, cls in cells) + "</tr>")
    out = ['<table class="runs"><thead><tr>' + "".join(f"<th>{_e(h)}</th>" for h in head)
           + "</tr></thead><tbody>", *rows, "</tbody></table>"]
    if len(runs) > len(listed):
        out.append(f'<p class="note">The first {len(runs) - len(listed)} runs are not listed; '
                   "manifest.json has them all.</p>")
    latest = manifest.get("monitors")
    if latest:
        out.append(f"<p>Monitors after the latest run: <strong>{_e(latest.get('verdict'))}"
                   "</strong></p>")
        out.append('<ul class="checks">' + "".join(
            f"<li>{'✔' if c.get('ok') else '✘'} <code>{_e(c.get('name'))}</code>: "
            f"{_e(c.get('message'))}</li>" for c in latest.get("checks", [])) + "</ul>")
    return "\n".join(out)


CSS = """
.audit{display:grid;grid-template-columns:1fr 1fr;gap:12px;font-size:13px}
.audit ol.lines{padding-left:2.4em;margin:0}.audit th{text-align:left;vertical-align:top}
details{margin:8px 0}summary{cursor:pointer}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0;
 color:#1d1d1f;background:#f6f7f9;line-height:1.45}
main{max-width:860px;margin:0 auto;padding:24px 20px 48px}
h1{font-size:1.6em;margin:0 0 4px}h2{font-size:1.2em;margin:0 0 10px}
.sub{color:#555;margin:0 0 16px}
section{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:16px 18px;
 margin:0 0 18px}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:10px;
 margin:0 0 14px}
.tile{background:#f0f4f8;border-radius:6px;padding:8px 12px}
.tile b{display:block;font-size:1.45em;font-variant-numeric:tabular-nums}
.tile span{color:#555;font-size:.88em}
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:0}
dt{color:#555}dd{margin:0}
figure{margin:0}
img{display:block;max-width:100%;height:auto;margin:4px 0 8px}
figcaption{color:#444;font-size:.92em;margin:0 0 6px}
.findings{margin:0;padding-left:18px}
.nodata{color:#7a4f00;background:#fff6e0;border:1px solid #f0d9a0;padding:10px 12px;
 border-radius:6px}
.note{color:#555;font-size:.9em}
pre{background:#f0f2f5;padding:10px 12px;border-radius:6px;overflow-x:auto;font-size:.86em}
code{font-family:ui-monospace,"DejaVu Sans Mono",monospace}
table{border-collapse:collapse;width:100%;font-size:.88em;margin-top:8px}
th,td{border-bottom:1px solid #e3e6ea;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f0f2f5}td.num{text-align:right;font-variant-numeric:tabular-nums}
td.when{white-space:nowrap}td.bad{color:#b00020;font-weight:600}
ul.checks{margin:4px 0 0;padding-left:18px}
nav{margin-top:12px;font-size:.92em}nav a{margin-right:12px}
"""

HOW_TO_LOAD = """\
import qa_crawler                                   # from inside this folder
df = qa_crawler.load_dataset(".", columns=["qa_id", "department", "question", "answer"])

import duckdb
duckdb.sql("SELECT department, count(*) AS n FROM 'qa.parquet' GROUP BY 1 ORDER BY n DESC")
"""


def _header(manifest: dict, df: pd.DataFrame) -> str:
    rows = manifest.get("rows") or {}
    crawl = manifest.get("crawl") or {}
    runs = manifest.get("runs") or []
    asked = df["asked_on"].dropna()
    first, last = (asked.min().date().isoformat(), asked.max().date().isoformat()) \
        if len(asked) else ("–", "–")
    years = f"{first[:4]}–{last[:4]}" if len(asked) else "–"
    tiles = [(_n(len(df)), "questions (Q&A pages)"),
             (_n(int(df["department"].nunique())), "departments")
             if "department" not in (manifest.get("redacted") or {}) else
             ("–", "departments (redacted)"),
             (years, "years asked"),
             (_n(len(runs)), "crawl runs")]
    out = ['<div class="tiles">' + "".join(f'<div class="tile"><b>{_e(v)}</b>'
                                           f"<span>{_e(k)}</span></div>" for v, k in tiles)
           + "</div>"]
    table_rows = ", ".join(f"{t} {_n(rows[t])}" for t in ("qa", "similar", "related_topics",
                                                          "failures") if t in rows)
    split = (manifest.get("split") or {}).get("rows") or {}
    redacted = manifest.get("redacted") or {}
    crawled = (f"{_when(crawl.get('started_at'))} to {_when(crawl.get('finished_at'))} UTC, "
               f"in {len(runs)} run(s)" if crawl else "unknown (no manifest.json)")
    items = [  # (label, text): every text is escaped below
        ("Questions asked", f"{first} to {last}"),
        ("Crawled", crawled),
        ("Source", manifest.get("start_url") or "unknown"),
        ("Rows per table", table_rows or f"qa {_n(len(df))}"),
        ("Schema version", f"{manifest.get('schema_version', 'unknown')} (parser "
                           f"{manifest.get('parser_version', '?')}, qa-crawler "
                           f"{manifest.get('tool_version', '?')})"),
    ]
    if split:
        order = {"train": 0, "validation": 1, "test": 2}
        items.append(("Splits", ", ".join(f"{k} {_n(v)}" for k, v in sorted(
            split.items(), key=lambda kv: (order.get(kv[0], 3), str(kv[0]))))))
    if redacted:
        items.append(("Redacted columns", "; ".join(f"{c}: {how}" for c, how in redacted.items())))
    items.append(("Dataset written", f"{_when(manifest.get('created_at'))} UTC" if manifest
                  else "unknown: no manifest.json in the folder"))
    # The source URL is text, not a link: the report must not send the browser anywhere.
    out.append("<dl>" + "".join(
        f"<dt>{k}</dt><dd>{f'<code>{_e(v)}</code>' if k == 'Source' else _e(v)}</dd>"
        for k, v in items) + "</dl>")
    return "\n".join(out)


def _chart_html(chart: Chart, extra: str = "") -> str:
    out = [f'<section class="chart" id="{chart.key}"><h2>{_e(chart.heading)}</h2>']
    if chart.png_b64:
        out.append(f'<figure><img src="data:image/png;base64,{chart.png_b64}" '
                   f'alt="{_e(chart.alt)}" width="{SHOWN_WIDTH}">'
                   f"<figcaption><strong>How to read it:</strong> {_e(chart.how_to_read)}"
                   "</figcaption></figure>")
        out.append('<ul class="findings">' + "".join(f"<li>{_e(f)}</li>"
                                                     for f in chart.findings) + "</ul>")
    else:
        out.append(f'<p class="nodata">No data to draw: {_e(chart.nodata)}</p>')
    out += [extra, "</section>"]
    return "\n".join(out)


def render_report(dataset_dir: str | os.PathLike) -> str:
    """The report of a dataset folder, as one self-contained HTML page."""
    from pipelines.dataset import published_set

    name = Path(dataset_dir).resolve().name
    folder = published_set(dataset_dir)  # one export's files, whatever export runs meanwhile
    qa = qa_file(folder)
    manifest = _read_manifest(folder)
    redacted = manifest.get("redacted") or {}
    columns = pq.read_schema(qa).names
    present = set(columns)
    # A redacted column (hashed or dropped) is not charted: its hashes would read as categories.
    df = _load_columns(folder, present - set(redacted), CHART_COLUMNS)
    if len(df):
        charts = [_department_chart(df), _year_chart(df), _delay_chart(df),
                  _asker_chart(df, redacted), _fill_chart(*_fill_rates(folder, manifest, columns),
                                                          redacted),
                  _length_chart(folder, present, redacted)]
        for chart in charts:
            hidden = [c for c in CHART_SOURCES.get(chart.key, ()) if c in redacted]
            if chart.nodata and hidden:
                chart.nodata += f" ({', '.join(hidden)}: redacted in this dataset.)"
        notice = ""
    else:
        charts = []
        notice = ('<section id="no-records"><p class="nodata"><strong>No records:</strong> this '
                  "dataset holds no Q&amp;A rows yet, so there is nothing to chart. The crawl "
                  "history below says what the crawl did; <code>failures.csv</code> lists the "
                  "pages that failed.</p></section>")
    charts.append(_history_chart(manifest))
    audit_heading, audit_body = render_audit(Path(dataset_dir), qa)  # raw pages: in the folder
    nav = "".join(f'<a href="#{c.key}">{_e(c.heading)}</a>' for c in charts[:-1])
    nav += f'<a href="#audit">{_e(audit_heading)}</a><a href="#{charts[-1].key}">' \
           f'{_e(charts[-1].heading)}</a>'

    made = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M")
    history = charts.pop()
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "img-src data:; style-src 'unsafe-inline'\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Dataset report: {_e(name)}</title>",
        f"<style>{CSS}</style></head><body><main>",
        f"<h1>Q&amp;A dataset report: {_e(name)}</h1>",
        f'<p class="sub">Questions people asked doctors on doctorqna.com and the doctors\' '
        f"replies, one row per Q&amp;A page. Report written {made} UTC by qa-crawler from the "
        "files in this folder; the dataset card (README.md) documents every column.</p>",
        '<section id="summary"><h2>What the dataset holds</h2>',
        _header(manifest, df),
        '<h2 style="margin-top:14px">Load it</h2>',
        f"<pre><code>{_e(HOW_TO_LOAD)}</code></pre>",
        f"<nav>{nav}</nav></section>",
        notice,
        *[_chart_html(c) for c in charts],
        f'<section class="chart" id="audit"><h2>{_e(audit_heading)}</h2>{audit_body}</section>',
        _chart_html(history, _runs_table(manifest)),
        "</main></body></html>",
        "",
    ])


def try_write_report(dataset_dir: str | os.PathLike) -> tuple[Path | None, str | None]:
    """:func:`write_report` for the commands and the crawl, where the charts are a convenience:
    (its absolute path, None), or (None, why it could not be written)."""
    try:
        return write_report(dataset_dir).resolve(), None
    except FileNotFoundError as exc:
        return None, str(exc)
    except Exception as exc:  # noqa: BLE001 - a drawing error must not fail a crawl or an export
        return None, f"cannot write the report of {dataset_dir}: {type(exc).__name__}: {exc}"


def write_report(dataset_dir: str | os.PathLike) -> Path:
    """Write ``report.html`` into the dataset folder and return its path; prints nothing."""
    folder = Path(dataset_dir)
    text = render_report(folder)
    path = folder / REPORT_NAME
    tmp = folder / (REPORT_NAME + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)  # renamed into place: a reader never opens a half-written report
    return path
