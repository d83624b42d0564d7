"""The folder as a release: Hub configs and splits, Croissant, versions and the changelog."""

import datetime as dt
import json

import pyarrow.parquet as pq
import pytest
import yaml

from pipelines.dataset import export_dataset
from qa_crawler.demo.site import SampleSite
from qa_crawler.state import CrawlState
from tests.sample_dataset import sample_site_pages, store_pages
from tests.test_loading import hf_datasets, no_network  # noqa: F401 (fixtures)

T0 = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)


def crawl_into(out, site, ids, crawled):
    state = CrawlState(out)
    state.start_run("https://doctorqna.com/en/")
    store_pages(state, sample_site_pages(site, ids), crawled)
    state.finish_run("finished", {})
    state.close()
    return export_dataset(out)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("release")
    site = SampleSite(n_pages=60, seed=21)
    crawl_into(out, site, site.qa_ids(), T0)
    return out


def front_matter(folder):
    card = (folder / "README.md").read_text(encoding="utf-8")
    assert card.startswith("---\n")
    return yaml.safe_load(card.split("---\n", 2)[1])


def test_the_card_opens_with_hub_metadata_and_a_config_per_table(folder):
    meta = front_matter(folder)
    assert meta["license"] == "other" and meta["language"] == ["en"]
    assert {"pretty_name", "task_categories", "size_categories", "tags",
            "source_datasets"} <= set(meta)
    configs = {c["config_name"]: c for c in meta["configs"]}
    assert set(configs) == {"qa", "similar", "related_topics", "failures"}
    assert [f["split"] for f in configs["qa"]["data_files"]] == ["train", "validation", "test"]
    for config in configs.values():
        for files in config["data_files"]:
            assert (folder / files["path"]).is_file(), files["path"]


def test_datasets_loads_the_qa_config_as_three_splits_with_the_manifests_counts(
        folder, hf_datasets, tmp_path):  # noqa: F811
    manifest = json.loads((folder / "manifest.json").read_text())
    ds = hf_datasets.load_dataset(str(folder), "qa", cache_dir=str(tmp_path / "c"))
    assert set(ds) == {"train", "validation", "test"}
    assert {k: ds[k].num_rows for k in ds} == manifest["split"]["rows"]
    assert sum(ds[k].num_rows for k in ds) == manifest["rows"]["qa"]
    assert all(set(ds[k]["split"]) == {k} for k in ds)
    similar = hf_datasets.load_dataset(str(folder), "similar", cache_dir=str(tmp_path / "c"))
    assert similar["train"].num_rows == manifest["rows"]["similar"]
    assert "rank" in similar["train"].column_names


# mlcroissant itself uses rdflib's deprecated ConjunctiveGraph and pandas' older calls.
@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning",
                            "ignore::UserWarning")
def test_croissant_validates_and_yields_the_records_of_every_table(folder):
    mlc = pytest.importorskip("mlcroissant")
    manifest = json.loads((folder / "manifest.json").read_text())
    doc = json.loads((folder / "croissant.json").read_text())
    assert doc["version"] == manifest["version"]
    shas = {d["name"]: d["sha256"] for d in doc["distribution"]}
    assert shas["qa.parquet"] == manifest["files"]["qa.parquet"]["sha256"]
    assert "rai:personalSensitiveInformation" in doc and "asker_name" in doc[
        "rai:personalSensitiveInformation"]
    dataset = mlc.Dataset(jsonld=folder / "croissant.json")  # validates; raises on an error
    rows = list(dataset.records("qa"))
    assert len(rows) == manifest["rows"]["qa"]
    first = pq.read_table(folder / "qa.parquet", columns=["qa_id"]).column("qa_id")[0].as_py()
    assert first in {r["qa/qa_id"].decode() if isinstance(r["qa/qa_id"], bytes) else r["qa/qa_id"]
                     for r in rows}
    assert len(list(dataset.records("similar"))) == manifest["rows"]["similar"]


def test_versions_follow_what_changed_and_the_changelog_says_it(tmp_path):
    site = SampleSite(n_pages=30, seed=4)
    ids = site.qa_ids()
    first = crawl_into(tmp_path, site, ids[:20], T0)
    assert first["version"] == "1.0.0"
    again = crawl_into(tmp_path, site, ids[:20], T0 + dt.timedelta(days=1))
    assert again["version"] == "1.0.0", "nothing changed: the same version"
    site.change_page(ids[2])
    later = crawl_into(tmp_path, site, [ids[2], *ids[20:25]], T0 + dt.timedelta(days=2))
    assert later["version"] == "1.1.0"
    assert later["changes"]["added"] == 5 and later["changes"]["changed"] == 1
    log = (tmp_path / "CHANGELOG.md").read_text()
    assert log.index("## 1.1.0") < log.index("## 1.0.0")
    assert "- 5 added, 1 changed, 0 removed." in log
    # A release from an older schema version is followed by a new major version.
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    old = dict(manifest, schema_version=manifest["schema_version"] - 1)
    target = (tmp_path / "manifest.json").resolve()
    target.unlink()
    target.write_text(json.dumps(old))
    assert crawl_into(tmp_path, site, [], T0 + dt.timedelta(days=3))["version"] == "2.0.0"
    assert "Schema version 1 -> 2" in (tmp_path / "CHANGELOG.md").read_text()


@pytest.mark.slow
def test_a_page_withdrawn_on_a_recheck_gets_removed_at_and_leaves_the_published_tables(tmp_path):
    from qa_crawler.demo.server import SiteServer
    from tests.crawl_helpers import crawl

    site = SampleSite(n_pages=20, seed=9)
    gone, also_gone = site.qa_ids()[3], site.qa_ids()[8]
    with SiteServer(site) as server:
        first = crawl(server.url("/"), tmp_path)
        assert first.returncode == 0, first.stderr[-2000:]
        assert json.loads((tmp_path / "manifest.json").read_text())["version"] == "1.0.0"
        server.faults[site.article_path(gone)] = [{"status": 404}]
        server.faults[site.article_path(also_gone)] = [{"status": 410}]
        second = crawl(server.url("/"), tmp_path, "--recheck-older-than", "0s")
        assert second.returncode == 0, second.stderr[-2000:]
        assert "removed           2 stored pages" in second.stdout
        assert "failed            0\n" in second.stdout  # a withdrawal is no failure
        manifest = json.loads((tmp_path / "manifest.json").read_text())
        ids = set(pq.read_table(tmp_path / "qa.parquet", columns=["qa_id"])["qa_id"].to_pylist())
        assert gone not in ids and also_gone not in ids and len(ids) == 18
        assert manifest["withdrawn"] == {"rows": 2, "kept": False}
        assert manifest["version"] == "2.0.0"  # rows removed: a new major version
        assert "0 added, 0 changed, 2 removed" in (tmp_path / "CHANGELOG.md").read_text()
        # --keep-removed keeps them, with the time they were found withdrawn.
        import subprocess
        import sys
        proc = subprocess.run([sys.executable, "-m", "qa_crawler.cli", "export", str(tmp_path),
                               "--keep-removed"], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        rows = {r["qa_id"]: r for r in pq.read_table(
            tmp_path / "qa.parquet", columns=["qa_id", "removed_at"]).to_pylist()}
        assert rows[gone]["removed_at"] is not None and rows[site.qa_ids()[0]]["removed_at"] is None
        # A page that comes back online is no longer withdrawn.
        third = crawl(server.url("/"), tmp_path, "--recheck-older-than", "0s")
        assert third.returncode == 0, third.stderr[-2000:]
        ids = set(pq.read_table(tmp_path / "qa.parquet", columns=["qa_id"])["qa_id"].to_pylist())
        assert {gone, also_gone} <= ids


def test_near_duplicate_questions_share_a_group_and_a_split(tmp_path):
    from pipelines.dedup import near_duplicate_groups

    site = SampleSite(n_pages=60, seed=33)
    ids = site.qa_ids()
    copies = {}

    def near_copies(k, rec):
        # Pages 1-4 repeat page 0's question with a word changed; 11 repeats 10's verbatim.
        if k == 0:
            copies["a"] = (rec.subject, rec.question)
        elif 1 <= k <= 4:
            subject, question = copies["a"]
            words = question.split()
            words[len(words) // 2] = f"word{k}"
            rec.subject, rec.question = subject, " ".join(words)
        elif k == 10:
            copies["b"] = (rec.subject, rec.question)
        elif k == 11:
            rec.subject, rec.question = copies["b"]

    state = CrawlState(tmp_path)
    state.start_run("https://doctorqna.com/en/")
    store_pages(state, sample_site_pages(site, ids), T0, edit=near_copies)
    state.finish_run("finished", {})
    state.close()
    manifest = export_dataset(tmp_path)
    rows = {r["qa_id"]: r for r in pq.read_table(
        tmp_path / "qa.parquet", columns=["qa_id", "dup_cluster", "split"]).to_pylist()}
    first, second = set(ids[0:5]), set(ids[10:12])
    for group in (first, second):
        assert {rows[i]["dup_cluster"] for i in group} == {min(group)}
        assert len({rows[i]["split"] for i in group}) == 1, "a group never straddles splits"
    others = set(ids) - first - second
    assert all(rows[i]["dup_cluster"] is None for i in others)
    assert manifest["near_duplicates"]["groups"] == 2 and manifest["near_duplicates"]["rows"] == 7
    assert "form 2 group(s) holding 7 rows" in (tmp_path / "README.md").read_text()
    # Distinct questions make no group; the key is the group's smallest id whatever the order.
    assert near_duplicate_groups([("1", "a b c d e f"), ("2", "g h i j k l")]) == {}
    text = "my knee hurts when I climb the stairs after a long walk in the park"
    assert near_duplicate_groups([("9", text), ("3", text), ("5", text)]) == {
        "9": "3", "3": "3", "5": "3"}


def test_a_second_export_reuses_the_signatures_and_finds_the_same_groups(tmp_path, monkeypatch):
    from pipelines import dedup
    from pipelines.dedup import SignatureCache, near_duplicate_groups

    text = "my knee hurts when I climb the stairs after a long walk in the park"
    items = [("9", text), ("3", text + " today"), ("5", "a different question about sleep and "
                                                     "headaches every single morning")]
    path = tmp_path / "signatures.sqlite"
    first = SignatureCache(path)
    groups = near_duplicate_groups(items, cache=first)
    first.save()
    assert groups == {"9": "3", "3": "3"}

    computed = []
    compute = dedup.signatures
    monkeypatch.setattr(dedup, "signatures", lambda lists: computed.extend(lists) or compute(lists))
    again = SignatureCache(path)
    edited = [*items[:2], ("5", "a question that was edited since the last export of the folder")]
    assert near_duplicate_groups(edited, cache=again) == groups
    assert len(computed) == 1  # only the edited question's signature is computed again
    again.save()
    assert len(SignatureCache(path)) == 3  # the old text's signature is gone

    path.write_bytes(b"not a database")  # a damaged cache: ignored, signatures computed again
    assert near_duplicate_groups(items, cache=SignatureCache(path)) == groups


def test_changes_since_in_columns_match_the_row_by_row_reference(tmp_path):
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipelines.release import changes_since, changes_since_by_rows

    utc = dt.timezone.utc
    stamps = [None, dt.datetime(2026, 1, 1, tzinfo=utc), dt.datetime(2026, 6, 1, 12, tzinfo=utc),
              dt.datetime(2026, 6, 1, 12, 0, 0, 1, tzinfo=utc), dt.datetime(2027, 1, 1, tzinfo=utc)]
    departments = ["Cardiology", None, "", "Dermatology", "Cardiology"]
    n = 60
    table = pa.table({
        "qa_id": pa.array([f"{k:04d}" for k in range(n)]),
        "department": pa.array([departments[k % 5] for k in range(n)]),
        "first_seen": pa.array([stamps[1]] * n, pa.timestamp("us", tz="UTC")),
        "changed_at": pa.array([stamps[(k * 7) % 5] for k in range(n)],
                               pa.timestamp("us", tz="UTC")),
    })
    path = tmp_path / "qa.parquet"
    pq.write_table(table, path)
    before = {f"{k:04d}" for k in range(0, n, 3)} | {"9998", "9999"}
    cases = [(None, None),
             ({"history_watermark": "2026-06-01T12:00:00+00:00"}, before),
             ({"history_watermark": None, "created_at": "2026-06-01T12:00:00Z"}, before),
             ({"created_at": None}, before),
             ({"history_watermark": "2026-06-01T12:00:00"}, set())]
    for previous, ids in cases:
        ours, reference = changes_since(previous, ids, path), changes_since_by_rows(
            previous, ids, path)
        assert ours == reference
    pq.write_table(table.slice(0, 0), tmp_path / "empty.parquet")  # an export of no rows
    for previous, ids in cases:
        assert changes_since(previous, ids, tmp_path / "empty.parquet") == \
            changes_since_by_rows(previous, ids, tmp_path / "empty.parquet")
    changed = changes_since(*cases[1][:2], path)
    assert changed["changed"] and changed["added"] and changed["removed"] == ["9998", "9999"]
    assert "(none)" in changed["by_department"]
