"""The record declaration is the one source of the Arrow schema, the JSON Schema and the docs."""

import dataclasses

import jsonschema
import pyarrow as pa

from qa_crawler import record as r


def test_every_field_has_a_type_and_a_docstring():
    for f in dataclasses.fields(r.QARecord):
        assert isinstance(f.metadata["arrow_type"], pa.DataType), f.name
        assert len(f.metadata["doc"]) > 15, f"{f.name} needs a docstring with unit and format"


def test_arrow_and_json_schemas_agree_on_columns_and_nullability():
    arrow = r.arrow_schema()
    js = r.json_schema()
    assert arrow.names == list(js["properties"])
    for field in arrow:
        jtype = js["properties"][field.name]["type"]
        nullable_in_json = isinstance(jtype, list) and "null" in jtype
        assert nullable_in_json == field.nullable, field.name


def test_spec_column_types():
    s = r.arrow_schema()
    assert s.field("asked_on").type == pa.date32()
    assert s.field("answered_on").type == pa.date32()
    assert s.field("asker_age_min").type == pa.int16()
    assert s.field("crawled_at").type == pa.timestamp("us", tz="UTC")
    assert s.field("similar").type.value_type.names == [
        "qa_id", "url", "title", "question_excerpt", "doctor_name", "department", "answer_excerpt"]
    assert s.field("related_topics").type.value_type.names == ["topic", "department", "url"]
    assert not s.field("qa_id").nullable and not s.field("url").nullable
    assert s.field("parse_issues").type == pa.list_(pa.string())
    assert not s.field("parse_issues").nullable
    assert s.metadata[b"schema_version"] == str(r.SCHEMA_VERSION).encode()


def test_every_schema_version_says_what_it_added():
    assert sorted(r.SCHEMA_HISTORY) == list(range(1, r.SCHEMA_VERSION + 1))
    assert "parse_issues" in r.SCHEMA_HISTORY[2]


def test_json_round_trip_and_validation():
    rec = r.QARecord(qa_id="1", url="https://x/en/article/1", asker_gender="female",
                     similar=[r.SimilarQA(qa_id="2", title="t")],
                     related_topics=[r.RelatedTopic(topic="Tremor", department="Neurology")])
    data = r.to_json_dict(rec)
    jsonschema.Draft202012Validator(r.json_schema()).validate(data)
    assert r.from_json_dict(data) == rec


def test_json_schema_rejects_a_gender_outside_the_two_words():
    rec = r.QARecord(qa_id="1", url="u", asker_gender="f")
    errors = list(jsonschema.Draft202012Validator(r.json_schema()).iter_errors(r.to_json_dict(rec)))
    assert errors and errors[0].path[0] == "asker_gender"


def test_arrow_table_builds_from_records_with_the_declared_schema():
    rec = r.QARecord(qa_id="1", url="u", asker_age_min=20)
    row = dataclasses.asdict(rec)
    table = pa.Table.from_pylist([row], schema=r.arrow_schema())
    assert table.schema.field("asker_age_min").type == pa.int16()


def _asdict_json(record):
    """The definition to_json_dict keeps: dataclasses.asdict, then ISO dates and timestamps."""
    import dataclasses
    import datetime as dt

    out = dataclasses.asdict(record)
    for key, value in out.items():
        if isinstance(value, dt.datetime):
            out[key] = value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")
        elif isinstance(value, dt.date):
            out[key] = value.isoformat()
    return out


def test_to_json_dict_is_asdict_with_iso_dates_on_every_fixture_record_and_odd_values():
    import dataclasses
    import datetime as dt
    import json
    from pathlib import Path

    from qa_crawler.parsers.doctorqna import parse_page
    from qa_crawler.record import QARecord, RelatedTopic, SimilarQA, to_json_dict

    records = []
    for case in sorted(Path(__file__).parent.joinpath("fixtures").rglob("page.html")):
        try:
            records.append(parse_page(case.read_bytes(), "https://doctorqna.com/en/article/1")
                           .record)
        except Exception:  # noqa: BLE001 - pages that are no Q&A page have no record
            continue
    assert len(records) >= 10
    odd = dataclasses.replace(
        records[0], crawled_at=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone(
            dt.timedelta(hours=8))), similar=[SimilarQA(qa_id="1", title="t")] * 2,
        related_topics=[RelatedTopic(topic="x")], parse_issues=["a", "b"])
    records += [odd, QARecord(qa_id="x", url="u")]
    for record in records:
        got = to_json_dict(record)
        assert got == _asdict_json(record)
        assert json.dumps(got) == json.dumps(_asdict_json(record))  # order of keys too
        # Fresh lists: the JSON form shares no mutable value with the record.
        assert got["similar"] is not record.similar
