"""Researchers' options: the stable split column and redaction of columns, from API and CLI."""

import json
import subprocess
import sys
from collections import Counter

import pyarrow.parquet as pq
import pytest

from pipelines.dataset import export_dataset
from pipelines.privacy import parse_ratios, parse_redactions, split_of
from tests.sample_dataset import state_from_pages

CASES = ["seed_semantic", "no_similar", "age_under_10", "entities_nbsp", "unicode_names"]


def make_state(out, cases=CASES):
    return state_from_pages(out, cases)


def qa_table(out):
    return pq.read_table(out / "qa.parquet").to_pylist()


def test_split_is_a_pure_function_of_qa_id_with_the_declared_shares():
    ids = [f"A{n:06d}" for n in range(20000)]
    splits = Counter(split_of(i) for i in ids)
    assert set(splits) == {"train", "validation", "test"}
    assert abs(splits["train"] / len(ids) - 0.8) < 0.02
    assert abs(splits["validation"] / len(ids) - 0.1) < 0.01
    assert [split_of(i) for i in ids[:50]] == [split_of(i) for i in ids[:50]]
    # Ratios move the edges; a question never leaves train for test when train grows.
    wider = parse_ratios("0.9,0.05,0.05")
    assert all(split_of(i, wider) == "train" for i in ids if split_of(i) == "train")


def test_two_crawls_holding_different_pages_agree_on_the_split_of_shared_ones(tmp_path):
    one = make_state(tmp_path / "one", CASES[:3])
    two = make_state(tmp_path / "two", CASES[1:])
    export_dataset(one)
    export_dataset(two)
    first = {r["qa_id"]: r["split"] for r in qa_table(one)}
    second = {r["qa_id"]: r["split"] for r in qa_table(two)}
    shared = set(first) & set(second)
    assert len(shared) == 2
    assert all(first[q] == second[q] for q in shared)


def test_bad_ratios_and_redactions_are_refused_naming_the_input():
    with pytest.raises(ValueError, match="0.5,0.5,0.5"):
        parse_ratios("0.5,0.5,0.5")
    with pytest.raises(ValueError, match="abc"):
        parse_ratios("abc")
    with pytest.raises(ValueError, match="no column 'nickname'"):
        parse_redactions(["nickname"])
    with pytest.raises(ValueError, match="qa_id identifies the row"):
        parse_redactions(["qa_id"])
    with pytest.raises(ValueError, match="only text columns"):
        parse_redactions(["asker_age_min:hash"])
    with pytest.raises(ValueError, match="asker_name:blur"):
        parse_redactions(["asker_name:blur"])


def test_redact_hashes_or_drops_columns_and_says_so_in_manifest_and_card(tmp_path):
    out = make_state(tmp_path / "ds")
    export_dataset(out)
    plain = {r["qa_id"]: r for r in qa_table(out)}
    manifest = export_dataset(out, redact=["asker_name", "asker_age_min:drop"],
                              split_ratios="0.5,0.25,0.25")
    rows = {r["qa_id"]: r for r in qa_table(out)}
    assert "asker_age_min" not in pq.read_schema(out / "qa.parquet").names
    csv_header = (out / "qa.csv").read_text(encoding="utf-8").splitlines()[0]
    assert "asker_age_min" not in csv_header.split(",")
    for qa_id, row in rows.items():
        name = plain[qa_id]["asker_name"]
        if name is None:
            assert row["asker_name"] is None
        else:
            assert row["asker_name"] != name and len(row["asker_name"]) == 20
            assert name not in (out / "qa.csv").read_text(encoding="utf-8")
    assert manifest["redacted"]["asker_age_min"] == "dropped"
    assert "salted" in manifest["redacted"]["asker_name"]
    assert manifest["split"]["ratios"] == {"train": 0.5, "validation": 0.25, "test": 0.25}
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "Redacted in this dataset" in card and "0.5" in card
    # The salt stays in the state folder, never among the published files.
    assert (out / ".qa-crawler" / "redact-salt").exists()
    assert not any("salt" in f for f in manifest["files"])


def test_redaction_is_kept_for_later_exports_until_cleared(tmp_path):
    out = make_state(tmp_path / "ds")
    export_dataset(out, redact=["asker_name:drop"])
    again = export_dataset(out)  # e.g. the next nightly crawl, or a rebuild
    assert again["redacted"] == {"asker_name": "dropped"}
    assert "asker_name" not in pq.read_schema(out / "qa.parquet").names
    cleared = export_dataset(out, redact=["none"])
    assert cleared["redacted"] == {}
    assert "asker_name" in pq.read_schema(out / "qa.parquet").names


def test_same_salt_gives_the_same_hash_in_every_export(tmp_path):
    out = make_state(tmp_path / "ds")
    export_dataset(out, redact=["asker_name"])
    first = [r["asker_name"] for r in qa_table(out)]
    export_dataset(out)
    assert [r["asker_name"] for r in qa_table(out)] == first


def cli(*args):
    return subprocess.run([sys.executable, "-m", "qa_crawler.cli", *args], capture_output=True,
                          text=True, timeout=120)


def test_cli_export_takes_redact_and_split_ratios(tmp_path):
    out = make_state(tmp_path / "ds")
    done = cli("export", str(out), "--redact", "asker_name:drop", "--split-ratios", "0.6,0.2,0.2")
    assert done.returncode == 0, done.stderr
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["redacted"] == {"asker_name": "dropped"}
    assert manifest["split"]["ratios"]["train"] == 0.6


def test_cli_refuses_an_unknown_redact_column_before_doing_anything(tmp_path):
    out = make_state(tmp_path / "ds")
    done = cli("export", str(out), "--redact", "nickname")
    assert done.returncode == 2
    assert "nickname" in done.stderr
    assert not (out / "qa.parquet").exists()


@pytest.mark.slow
def test_crawl_redacts_and_keeps_the_choice_for_the_next_run(tmp_path):
    from qa_crawler.demo.server import SiteServer
    from qa_crawler.demo.site import SampleSite
    from tests.crawl_helpers import crawl, qa_rows

    site = SampleSite(n_pages=12, seed=5)
    out = tmp_path / "ds"
    with SiteServer(site) as server:
        first = crawl(f"{server.base_url}/", out, "--redact", "asker_name",
                      "--split-ratios", "0.7,0.15,0.15")
        assert first.returncode == 0, first.stderr
        names = {q: r["asker_name"] for q, r in qa_rows(out).items()}
        expected = {q: site.expected_record(q, server.base_url)["asker_name"]
                    for q in names}
        assert any(expected.values())
        assert all(names[q] != expected[q] for q in names if expected[q])
        second = crawl(f"{server.base_url}/", out)  # the nightly run, without the flags
        assert second.returncode == 0, second.stderr
    assert {q: r["asker_name"] for q, r in qa_rows(out).items()} == names
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["split"]["ratios"]["train"] == 0.7


@pytest.mark.parametrize("ratios", ["0.8,0.1,0.1", "0.9,0,0.1", "1,0,0", "0,0,1", "0.34,0.33,0.33"])
def test_the_splits_of_many_ids_at_once_are_each_ids_own(ratios):
    from pipelines.privacy import splits_of

    named = parse_ratios(ratios)
    ids = [f"A{n:06d}" for n in range(20000)] + ["", "日本語", "110525"]
    assert splits_of(ids, named).to_pylist() == [split_of(i, named) for i in ids]
    assert splits_of([], named).to_pylist() == []
