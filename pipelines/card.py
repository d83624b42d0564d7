"""The dataset card (``README.md`` of a dataset folder), filled from the manifest and the schema."""

from __future__ import annotations

import html
import re

from pipelines.croissant import citation
from pipelines.release import hub_front_matter
from qa_crawler.record import NESTED, PERSONAL_DATA, dataset_schema, flat_schema

# What Markdown would read as syntax in text taken from pages (a department name): emphasis,
# code, links and images, table cells, headings, strike-through. HTML is made entities first.
_MARKDOWN_SYNTAX = re.compile(r"([\\`*_{}\[\]()#!|~])")


def md_text(value) -> str:
    """Text from a page, safe in a Markdown table cell or line: one line, no HTML, no syntax."""
    text = html.escape(" ".join(str(value).split()), quote=False)
    return _MARKDOWN_SYNTAX.sub(r"\\\1", text)


def _type_name(t) -> str:
    return str(t).replace("timestamp[us, tz=UTC]", "timestamp (UTC)")


def _schema_table(schema) -> list[str]:
    lines = ["| column | type | nullable | meaning |", "| --- | --- | --- | --- |"]
    for f in schema:
        doc = (f.metadata or {}).get(b"doc", b"").decode()
        lines.append(f"| `{f.name}` | {_type_name(f.type)} | {'yes' if f.nullable else 'no'} "
                     f"| {doc.replace('|', '/')} |")
    return lines


def _parse_issue_lines(manifest: dict) -> list[str]:
    """The card's account of the parser's doubts (the ``parse_issues`` column)."""
    found = manifest.get("parse_issues")
    if found is None:
        return []
    doc = dataset_schema().field("parse_issues").metadata[b"doc"].decode()
    out = ["", "### What the parser was unsure of", "",
           f"`parse_issues`: {doc}", "",
           f"{found['rows']} of {manifest['rows']['qa']} rows ({found['share']:.1%}) have at least "
           "one; `report.html` shows a few rows beside the page they were read from."]
    if found["by_kind"]:
        out += ["", "| kind | rows |", "| --- | --- |"]
        out += [f"| `{k}` | {v} |" for k, v in sorted(found["by_kind"].items(),
                                                    key=lambda kv: (-kv[1], kv[0]))]
    out += ["", "To keep only rows the parser had no doubt about: "
            "`df[df.parse_issues.str.len() == 0]` (pandas), "
            "`SELECT * FROM 'qa.parquet' WHERE len(parse_issues) = 0` (DuckDB)."]
    return out


def render_card(manifest: dict, failures: list[dict]) -> str:
    rows = manifest["rows"]
    crawl = manifest["crawl"]
    out = [
        hub_front_matter(manifest),
        "# Q&A pages of doctorqna.com: a qa-crawler dataset",
        "",
        "Questions that members of the public asked doctors on doctorqna.com, with the doctors' "
        "replies, as the site republishes them in English: one row per Q&A page, with the asker's "
        "age band and gender, the dates, the department, the reply, the site's extended "
        "explanation (`more_info`, not the doctor's words), and the similar Q&As and FAQ topics "
        "the page links to.",
        "",
        "Charts of what it holds (questions per department and per year, reply delay, askers' "
        "age bands and gender, field fill rates, text lengths, crawl history) are in "
        "[report.html](report.html), one self-contained page that opens offline in any browser; "
        "`qa-crawler report DIR` draws it again.",
        "",
        "## Where and when",
        "",
        f"- Source: {md_text(manifest.get('start_url') or 'unknown')} (crawled by qa-crawler "
        f"{manifest['tool_version']}, parser {manifest['parser_version']}).",
        f"- Crawl window: {crawl.get('started_at')} to {crawl.get('finished_at')} (UTC), "
        f"{len(manifest.get('runs', []))} run(s).",
        f"- Questions asked between {manifest['asked_on_range'][0]} and "
        f"{manifest['asked_on_range'][1]}.",
        f"- Release {manifest.get('version')} (`CHANGELOG.md` says what each release changed; "
        "`qa-crawler diff OLD_DIR NEW_DIR` lists the ids).",
        f"- Schema version {manifest['schema_version']}; this card and `manifest.json` were "
        f"written at {manifest['created_at']}.",
        "",
        "## What it holds",
        "",
        "| table | rows | files |",
        "| --- | --- | --- |",
    ]
    for table in ("qa", "similar", "related_topics", "failures"):
        out.append(f"| {table} | {rows[table]} | `{table}.parquet`, `{table}.csv` |")
    out += [
        "",
        "`qa.parquet` keeps `similar` and `related_topics` as nested lists; the CSV files cannot, "
        "so `similar.csv` and `related_topics.csv` hold them flat, keyed by `qa_id` with a 1-based "
        "`rank`. In the CSV files a text cell that starts with `=`, `+`, `-` or `@` is prefixed "
        "with `'` so that spreadsheets do not run it as a formula; the Parquet files hold the "
        "text unchanged. `failures` lists the pages that could not be fetched or parsed.",
    ]
    raw = manifest.get("raw_pages") or {}
    if raw.get("kept"):
        out += ["", f"The raw pages are kept: {raw['files']} WARC file(s), {raw['bytes']} bytes, in "
                f"`{raw['folder']}`; `warc_file` and `warc_offset` trace each row to its page "
                "(`qa-crawler show DIR QA_ID`), and `qa-crawler rebuild DIR` re-parses them. "
                "They open with a `warcinfo` record, keep redirects and 304 re-checks (as "
                "revisits), are indexed in `index.cdxj` beside them, and `qa-crawler wacz DIR` "
                "packages them as WACZ for ReplayWeb.page."]
    else:
        out += ["", "The raw pages were not kept (crawled with `--no-warc`)."]
    if manifest.get("rebuild"):
        rb = manifest["rebuild"]
        out += ["", f"Rebuilt from the raw pages at {rb['rebuilt_at']} with parser "
                f"{rb['parser_version']}."]
    out += [
        "",
        "### Questions per department",
        "",
        "| department | questions |",
        "| --- | --- |",
    ]
    out += [f"| {md_text(d)} | {c} |" for d, c in sorted(manifest["by_department"].items(),
                                                key=lambda kv: (-kv[1], kv[0]))]
    split = manifest.get("split") or {}
    if split:
        near = manifest.get("near_duplicates") or {}
        out += ["", "### Splits", "",
                "The `split` column assigns every question to train, validation or test by a "
                f"hash of its `qa_id` (ratios {split['ratios']}), so two crawls of the site agree "
                "on the split of every question they share: "
                + ", ".join(f"{k} {v}" for k, v in split["rows"].items()) + "."]
        if near:
            out += ["", f"Near-duplicate questions ({near['method']}) form {near['groups']} "
                    f"group(s) holding {near['rows']} rows; `dup_cluster` names each row's group "
                    "(its smallest `qa_id`), and a group's rows share the split of that key, so "
                    "no question has a near-copy in another split. A row's split changes between "
                    "releases only when its group does (it gains or loses members)."]
    out += ["", "### Questions per year asked", "", "| year | questions |", "| --- | --- |"]
    out += [f"| {md_text(y)} | {c} |" for y, c in manifest["by_year"].items()]
    out += ["", "### Fill rate of each column", "", "| column | share of rows with a value |",
            "| --- | --- |"]
    out += [f"| `{c}` | {r:.1%} |" for c, r in manifest["fill_rates"].items()]
    out += _parse_issue_lines(manifest)
    out += ["", "## Schema", ""]
    history = manifest.get("schema_history") or {}
    if history:
        out += [f"Schema version {manifest['schema_version']}. Columns are only ever added, "
                "never renamed or given a new meaning; what each version added:", ""]
        out += [f"- {v}: {what}" for v, what in sorted(history.items(), key=lambda kv: int(kv[0]))]
        out += [""]
    out += ["### `qa`", ""] + _schema_table(dataset_schema())
    for name in NESTED:
        out += ["", f"### `{name}` (flat)", ""] + _schema_table(flat_schema(name))
    out += [
        "",
        "## Personal data",
        "",
        "The questions were published by the site, under pseudonyms. Even so, these columns may "
        "hold personal data, and health data is a special category in most privacy laws:",
        "",
    ]
    redacted = manifest.get("redacted") or {}
    out += [f"- `{c}`: {why}." + (f" **Redacted in this dataset: {redacted[c]}.**"
                                  if c in redacted else "")
            for c, why in PERSONAL_DATA.items()]
    others = sorted(set(redacted) - set(PERSONAL_DATA))
    if others:
        out += [f"- `{c}`: redacted in this dataset: {redacted[c]}." for c in others]
    if any("hash" in how for how in redacted.values()):
        out += ["", "Hashed columns keep equal values equal (the same pseudonym gives the same "
                "hash) without showing them; the salt stays in the crawl's state folder "
                "(`.qa-crawler/redact-salt`), which must not be shared with the data."]
    out += [
        "",
        "Do not try to re-identify askers. Publish derived work in aggregate, or drop "
        "`asker_name` first.",
        "",
        "## How to load it",
        "",
        "```python",
        "import qa_crawler",
        "df = qa_crawler.load_dataset('.')           # pandas DataFrame of qa",
        "",
        "import pandas as pd",
        "df = pd.read_parquet('qa.parquet')",
        "",
        "import duckdb",
        "duckdb.sql(\"SELECT department, count(*) FROM 'qa.parquet' GROUP BY 1\").show()",
        "",
        "import polars as pl",
        "pl.read_parquet('qa.parquet')",
        "",
        "import datasets",
        "datasets.load_dataset('.', 'qa')               # train, validation and test splits",
        "datasets.load_dataset('.', 'similar')          # also related_topics, failures",
        "",
        "import mlcroissant                             # the same through croissant.json",
        "mlcroissant.Dataset('croissant.json').records('qa')",
        "```",
        "",
        "## Files and checksums",
        "",
        "| file | rows | bytes | sha256 |",
        "| --- | --- | --- | --- |",
    ]
    out += [f"| `{name}` | {f['rows']} | {f['bytes']} | `{f['sha256']}` |"
            for name, f in manifest["files"].items()]
    if failures:
        kinds: dict[str, int] = {}
        for f in failures:
            kinds[f["kind"]] = kinds.get(f["kind"], 0) + 1
        out += ["", "## Failures", "", f"{len(failures)} page(s) are not in the dataset: "
                + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
                + ". See `failures.csv`; the next run of the same crawl tries them again."]
    out += [
        "",
        "## Caveats",
        "",
        "- The replies are short answers to a written question, not a diagnosis.",
        "- `more_info` is explanatory text the site adds; it is not written by the doctor.",
        "- The site publishes the texts in English translation; names are romanised.",
        "",
    ]
    out += [
        "## Licence and terms",
        "",
        "The texts are the site's: the questions its users asked, its doctors' replies and its "
        "explanations. The site's terms of use (https://doctorqna.com/) govern them, so the "
        "licence is given as `other` (`doctorqna-terms-of-use`); read those terms before you "
        "redistribute any of it. The crawl obeyed robots.txt.",
        "",
        "## Other files",
        "",
        "- `data/qa-train.parquet`, `data/qa-validation.parquet`, `data/qa-test.parquet`: the "
        "`qa` table by its `split` column (what the Hugging Face configs above name).",
        "- `croissant.json`: this folder in MLCommons Croissant 1.0 (files with sha256, a record "
        "set per table, the Responsible-AI fields).",
        "- `CHANGELOG.md`: what each release added, changed and removed, per department.",
        "- `manifest.json`: files, rows, checksums, crawl window, version, monitors.",
        "",
        "## Citation",
        "",
        "```bibtex",
        citation(manifest),
        "```",
        "",
    ]
    return "\n".join(out)
