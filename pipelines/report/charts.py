"""The report's charts: matplotlib figures on an Agg canvas (never pyplot), drawn to PNG and kept as
base64 text with how to read them and what they show. Reads data frames and the manifest; writes
nothing."""

from __future__ import annotations

import base64
import io
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from pipelines.report.data import run_numbers, text_lengths
from pipelines.report.text import fmt_count, fmt_share, fmt_when
from qa_crawler.record import LONG_TEXTS, NOT_NULL, REQUIRED_PARTS

WIDTH_IN, HEIGHT_IN = 8.0, 3.8
DPI = 150  # drawn at 1.5x and shown 800 px wide: sharp on high-density screens too
SHOWN_WIDTH = 800
MAX_DEPARTMENTS = 25
MAX_RUNS_DRAWN = 40
MAX_LABEL = 38
DAY_BINS_UP_TO = 45  # reply delays up to this many days get one bar per day; longer: buckets
DELAY_BUCKETS = [(0, 0, "same day"), (1, 1, "1"), (2, 3, "2–3"), (4, 7, "4–7"), (8, 14, "8–14"),
                 (15, 30, "15–30"), (31, 90, "31–90"), (91, 365, "91–365"),
                 (366, None, "over 365")]
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




def department_chart(df: pd.DataFrame) -> Chart:
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
    ax.bar_label(bars, labels=[fmt_count(v) for v in values], padding=3, fontsize=9)
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
        f"{n_departments} department(s); the largest, {pairs[0][0]}, has "
        f"{fmt_count(pairs[0][1])} of "
        f"{fmt_count(total)} questions ({fmt_share(pairs[0][1], total)}).")
    missing = int(df["department"].isna().sum())
    if missing:
        chart.findings.append(f"{fmt_count(missing)} row(s) have no department and are not drawn.")
    return chart


def year_chart(df: pd.DataFrame) -> Chart:
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
        ax.bar_label(bars, labels=[fmt_count(int(v)) for v in values], padding=2, fontsize=8)
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
                          f"with {fmt_count(int(values.max()))} questions.")
    missing = int(df["asked_on"].isna().sum())
    if missing:
        chart.findings.append(f"{fmt_count(missing)} row(s) have no ask date and are not drawn.")
    return chart


def _days(n: float) -> str:
    return f"{n:g} day" if n == 1 else f"{n:g} days"


def delay_chart(df: pd.DataFrame) -> Chart:
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
        ax.bar_label(bars, labels=[fmt_count(int(v)) if v else "" for v in values], padding=2,
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
        f"Median {_days(median)} over {fmt_count(len(days))} questions; "
        f"{fmt_share(same_day, len(days))} "
        f"answered the same day; quartiles {np.percentile(days, 25):g} and "
        f"{np.percentile(days, 75):g} days; longest {_days(int(days.max()))}.")
    if negative:
        chart.findings.append(f"{fmt_count(negative)} reply date(s) come before their ask date (an "
                              "error on the page or in parsing) and are not drawn.")
    missing = int((~both).sum())
    if missing:
        chart.findings.append(f"{fmt_count(missing)} row(s) lack one of the two dates.")
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


def asker_chart(df: pd.DataFrame, redacted: dict) -> Chart:
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
        f"{g} {fmt_count(n)} ({fmt_share(n, total)})" for g, n in by_gender.items()) + ".")
    if top:
        chart.findings.append(f"The most common age band is {top} ({fmt_share(by_band[top], total)}"
                              " of askers).")
    if hidden:
        chart.findings.append(f"Redacted in this dataset, so not shown: {', '.join(hidden)}.")
    return chart


def fill_chart(rates: dict, source: str, redacted: dict) -> Chart:
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


def length_chart(folder: Path, present: set[str], redacted: dict) -> Chart:
    chart = Chart("text-lengths", "Text lengths",
                  "How long the texts are, in characters: one panel per text column, each on "
                  "its own scale (the More Info text is often many times longer than a "
                  "question). Each bar counts the rows whose text has about that length; the "
                  "orange line is the median. A few very long outliers, beyond the 99th "
                  "percentile, are left out and counted below.")
    data = {c: text_lengths(folder, c) for c in LONG_TEXTS
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
            clipped.append(f"{fmt_count(len(values) - len(shown))} {name} text(s) over {cut:,.0f} "
                           "characters")
        ax.hist(shown, bins=min(40, max(5, len(np.unique(shown)))), color=SKY, edgecolor="white")
        ax.axvline(median, color=ORANGE, linewidth=2, linestyle="--",
                   label=f"median {median:,.0f}")
        ax.legend(frameon=False, fontsize=8, loc="upper right")
        ax.set_title(f"{name} (n={fmt_count(len(values))})", fontsize=10, loc="left")
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


def history_chart(manifest: dict) -> Chart:
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
    numbers = [run_numbers(r) for r in drawn]
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
            ax.bar_label(bars, labels=[fmt_count(n[name]) for n in numbers], padding=2, fontsize=8)
    labels = [f"#{first + k}\n{fmt_when(r.get('started_at'))[:10]}" for k, r in enumerate(drawn)]
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
    totals = {k: sum(run_numbers(r)[k] for r in runs) for k in numbers[0]}
    chart.alt = "Grouped bar chart per crawl run: " + "; ".join(
        f"run {first + k}: " + ", ".join(f"{name} {v}" for name, v in n.items())
        for k, n in enumerate(numbers[:10]))
    chart.findings.append(f"{len(runs)} run(s) in all: " + ", ".join(
        f"{fmt_count(v)} {k}" for k, v in totals.items()) + ".")
    if len(runs) > len(drawn):
        chart.findings.append(f"Only the last {len(drawn)} runs are drawn.")
    return chart

