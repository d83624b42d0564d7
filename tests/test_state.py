"""The crawl state on its own: change detection by content, the page history it keeps."""

import dataclasses
import json
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from qa_crawler import record
from qa_crawler.demo.site import SampleSite
from qa_crawler.fetched import Fetch, parse_fetched
from qa_crawler.state import CrawlState, content_key
from qa_crawler.folder import iter_merged_records
from qa_crawler.warc import Location
from tests.sample_dataset import BASE_URL, CRAWLED_AT, sample_site_pages

LATER = CRAWLED_AT.replace(day=CRAWLED_AT.day + 1)


def stored_json(body, url, content_type, *, crawled, warc_offset):
    """A page's record as the crawl stores it, with its provenance set."""
    fetch = Fetch(url=url, status=200, fetched_at=crawled, content_type=content_type,
                  warc=Location("main-1-00001.warc.gz", warc_offset))
    return record.to_json_dict(parse_fetched(body, fetch).record)


@pytest.fixture
def site():
    return SampleSite(n_pages=6, seed=2)


def test_provenance_alone_does_not_make_a_change_every_other_column_does():
    base = record.to_json_dict(record.QARecord(qa_id="1", url="u", title="t", answer="a"))
    for name in record.PROVENANCE:
        other = dict(base, **{name: "x"})
        assert content_key(other) == content_key(base), name
    for name in record.CONTENT:
        other = dict(base, **{name: "x"})
        assert content_key(other) != content_key(base), name


def test_every_column_declares_one_known_kind():
    for f in record.dataset_fields():
        assert f.metadata["kind"] in record.KINDS, f.name
    assert set(record.CONTENT) | set(record.PROVENANCE) == {f.name for f in record.record_fields()}
    with pytest.raises(ValueError, match="kind"):
        record.column(record.pa.string(), "a column of no known kind", kind="other")


def test_a_recheck_of_an_unchanged_page_leaves_changed_at_alone(tmp_path, site):
    (body, url, ctype), = sample_site_pages(site, site.qa_ids()[:1])
    state = CrawlState(tmp_path)
    first = stored_json(body, url, ctype, crawled=CRAWLED_AT, warc_offset=100)
    # Fetched again: a new fetch time and a new place in the WARC files, the same page.
    again = stored_json(body, url, ctype, crawled=LATER, warc_offset=90_000)
    assert state.upsert(first, url, seen_at=CRAWLED_AT) == "new"
    assert state.upsert(again, url, seen_at=LATER) == "unchanged"
    state.close()
    [(_, meta)] = list(iter_merged_records(tmp_path))
    assert meta["changed_at"] is None
    assert meta["first_seen"] < meta["last_seen"]


def test_a_recheck_of_a_changed_page_sets_changed_at(tmp_path, site):
    qa_id = site.qa_ids()[0]
    (body, url, ctype), = sample_site_pages(site, [qa_id])
    state = CrawlState(tmp_path)
    state.upsert(stored_json(body, url, ctype, crawled=CRAWLED_AT, warc_offset=100), url,
                 seen_at=CRAWLED_AT)
    site.change_page(qa_id)
    (body, url, ctype), = sample_site_pages(site, [qa_id])
    changed = stored_json(body, url, ctype, crawled=LATER, warc_offset=90_000)
    assert state.upsert(changed, url, seen_at=LATER) == "changed"
    state.close()
    [(stored, meta)] = list(iter_merged_records(tmp_path))
    assert meta["changed_at"] == LATER.isoformat()
    assert stored["answer"] == changed["answer"]


def test_keys_of_an_older_database_are_recomputed_once_so_its_pages_stay_unchanged(tmp_path,
                                                                                  site):
    (body, url, ctype), = sample_site_pages(site, site.qa_ids()[:1])
    state = CrawlState(tmp_path)
    state.upsert(stored_json(body, url, ctype, crawled=CRAWLED_AT, warc_offset=100), url,
                 seen_at=CRAWLED_AT)
    path = state.path
    state.close()
    # As a database written before the key left out the WARC location, when its column was
    # still named content_sha256 (as the record's hash of the body is).
    with sqlite3.connect(path) as db:
        db.execute("ALTER TABLE pages RENAME COLUMN change_key TO content_sha256")
        db.execute("UPDATE pages SET content_sha256 = 'old key'")
        db.execute("PRAGMA user_version = 0")
    db.close()
    state = CrawlState(tmp_path)
    again = stored_json(body, url, ctype, crawled=LATER, warc_offset=90_000)
    assert state.upsert(again, url, seen_at=LATER) == "unchanged"
    state.close()
    with sqlite3.connect(path) as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(pages)")]
    db.close()
    assert "change_key" in columns and "content_sha256" not in columns


def test_the_stored_record_round_trips_to_the_same_record(tmp_path, site):
    (body, url, ctype), = sample_site_pages(site, site.qa_ids()[:1])
    data = stored_json(body, url, ctype, crawled=CRAWLED_AT, warc_offset=7)
    state = CrawlState(tmp_path)
    state.upsert(data, url, seen_at=CRAWLED_AT)
    state.close()
    [(stored, _)] = list(iter_merged_records(tmp_path))
    assert stored == json.loads(json.dumps(data))
    assert dataclasses.asdict(record.from_json_dict(stored)) == dataclasses.asdict(
        record.from_json_dict(data))


def test_a_record_encoded_with_its_digest_gets_the_digest_of_its_stored_text():
    """A rebuild's workers hand over each record's text digest with its text (the process
    storing them then does not hash 20 KB a record): the same digest the state would make."""
    from qa_crawler import columns
    from qa_crawler.state import encode

    record = {"qa_id": "7", "question": "Ünïcode — text\n", "similar": [{"title": None}]}
    plain, given = encode(record), encode(record, with_digest=True)
    assert plain.text_digest is None and given[:2] == plain[:2]
    assert given.text_digest == columns.digest(plain.body.encode("utf-8"))


def _reference_text(value) -> bytes:
    """What every stored change key was made of."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True).encode("utf-8")


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2 ** 63), 2 ** 63 - 1)
    | st.text(st.characters(exclude_categories=("Cs",)), max_size=30),
    lambda inner: st.lists(inner, max_size=5)
    | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=40)


@settings(max_examples=400, deadline=None)
@given(_JSON_VALUES)
def test_the_change_key_text_is_json_dumps_byte_for_byte(value):
    from qa_crawler.state import json_dumps_text

    assert json_dumps_text(value) == _reference_text(value)


@pytest.mark.parametrize("value", [
    {"a": 1.5, "b": [1e16, -0.0]},  # floats: Python's own digits
    {"n": 2 ** 70},  # past orjson's integers
    {"t": ("a", 1)},  # a tuple: json.dumps writes a list
    {"deep": [[[[[[[[{"x": ["y", {"z": None}]}]]]]]]]]},
    {"s": "line\nbreak, comma: colon \"q\" \\ \x00\x1f\x7f\u2028 é 😀", "": {"": []}},
    [], {}, "text", 0, None, True,
])
def test_the_change_key_text_is_json_dumps_for_floats_big_numbers_and_odd_values(value):
    from qa_crawler.state import json_dumps_text

    assert json_dumps_text(value) == _reference_text(value)


def test_a_lone_surrogate_fails_the_change_key_as_it_always_did():
    from qa_crawler.state import json_dumps_text

    with pytest.raises(UnicodeEncodeError):
        _reference_text({"question": "\ud800"})
    with pytest.raises(UnicodeEncodeError):
        json_dumps_text({"question": "\ud800"})


def test_change_keys_of_saved_pages_keep_their_meaning():
    """The key of every fixture page's record is the sha256 of json.dumps's text, as stored by
    every earlier version."""
    import hashlib

    from qa_crawler.record import content_of

    pages = sorted((Path(__file__).parent / "fixtures" / "pages").glob("*/expected.json"))
    assert len(pages) > 20
    for path in pages:
        record_json = json.loads(path.read_text(encoding="utf-8"))
        want = hashlib.sha256(_reference_text(content_of(record_json))).hexdigest()
        assert content_key(record_json) == want, path.parent.name
