"""The report's extraction audit: parse issues by kind, and a few rows beside their pages.

A parser that reads markup nobody here has seen is checked by eye: for a few rows, drawn the same
way on every run (the smallest sha256 of their ``qa_id``, so a re-drawn report shows the same
rows), the page's visual lines as the parser read them (from the raw page in the WARC archive,
each marked with the part it was given) stand beside the fields the dataset holds. Reads the
dataset folder and the archive; writes nothing.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipelines.report.text import escape
from qa_crawler.record import issue_kind

SAMPLE_ROWS = 3
EXAMPLE_ISSUES = 12
# The fields shown beside the page, and how much of a long text.
SHOWN_FIELDS = ("title", "subject", "question", "asker_name", "asker_gender", "asker_age_min",
                "asker_age_max", "asked_on", "department", "doctor_name", "answer", "answered_on",
                "more_info", "similar", "related_topics", "parse_issues")
TEXT_CHARS = 240


def _short(value) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= TEXT_CHARS else text[:TEXT_CHARS] + " …"


def _issue_counts(qa: Path) -> tuple[Counter, int, list[tuple[str, list[str]]]]:
    """Rows per issue kind, rows with any issue, and the first rows' issues as examples."""
    kinds: Counter = Counter()
    rows = 0
    examples: list[tuple[str, list[str]]] = []
    pf = pq.ParquetFile(qa)
    if "parse_issues" not in pf.schema_arrow.names:
        return kinds, 0, []
    for batch in pf.iter_batches(columns=["qa_id", "parse_issues"], batch_size=4096):
        lengths = pc.list_value_length(batch.column("parse_issues")).to_pylist()
        if not any(lengths):
            continue
        ids = batch.column("qa_id").to_pylist()
        issues = batch.column("parse_issues").to_pylist()
        for qa_id, n, found in zip(ids, lengths, issues):
            if n:
                rows += 1
                kinds.update({issue_kind(i) for i in found})
                if len(examples) < EXAMPLE_ISSUES:
                    examples.append((qa_id, found))
    return kinds, rows, examples


def _sample(qa: Path, n: int) -> list[dict]:
    """``n`` rows by the smallest sha256 of their qa_id: spread over the site, stable."""
    ids = pq.read_table(qa, columns=["qa_id"]).column("qa_id").to_pylist()
    chosen = sorted(ids, key=lambda i: hashlib.sha256(i.encode()).digest())[:n]
    if not chosen:
        return []
    present = pq.read_schema(qa).names
    columns = [c for c in ("qa_id", "url", "warc_file", "warc_offset", *SHOWN_FIELDS)
               if c in present]
    table = pq.read_table(qa, columns=columns, filters=[("qa_id", "in", chosen)])
    rows = {r["qa_id"]: r for r in table.to_pylist()}
    return [rows[i] for i in chosen if i in rows]


def _page_lines(folder: Path, row: dict) -> tuple[list[tuple[str, str]] | None, str]:
    """The stored page's visual lines with their parts, or None and why they cannot be shown."""
    from qa_crawler.parsers.doctorqna import NotQAPage, explain_page
    from qa_crawler.warc import Location, read_at

    if not row.get("warc_file"):
        return None, "the raw page was not kept (crawled with --no-warc)"
    try:
        stored = read_at(folder, Location(row["warc_file"], int(row["warc_offset"])))
        lines, _ = explain_page(stored.body, stored.url, content_type=stored.content_type)
    except (OSError, LookupError, ValueError, NotQAPage) as exc:
        return None, f"the raw page cannot be read: {exc}"
    return lines, ""


def _field_value(name: str, value) -> str:
    if name == "similar":
        return "<ol>" + "".join(
            f"<li>{escape(s.get('title'))} — Dr. {escape(s.get('doctor_name'))}, "
            f"{escape(s.get('department'))}</li>" for s in value or []) + "</ol>"
    if name == "related_topics":
        return escape(", ".join(f"{t.get('topic')} ({t.get('department')})" for t in value or []))
    if name == "parse_issues":
        return escape("; ".join(value or [])) or "none"
    return escape(_short(value))


def render_audit(folder: Path, qa: Path) -> tuple[str, str]:
    """(heading, HTML body) of the report's extraction-audit section."""
    kinds, rows, examples = _issue_counts(qa)
    total = pq.ParquetFile(qa).metadata.num_rows
    out = ["<p>What the parser was unsure of (the <code>parse_issues</code> column; the dataset "
           "card explains each kind), and a few rows beside the page they were read from, so "
           "that extraction can be checked by eye.</p>"]
    if rows:
        out.append(f"<p>{rows} of {total} rows have parse issues.</p>")
        out.append("<table><tr><th>kind</th><th>rows</th></tr>" + "".join(
            f"<tr><td><code>{escape(k)}</code></td><td>{v}</td></tr>"
            for k, v in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))) + "</table>")
        out.append("<p>Examples:</p><ul>" + "".join(
            f"<li><code>{escape(q)}</code>: {escape('; '.join(i))}</li>"
            for q, i in examples) + "</ul>")
    else:
        out.append(f"<p>None of the {total} rows has a parse issue.</p>")
    for row in _sample(qa, SAMPLE_ROWS):
        lines, why = _page_lines(folder, row)
        page = ("<ol class=\"lines\">" + "".join(
            f"<li><code>{escape(part)}</code> {escape(_short(text))}</li>" for part, text in lines)
            + "</ol>") if lines is not None else f'<p class="nodata">{escape(why)}</p>'
        fields = "<table>" + "".join(
            f"<tr><th>{escape(name)}</th><td>{_field_value(name, row.get(name))}</td></tr>"
            for name in SHOWN_FIELDS if name in row) + "</table>"
        out.append(f'<details><summary>Row <code>{escape(row["qa_id"])}</code> '
                   f'({escape(row.get("url"))})</summary><div class="audit">'
                   f"<div><h3>The page as the parser read it</h3>{page}</div>"
                   f"<div><h3>The row</h3>{fields}</div></div></details>")
    return "Extraction audit", "\n".join(out)
