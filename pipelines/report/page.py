"""The report's page: ``report.html`` put together from the charts, the manifest's runs and the
extraction audit, self-contained (inline style, images as ``data:`` URIs, no script, a Content
Security Policy that forbids loading anything else), and written into the folder atomically."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from pipelines.report.audit import render_audit
from pipelines.report.charts import (
    SHOWN_WIDTH, Chart, asker_chart, delay_chart, department_chart, fill_chart, history_chart,
    length_chart, year_chart)
from pipelines.report.data import (
    CHART_COLUMNS, fill_rates, load_columns, read_manifest, run_numbers)
from pipelines.report.text import escape, fmt_count, fmt_when
from qa_crawler.folder import REPORT_NAME
from qa_crawler.load import qa_file

MAX_RUNS_LISTED = 50
CHART_SOURCES = {"departments": ("department",), "years": ("asked_on",),
                 "reply-delay": ("asked_on", "answered_on")}


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
        n = run_numbers(run)
        verdict = _verdict(run.get("monitors"))
        cells = [(k, "num"), (fmt_when(run.get("started_at")), "when"),
                 (fmt_when(run.get("finished_at")) if run.get("finished_at") else "–", "when"),
                 *([(run.get("worker"), "")] if workers else []),
                 (run.get("finish_reason") or "did not finish", ""),
                 *[(fmt_count(v), "num") for v in n.values()],
                 (verdict, "bad" if verdict.startswith("fail") else "")]
        rows.append("<tr>" + "".join(f'<td class="{cls}">{escape(v)}</td>' if cls else
                                     f"<td>{escape(v)}</td>" for v, cls in cells) + "</tr>")
    out = ['<table class="runs"><thead><tr>' + "".join(f"<th>{escape(h)}</th>" for h in head)
           + "</tr></thead><tbody>", *rows, "</tbody></table>"]
    if len(runs) > len(listed):
        out.append(f'<p class="note">The first {len(runs) - len(listed)} runs are not listed; '
                   "manifest.json has them all.</p>")
    latest = manifest.get("monitors")
    if latest:
        out.append(f"<p>Monitors after the latest run: <strong>{escape(latest.get('verdict'))}"
                   "</strong></p>")
        out.append('<ul class="checks">' + "".join(
            f"<li>{'✔' if c.get('ok') else '✘'} <code>{escape(c.get('name'))}</code>: "
            f"{escape(c.get('message'))}</li>" for c in latest.get("checks", [])) + "</ul>")
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
    tiles = [(fmt_count(len(df)), "questions (Q&A pages)"),
             (fmt_count(int(df["department"].nunique())), "departments")
             if "department" not in (manifest.get("redacted") or {}) else
             ("–", "departments (redacted)"),
             (years, "years asked"),
             (fmt_count(len(runs)), "crawl runs")]
    out = ['<div class="tiles">' + "".join(f'<div class="tile"><b>{escape(v)}</b>'
                                           f"<span>{escape(k)}</span></div>" for v, k in tiles)
           + "</div>"]
    table_rows = ", ".join(f"{t} {fmt_count(rows[t])}" for t in ("qa", "similar", "related_topics",
                                                          "failures") if t in rows)
    split = (manifest.get("split") or {}).get("rows") or {}
    redacted = manifest.get("redacted") or {}
    crawled = (f"{fmt_when(crawl.get('started_at'))} to {fmt_when(crawl.get('finished_at'))} UTC, "
               f"in {len(runs)} run(s)" if crawl else "unknown (no manifest.json)")
    items = [  # (label, text): every text is escaped below
        ("Questions asked", f"{first} to {last}"),
        ("Crawled", crawled),
        ("Source", manifest.get("start_url") or "unknown"),
        ("Rows per table", table_rows or f"qa {fmt_count(len(df))}"),
        ("Schema version", f"{manifest.get('schema_version', 'unknown')} (parser "
                           f"{manifest.get('parser_version', '?')}, qa-crawler "
                           f"{manifest.get('tool_version', '?')})"),
    ]
    if split:
        order = {"train": 0, "validation": 1, "test": 2}
        items.append(("Splits", ", ".join(f"{k} {fmt_count(v)}" for k, v in sorted(
            split.items(), key=lambda kv: (order.get(kv[0], 3), str(kv[0]))))))
    if redacted:
        items.append(("Redacted columns", "; ".join(f"{c}: {how}" for c, how in redacted.items())))
    items.append(("Dataset written", f"{fmt_when(manifest.get('created_at'))} UTC" if manifest
                  else "unknown: no manifest.json in the folder"))
    # The source URL is text, not a link: the report must not send the browser anywhere.
    out.append("<dl>" + "".join(
        f"<dt>{k}</dt><dd>{f'<code>{escape(v)}</code>' if k == 'Source' else escape(v)}</dd>"
        for k, v in items) + "</dl>")
    return "\n".join(out)


def chart_html(chart: Chart, extra: str = "") -> str:
    out = [f'<section class="chart" id="{chart.key}"><h2>{escape(chart.heading)}</h2>']
    if chart.png_b64:
        out.append(f'<figure><img src="data:image/png;base64,{chart.png_b64}" '
                   f'alt="{escape(chart.alt)}" width="{SHOWN_WIDTH}">'
                   f"<figcaption><strong>How to read it:</strong> {escape(chart.how_to_read)}"
                   "</figcaption></figure>")
        out.append('<ul class="findings">' + "".join(f"<li>{escape(f)}</li>"
                                                     for f in chart.findings) + "</ul>")
    else:
        out.append(f'<p class="nodata">No data to draw: {escape(chart.nodata)}</p>')
    out += [extra, "</section>"]
    return "\n".join(out)


def render_report(dataset_dir: str | os.PathLike) -> str:
    """The report of a dataset folder, as one self-contained HTML page."""
    from pipelines.dataset import published_set

    name = Path(dataset_dir).resolve().name
    folder = published_set(dataset_dir)  # one export's files, whatever export runs meanwhile
    qa = qa_file(folder)
    manifest = read_manifest(folder)
    redacted = manifest.get("redacted") or {}
    columns = pq.read_schema(qa).names
    present = set(columns)
    # A redacted column (hashed or dropped) is not charted: its hashes would read as categories.
    df = load_columns(folder, present - set(redacted), CHART_COLUMNS)
    if len(df):
        charts = [department_chart(df), year_chart(df), delay_chart(df),
                  asker_chart(df, redacted), fill_chart(*fill_rates(folder, manifest, columns),
                                                          redacted),
                  length_chart(folder, present, redacted)]
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
    charts.append(history_chart(manifest))
    audit_heading, audit_body = render_audit(Path(dataset_dir), qa)  # raw pages: in the folder
    nav = "".join(f'<a href="#{c.key}">{escape(c.heading)}</a>' for c in charts[:-1])
    nav += f'<a href="#audit">{escape(audit_heading)}</a><a href="#{charts[-1].key}">' \
           f'{escape(charts[-1].heading)}</a>'

    made = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M")
    history = charts.pop()
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "img-src data:; style-src 'unsafe-inline'\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Dataset report: {escape(name)}</title>",
        f"<style>{CSS}</style></head><body><main>",
        f"<h1>Q&amp;A dataset report: {escape(name)}</h1>",
        f'<p class="sub">Questions people asked doctors on doctorqna.com and the doctors\' '
        f"replies, one row per Q&amp;A page. Report written {made} UTC by qa-crawler from the "
        "files in this folder; the dataset card (README.md) documents every column.</p>",
        '<section id="summary"><h2>What the dataset holds</h2>',
        _header(manifest, df),
        '<h2 style="margin-top:14px">Load it</h2>',
        f"<pre><code>{escape(HOW_TO_LOAD)}</code></pre>",
        f"<nav>{nav}</nav></section>",
        notice,
        *[chart_html(c) for c in charts],
        f'<section class="chart" id="audit"><h2>{escape(audit_heading)}</h2>{audit_body}</section>',
        chart_html(history, _runs_table(manifest)),
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
