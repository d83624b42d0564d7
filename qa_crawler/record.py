"""The record: the one declaration of every column we publish, and the schemas derived from it.

Each field of :class:`QARecord` carries its Arrow type, nullability and a docstring (unit and
format) in its metadata. The Arrow schema of ``qa.parquet``, the JSON Schema used to validate
records, the flat tables of the CSV exports and the dataset card's schema section are all
derived from these declarations, never written out a second time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

SCHEMA_VERSION = 2
# What each schema version added; the card and the manifest say it. Columns are only added.
SCHEMA_HISTORY = {
    1: "the first release: the page's parts, provenance, page history and split",
    2: "parse_issues: what the parser was unsure of on the page",
}


def column(arrow_type: pa.DataType, doc: str, *, nullable: bool = True, default: Any = None):
    """Declare one column: its Arrow type, whether it may be null, and what it means."""
    meta = {"arrow_type": arrow_type, "nullable": nullable, "doc": doc}
    if isinstance(default, list):
        return field(default_factory=list, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(kw_only=True)
class SimilarQA:
    """One entry of a page's "Similar Q&A" block, in page order."""

    qa_id: str | None = column(pa.string(), "Site id of the similar Q&A page, from its link.")
    url: str | None = column(pa.string(), "Absolute URL of the similar Q&A page ([Read More] link).")
    title: str | None = column(pa.string(), "Title of the similar Q&A as listed.")
    question_excerpt: str | None = column(
        pa.string(), "Start of its question as listed; an excerpt, usually ending in '...'."
    )
    doctor_name: str | None = column(pa.string(), "Replying doctor, without the 'Dr.' prefix.")
    department: str | None = column(pa.string(), "Department of the reply, as listed.")
    answer_excerpt: str | None = column(
        pa.string(), "Start of the doctor's reply as listed; an excerpt, usually ending in '...'."
    )


@dataclass(kw_only=True)
class RelatedTopic:
    """One entry of a page's "Related FAQ" block, in page order."""

    topic: str | None = column(pa.string(), "FAQ topic name as shown, e.g. 'Muscle Twitching'.")
    department: str | None = column(pa.string(), "Department shown in brackets after the topic.")
    url: str | None = column(pa.string(), "Absolute URL of the topic page, when it is a link.")


def _struct_of(cls) -> pa.StructType:
    return pa.struct(
        [pa.field(f.name, f.metadata["arrow_type"], nullable=f.metadata["nullable"])
         for f in dataclasses.fields(cls)]
    )


SIMILAR_STRUCT = _struct_of(SimilarQA)
RELATED_STRUCT = _struct_of(RelatedTopic)


@dataclass(kw_only=True)
class QARecord:
    """One Q&A page of the site: the asker's question, the doctor's reply and what surrounds them."""

    qa_id: str | None = column(
        pa.string(), "The site's own id of the page, from its URL (or canonical link).",
        nullable=False,
    )
    url: str | None = column(
        pa.string(), "Canonical absolute URL of the page (canonical link, else the fetched URL "
        "without query or fragment).", nullable=False,
    )
    title: str | None = column(pa.string(), "Page title without the ' - <department>' suffix.")
    subject: str | None = column(pa.string(), "The asker's own subject line.")
    question: str | None = column(pa.string(), "The question; paragraphs joined with '\\n'.")
    asker_name: str | None = column(
        pa.string(), "Pseudonym as shown (honorific kept, e.g. 'Mr. Huang'); null when not shown. "
        "May be personal data.",
    )
    asker_gender: str | None = column(
        pa.string(), "'female' or 'male', from the gender word of the asker line (never from the "
        "honorific); null when not shown.",
    )
    asker_age_min: int | None = column(
        pa.int16(), "Lower bound of the asker's age band in years ('20~29' gives 20); null for "
        "'under N' bands or no age.",
    )
    asker_age_max: int | None = column(
        pa.int16(), "Upper bound of the age band in years, inclusive ('20~29' gives 29, 'under 10' "
        "gives 9); null for 'over N' bands or no age.",
    )
    asked_on: dt.date | None = column(pa.date32(), "Ask date (ISO date); page shows YYYY/MM/DD.")
    asked_on_raw: str | None = column(pa.string(), "Ask date exactly as the page shows it.")
    department: str | None = column(
        pa.string(), "Department of the reply (reply header, else the title suffix)."
    )
    doctor_name: str | None = column(pa.string(), "Replying doctor, without the 'Dr.' prefix.")
    answer: str | None = column(pa.string(), "The doctor's reply; paragraphs joined with '\\n'.")
    answered_on: dt.date | None = column(
        pa.date32(), "Reply date (ISO date); page shows YYYY/MM/DD."
    )
    answered_on_raw: str | None = column(pa.string(), "Reply date exactly as the page shows it.")
    more_info: str | None = column(
        pa.string(), "The 'More Info' extended explanation (secondary text, not the doctor's "
        "words); paragraphs joined with '\\n'; null when the page has none.",
    )
    similar: list[SimilarQA] = column(
        pa.list_(SIMILAR_STRUCT), "The 'Similar Q&A' entries in page order (excerpts, not full "
        "texts); empty when the page has none.", default=[],
    )
    related_topics: list[RelatedTopic] = column(
        pa.list_(RELATED_STRUCT), "The 'Related FAQ' topics in page order; empty when none.",
        default=[],
    )
    crawled_at: dt.datetime | None = column(
        pa.timestamp("us", tz="UTC"), "When the page was fetched (UTC); null for a page parsed "
        "from a file.",
    )
    http_status: int | None = column(pa.int16(), "HTTP status of the fetched page (provenance).")
    content_sha256: str | None = column(
        pa.string(), "sha256 of the page body as fetched, hex (provenance)."
    )
    parser_version: str | None = column(pa.string(), "Version of the parser that made the row.")
    warc_file: str | None = column(
        pa.string(), "WARC file (in .qa-crawler/warc/) holding the raw page; null when raw pages "
        "are not kept.",
    )
    warc_offset: int | None = column(
        pa.int64(), "Byte offset of the page's response record in warc_file."
    )
    parse_issues: list[str] = column(
        pa.list_(pa.string()), "What the parser was unsure of on this page, one short string each, "
        "'<kind>: <detail>'. Kinds: missing (a part not found), unreadable_date (a date on the "
        "page that could not be read; its text is kept in *_raw), department_mismatch (the "
        "title's department is not the reply header's), label_leak (a page label such as 'Ask "
        "Date' or '[Read More]' inside a field), asker_unsplit (an asker line not split into "
        "name, age and gender), similar_no_link (a Similar Q&A entry without a link). Empty when "
        "all is well; filter on it. (Schema version 2.)", nullable=False, default=[],
    )


@dataclass(kw_only=True)
class PageHistory:
    """What the crawl state knows of a page across runs; appended to the ``qa`` table."""

    first_seen: dt.datetime | None = column(
        pa.timestamp("us", tz="UTC"), "When a crawl first stored this page (UTC)."
    )
    last_seen: dt.datetime | None = column(
        pa.timestamp("us", tz="UTC"), "When a crawl last fetched or re-checked this page (UTC)."
    )
    changed_at: dt.datetime | None = column(
        pa.timestamp("us", tz="UTC"), "When a re-check last found the page's content changed "
        "(UTC); null if it never changed.",
    )


@dataclass(kw_only=True)
class DatasetColumns:
    """Columns the dataset writer derives for researchers; appended to the ``qa`` table."""

    split: str | None = column(
        pa.string(), "'train', 'validation' or 'test', from a hash of qa_id (sha256, first 8 "
        "bytes as a fraction of 2**64 against the ratios in the manifest, by default 0.8/0.1/0.1): "
        "the same question lands in the same split in every crawl of the site.",
    )


# Parts a Q&A page always has; when one is absent the record keeps the field null and the
# parser reports it (the crawl counts these per field).
REQUIRED_PARTS = (
    "title", "subject", "question", "asked_on", "department", "doctor_name", "answer",
    "answered_on",
)

NESTED = {"similar": SimilarQA, "related_topics": RelatedTopic}


def issue_kind(issue: str) -> str:
    """The kind of a ``parse_issues`` entry: ``unreadable_date`` of ``unreadable_date: ...``."""
    return issue.split(":", 1)[0]

# Columns that say how and when a page was fetched and parsed, not what it says.
PROVENANCE = ("crawled_at", "http_status", "content_sha256", "parser_version", "warc_file",
              "warc_offset")


def record_fields() -> tuple[dataclasses.Field, ...]:
    return dataclasses.fields(QARecord)


def _arrow_fields(cls) -> list[pa.Field]:
    return [
        pa.field(f.name, f.metadata["arrow_type"], nullable=f.metadata["nullable"],
                 metadata={"doc": f.metadata["doc"]})
        for f in dataclasses.fields(cls)
    ]


def arrow_schema() -> pa.Schema:
    """The Arrow schema of one record (what the parser and the feed exporter produce)."""
    return pa.schema(_arrow_fields(QARecord), metadata={"schema_version": str(SCHEMA_VERSION)})


def dataset_schema(drop: frozenset[str] | set[str] = frozenset()) -> pa.Schema:
    """The Arrow schema of ``qa.parquet``: the record's columns, the page history and the derived
    columns, less the ``drop`` columns (redacted by dropping)."""
    fields = _arrow_fields(QARecord) + _arrow_fields(PageHistory) + _arrow_fields(DatasetColumns)
    return pa.schema([f for f in fields if f.name not in drop],
                     metadata={"schema_version": str(SCHEMA_VERSION)})


# A list of strings in a CSV cell: its items one per line (CSV quotes cells with newlines).
CSV_LIST_SEPARATOR = "\n"


def csv_schema(drop: frozenset[str] | set[str] = frozenset()) -> pa.Schema:
    """``qa.csv``: the dataset's columns without the nested lists (they have their own files);
    a list of strings (``parse_issues``) is one text cell, its items one per line."""
    schema = dataset_schema(drop)
    for name in NESTED:
        schema = schema.remove(schema.get_field_index(name))
    for i, f in enumerate(schema):
        if pa.types.is_list(f.type):
            schema = schema.set(i, f.with_type(pa.string()))
    return schema


def flat_schema(name: str) -> pa.Schema:
    """Schema of a flat table (``similar`` or ``related_topics``): ``qa_id``, ``rank``, the struct."""
    cls = NESTED[name]
    fields = [
        pa.field("qa_id", pa.string(), nullable=False, metadata={"doc": "qa_id of the page."}),
        pa.field("rank", pa.int16(), nullable=False,
                 metadata={"doc": "1-based position of the entry on the page."}),
    ]
    for f in dataclasses.fields(cls):
        out_name = f"similar_{f.name}" if (name == "similar" and f.name in ("qa_id", "url")) else f.name
        fields.append(pa.field(out_name, f.metadata["arrow_type"], nullable=True,
                               metadata={"doc": f.metadata["doc"]}))
    return pa.schema(fields, metadata={"schema_version": str(SCHEMA_VERSION)})


def _json_type(arrow_type: pa.DataType, nullable: bool, doc: str) -> dict:
    if pa.types.is_string(arrow_type):
        schema: dict = {"type": "string"}
    elif pa.types.is_integer(arrow_type):
        bits = arrow_type.bit_width
        schema = {"type": "integer", "minimum": -(2 ** (bits - 1)), "maximum": 2 ** (bits - 1) - 1}
    elif pa.types.is_date32(arrow_type):
        schema = {"type": "string", "format": "date"}
    elif pa.types.is_timestamp(arrow_type):
        schema = {"type": "string", "format": "date-time"}
    elif pa.types.is_list(arrow_type):
        schema = {"type": "array", "items": _json_type(arrow_type.value_type, False, "")}
    elif pa.types.is_struct(arrow_type):
        schema = {
            "type": "object",
            "properties": {
                arrow_type.field(i).name: _json_type(arrow_type.field(i).type, True, "")
                for i in range(arrow_type.num_fields)
            },
            "additionalProperties": False,
        }
    else:  # pragma: no cover - guarded by test_schemas_agree
        raise TypeError(f"no JSON Schema mapping for {arrow_type}")
    if nullable:
        schema["type"] = [schema["type"], "null"]
    if doc:
        schema["description"] = doc
    return schema


def json_schema() -> dict:
    """JSON Schema (draft 2020-12) of one record as ``qa-crawler parse`` prints it."""
    props = {
        f.name: _json_type(f.metadata["arrow_type"], f.metadata["nullable"], f.metadata["doc"])
        for f in record_fields()
    }
    # The gender column holds one of two words; the schema says so.
    props["asker_gender"]["enum"] = ["female", "male", None]
    props["qa_id"]["minLength"] = 1
    props["url"]["minLength"] = 1
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "qa-crawler record, schema version %d" % SCHEMA_VERSION,
        "type": "object",
        "properties": props,
        "required": [f.name for f in record_fields()],
        "additionalProperties": False,
    }


def to_json_dict(record: QARecord) -> dict:
    """The record as plain JSON values: ISO dates and timestamps, nested lists as lists of dicts."""
    out = dataclasses.asdict(record)
    for key, value in out.items():
        if isinstance(value, dt.datetime):
            out[key] = value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")
        elif isinstance(value, dt.date):
            out[key] = value.isoformat()
    return out


def from_json_dict(data: dict) -> QARecord:
    """Inverse of :func:`to_json_dict` (used by the crawl state store)."""
    values = dict(data)
    for f in record_fields():
        t = f.metadata["arrow_type"]
        v = values.get(f.name)
        if v is None:
            continue
        if pa.types.is_date32(t):
            values[f.name] = dt.date.fromisoformat(v)
        elif pa.types.is_timestamp(t):
            values[f.name] = dt.datetime.fromisoformat(v.replace("Z", "+00:00"))
    values["similar"] = [SimilarQA(**s) for s in values.get("similar") or []]
    values["related_topics"] = [RelatedTopic(**r) for r in values.get("related_topics") or []]
    known = {f.name for f in record_fields()}
    return QARecord(**{k: v for k, v in values.items() if k in known})
