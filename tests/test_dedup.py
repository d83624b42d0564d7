"""The near-duplicate groups: the array LSH finds exactly what datasketch's MinHashLSH finds."""

from __future__ import annotations

import random

from pipelines.dedup import (NUM_PERM, SCHEME, SignatureCache, _shingles, _words,
                             near_duplicate_groups)


def _reference_groups(items, threshold=0.8):
    """datasketch's own index (MinHashLSH) over the same signatures, union-find by smallest id."""
    from datasketch import MinHash, MinHashLSH

    kept = [(qa_id, _words(text)) for qa_id, text in items if _words(text)]
    signatures = MinHash.bulk([_shingles(w) for _, w in kept], num_perm=NUM_PERM, scheme=SCHEME)
    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
    for (qa_id, _), m in zip(kept, signatures):
        lsh.insert(qa_id, m)
    by_id = {qa_id: m for (qa_id, _), m in zip(kept, signatures)}
    parent = {qa_id: qa_id for qa_id in by_id}

    def root(x):
        while parent[x] != x:
            x = parent[x]
        return x

    for qa_id, m in by_id.items():
        for other in lsh.query(m):
            if other != qa_id and m.jaccard(by_id[other]) >= threshold:
                a, b = root(qa_id), root(other)
                parent[max(a, b)] = min(a, b)
    groups = {}
    for qa_id in by_id:
        groups.setdefault(root(qa_id), []).append(qa_id)
    return {q: min(g) for g in groups.values() if len(g) > 1 for q in g}


def _questions(n, seed):
    """Questions with near-copies edited more and more (some sit right at the threshold),
    verbatim copies, short questions, chains (a~b~c where a and c are further apart)."""
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(400)]
    items = []
    for k in range(n):
        words = [rng.choice(vocab) for _ in range(rng.randint(3, 60))]
        items.append((f"q{k:05d}", " ".join(words)))
        for c in range(rng.choice([0, 0, 1, 2, 4])):
            edited = list(words)
            for _ in range(rng.randint(0, 1 + c * 2)):
                edited[rng.randrange(len(edited))] = rng.choice(vocab)
            items.append((f"q{k:05d}-{c}", " ".join(edited)))
            words = edited  # the next copy edits this one: chains
    items.append(("empty", ""))
    items.append(("none", None))
    rng.shuffle(items)
    return items


def test_the_array_lsh_finds_the_groups_datasketchs_index_finds():
    for seed in (1, 2, 3):
        items = _questions(300, seed)
        expected = _reference_groups([(q, t or "") for q, t in items])
        assert len(set(expected.values())) > 20  # the case holds many groups
        assert near_duplicate_groups(items) == expected


def test_a_large_bucket_of_verbatim_copies_is_one_group_keyed_by_its_smallest_id():
    text = "the same question asked again and again by many people on the site"
    items = [(f"id{k:04d}", text) for k in range(1500, 0, -1)] + [("other", "a b c d e f g")]
    groups = near_duplicate_groups(items)
    assert len(groups) == 1500 and set(groups.values()) == {"id0001"}


def test_the_cache_gives_the_same_groups_and_holds_only_the_last_exports_questions(tmp_path):
    items = _questions(200, 7)
    expected = near_duplicate_groups(items)
    path = tmp_path / "near-duplicates.sqlite"
    cache = SignatureCache(path)
    assert near_duplicate_groups(items, cache=cache) == expected
    cache.save()
    again = SignatureCache(path)
    assert near_duplicate_groups(items[:50], cache=again) == near_duplicate_groups(items[:50])
    again.save()
    distinct = {SignatureCache.key(_words(t)) for _, t in items[:50] if t and _words(t)}
    assert len(SignatureCache(path)) == len(distinct)


def test_an_export_that_fails_leaves_the_cache_as_it_was(tmp_path):
    path = tmp_path / "near-duplicates.sqlite"
    cache = SignatureCache(path)
    near_duplicate_groups([("a", "one two three four five six")], cache=cache)
    cache.save()
    failing = SignatureCache(path)
    near_duplicate_groups([("b", "seven eight nine ten eleven twelve")], cache=failing)
    failing.close()
    assert len(SignatureCache(path)) == 1
    assert not (tmp_path / "near-duplicates.sqlite.tmp").exists()


def test_the_signatures_are_datasketchs_minhash_of_the_shingle_set():
    from datasketch import MinHash, MinHashLSH

    from qa_crawler.minhash import BANDS, ROWS, THRESHOLD, signature_of, signatures

    texts = [t for _, t in _questions(120, 5) if t and _words(t)] + [
        "one", "two words", "four words in all", "exactly five words right here",
        "Ünïcödé Wörds — 中文 字 déjà vu, naïve café façade; ÆØÅ æøå",
        " ".join(["again"] * 40),  # the same shingle over and over: a set of one
        "\n".join(f"line {k} of a long question" for k in range(400)),
    ]
    word_lists = [_words(t) for t in texts]
    ours = signatures(word_lists)
    theirs = MinHash.bulk([_shingles(w) for w in word_lists], num_perm=NUM_PERM, scheme=SCHEME)
    assert ours.shape == (len(texts), NUM_PERM)
    assert all((ours[i] == m.hashvalues).all() for i, m in enumerate(theirs))
    assert signature_of({"subject": texts[0], "question": None}) == ours[0].tobytes()
    assert signature_of({"subject": "", "question": "  ?! "}) == b""  # no words: no signature
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
    assert (BANDS, ROWS) == (lsh.b, lsh.r)


def _state_of(out, items, stored=True):
    from qa_crawler.state import CrawlState

    state = CrawlState(out)
    for qa_id, text in items:
        record = {"qa_id": qa_id, "url": f"https://doctorqna.com/en/article/{qa_id}",
                  "subject": None, "question": text}
        state.upsert(record, record["url"])
    if not stored:  # a folder whose records were stored before signatures were
        state.db.execute("UPDATE pages SET minhash = NULL, minhash_params = NULL")
    state.close()


def test_an_export_reads_the_signatures_stored_with_the_records_and_computes_none(
        tmp_path, monkeypatch):
    from pipelines import dedup
    from qa_crawler.folder import iter_merged_signatures

    items = _questions(150, 9)
    expected = near_duplicate_groups(items)
    _state_of(tmp_path / "stored", items)
    _state_of(tmp_path / "older", items, stored=False)
    older = list(iter_merged_signatures(tmp_path / "older"))
    assert all(sig is None and text is not None for _, text, sig in older)
    assert near_duplicate_groups(older) == expected  # computed from the texts

    def refuse(lists):
        raise AssertionError(f"computed {len(lists)} signatures that were stored")

    monkeypatch.setattr(dedup, "signatures", refuse)
    stored = list(iter_merged_signatures(tmp_path / "stored"))
    assert all(text is None and sig is not None for _, text, sig in stored)
    assert near_duplicate_groups(stored) == expected


def test_a_record_whose_question_changed_gets_a_new_signature_and_other_parameters_none(
        tmp_path):
    import sqlite3

    from qa_crawler.folder import iter_merged_signatures
    from qa_crawler.minhash import signature_of
    from qa_crawler.state import CrawlState

    state = CrawlState(tmp_path)
    record = {"qa_id": "1", "url": "https://doctorqna.com/en/article/1", "subject": "Knee",
              "question": "my knee hurts when I climb the stairs"}
    state.upsert(record, record["url"])
    first = state.db.execute("SELECT minhash FROM pages").fetchone()[0]
    assert first == signature_of(record)
    assert state.upsert(dict(record, question="now my hip hurts too"), record["url"]) == "changed"
    second = state.db.execute("SELECT minhash FROM pages").fetchone()[0]
    assert second != first and second == signature_of(dict(record, question="now my hip hurts too"))
    state.close()
    db = sqlite3.connect(tmp_path / ".qa-crawler" / "state-main.sqlite")
    db.execute("UPDATE pages SET minhash_params = 'minhash/affine32/128/5/1'")
    db.commit()
    db.close()
    [(qa_id, text, sig)] = iter_merged_signatures(tmp_path)
    assert (qa_id, text, sig) == ("1", "Knee now my hip hurts too", None)  # computed again


def test_buckets_of_every_size_give_the_groups_datasketchs_index_finds():
    # Buckets from 2 to past LARGE_BUCKET members, copies edited so that some pairs of a
    # bucket pass the threshold and some do not: bulk and member-by-member checks agree.
    from pipelines.dedup import LARGE_BUCKET

    rng = random.Random(4)
    vocab = [f"v{i}" for i in range(300)]
    items = []
    for k, copies in enumerate([2, 3, 9, 40, LARGE_BUCKET, LARGE_BUCKET + 30]):
        base = [rng.choice(vocab) for _ in range(50)]
        for c in range(copies):
            edited = list(base)
            for _ in range(rng.choice([0, 0, 1, 3, 8])):
                edited[rng.randrange(30, 50)] = rng.choice(vocab)  # the first bands stay shared
            items.append((f"b{k}-{c:03d}", " ".join(edited)))
    rng.shuffle(items)
    expected = _reference_groups(items)
    assert near_duplicate_groups(items) == expected
    assert len(set(expected.values())) >= 4 and len(expected) < len(items)  # some pairs fail


def test_questions_whose_band_hashes_collide_are_no_candidates_unless_the_band_is_equal(
        monkeypatch):
    # Every band of every question in one bucket: only pairs sharing a band's values exactly
    # (datasketch's candidates) may join, whatever their similarity.
    import numpy as np

    from pipelines import dedup

    items = _questions(120, 8)
    expected = _reference_groups([(q, t or "") for q, t in items])
    monkeypatch.setattr(dedup, "_band_keys", lambda values: np.zeros(len(values), np.uint64))
    assert near_duplicate_groups(items) == expected


def test_equal_signatures_are_one_node_and_a_hash_collision_merges_no_rows(monkeypatch):
    import numpy as np

    from pipelines import dedup

    rows = np.array([[1, 2], [3, 4], [1, 2], [5, 6], [3, 4], [1, 2]], dtype=np.uint32)
    distinct, copies = dedup._distinct_rows(rows)
    assert len(distinct) == 3 and (distinct[copies] == rows).all()
    monkeypatch.setattr(dedup, "_band_keys", lambda values: np.zeros(len(values), np.uint64))
    distinct, copies = dedup._distinct_rows(rows)  # every row hashed alike
    assert (distinct[copies] == rows).all()
    assert copies[0] == copies[2] == copies[5] and len({copies[0], copies[1], copies[3]}) == 3
    # ... and the groups stay datasketch's with every band's hash colliding too
    items = _questions(120, 4)
    assert near_duplicate_groups(items) == _reference_groups([(q, t or "") for q, t in items])


def test_signatures_read_in_bulk_give_the_groups_read_one_by_one(tmp_path):
    """The export reads one worker's stored signatures in bulk (joined by chunks), and the
    others (a question without words, none stored, other parameters) as iter_merged_signatures
    gives them: the same items, the same groups."""
    import sqlite3

    from qa_crawler.folder import iter_merged_signatures, merged_signature_blocks

    items = _questions(150, 4)
    expected = near_duplicate_groups(items)
    _state_of(tmp_path, items)
    db = sqlite3.connect(tmp_path / ".qa-crawler" / "state-main.sqlite")
    db.execute("UPDATE pages SET minhash = NULL WHERE rowid % 7 = 0")
    db.execute("UPDATE pages SET minhash_params = 'minhash/other' WHERE rowid % 11 = 0")
    db.commit()
    db.close()
    one_by_one = list(iter_merged_signatures(tmp_path))
    blocks, rest = merged_signature_blocks(tmp_path, chunk_rows=16)
    assert len(blocks) > 5 and any(text for _, text, _ in rest)
    assert any(stored == b"" for _, _, stored in rest)  # the questions without words
    bulk = [(qa_id, None, joined[k * NUM_PERM * 4:(k + 1) * NUM_PERM * 4])
            for ids, joined in blocks for k, qa_id in enumerate(ids)]
    assert sorted(bulk + rest) == sorted(one_by_one)
    assert near_duplicate_groups(rest, blocks=blocks) == expected
    assert near_duplicate_groups(one_by_one) == expected
