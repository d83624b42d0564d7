"""Near-duplicate questions: MinHash LSH groups, so that no question has a near-copy in another split.

Each question (its subject and text, lower-cased, as word 5-shingles) has a MinHash signature
(:mod:`qa_crawler.minhash`: datasketch's, 64 permutations), stored with its record when it was
stored and computed here only for records stored before that; datasketch's LSH banding for
Jaccard 0.8, done over one numpy array of the signatures, finds the candidate pairs, whose
estimated similarity is checked before two questions join a group (union-find). Memory: some
300 bytes a question (the signatures, the ids) and one chunk's shingles; the cache is read and
written a chunk at a time. A group's key is its smallest ``qa_id``: it changes only when the
group's membership does, so a row's split (drawn from the key) stays the same across releases
unless its group changes. (qa_id, text[, signature]) in, groups out.

Computing signatures was most of an export's time (20,000 questions: 5.5 of 13 s, profiled);
for records without a stored one a :class:`SignatureCache` keeps them between exports, so a
nightly export computes those of new and changed questions only.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from qa_crawler.minhash import (BANDS, NO_WORDS, NUM_PERM, PARAMS, ROWS, SCHEME, SEED,
                                SHINGLE_WORDS, THRESHOLD, signatures, words as _words)

CHUNK = 1000
__all__ = ["BANDS", "NUM_PERM", "PARAMS", "ROWS", "SCHEME", "SEED", "SHINGLE_WORDS",
           "THRESHOLD", "SignatureCache", "near_duplicate_groups"]


def _shingles(words: list[str]) -> set[bytes]:
    """The shingle set of a question's words (what datasketch's MinHash of it is made of)."""
    if len(words) < SHINGLE_WORDS:
        return {" ".join(words).encode()} if words else set()
    return {" ".join(words[i:i + SHINGLE_WORDS]).encode()
            for i in range(len(words) - SHINGLE_WORDS + 1)}


class SignatureCache:
    """Signatures of the questions of the last export, by their words: a SQLite file of the
    state folder. An export looks its questions up in it a chunk at a time and writes the
    signatures it used to a new file beside it, which :meth:`save` puts in its place (so the
    cache holds no more than the dataset, and neither file is ever held in memory). A file that
    cannot be read is ignored: the signatures are computed again."""

    def __init__(self, path: Path):
        self.path = path
        self._old: sqlite3.Connection | None = None
        try:
            if path.is_file():
                self._old = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
                self._old.execute("SELECT key, params, hashvalues FROM signatures LIMIT 1")
        except sqlite3.Error:
            self._close_old()
        self._tmp = path.with_name(path.name + ".tmp")
        self._new: sqlite3.Connection | None = None

    def _close_old(self) -> None:
        if self._old is not None:
            self._old.close()
        self._old = None

    def __len__(self) -> int:
        """How many signatures the file holds (for this export's settings)."""
        if self._old is None:
            return 0
        return self._old.execute("SELECT count(*) FROM signatures WHERE params = ?",
                                 (PARAMS,)).fetchone()[0]

    @staticmethod
    def key(words: list[str]) -> bytes:
        return hashlib.blake2b(" ".join(words).encode(), digest_size=16).digest()

    def lookup(self, keys: list[bytes]) -> dict[bytes, bytes]:
        """The known signatures of ``keys`` (at most a few thousand at a time)."""
        if self._old is None or not keys:
            return {}
        marks = ",".join("?" * len(keys))
        try:
            return dict(self._old.execute(
                f"SELECT key, hashvalues FROM signatures WHERE params = ? AND key IN ({marks})",
                (PARAMS, *keys)))
        except sqlite3.Error:  # damaged past its first page: compute them again
            self._close_old()
            return {}

    def put_many(self, rows: list[tuple[bytes, bytes]]) -> None:
        """Keep ``(key, signature)`` pairs this export used, for the next one."""
        if self._new is None:
            self._tmp.unlink(missing_ok=True)
            self._new = sqlite3.connect(self._tmp)
            self._new.execute("PRAGMA journal_mode = OFF")
            self._new.execute("PRAGMA synchronous = OFF")  # a cache: replaced whole, or not
            self._new.execute("CREATE TABLE signatures (key BLOB PRIMARY KEY, params TEXT, "
                              "hashvalues BLOB)")
        self._new.executemany("INSERT OR IGNORE INTO signatures VALUES (?, ?, ?)",
                              ((k, PARAMS, v) for k, v in rows))

    def save(self) -> None:
        """Replace the file with this export's signatures."""
        self._close_old()
        if self._new is None:
            self.put_many([])  # an export without questions: an empty cache
        self._new.commit()
        self._new.close()
        self._new = None
        os.replace(self._tmp, self.path)

    def close(self) -> None:
        """Let go of the files without replacing anything (an export that failed)."""
        self._close_old()
        if self._new is not None:
            self._new.close()
            self._new = None
            self._tmp.unlink(missing_ok=True)


def near_duplicate_groups(items: Iterable[tuple], threshold: float = THRESHOLD,
                          cache: SignatureCache | None = None,
                          blocks: Iterable[tuple[list[str], bytes]] = ()) -> dict[str, str]:
    """``{qa_id: group key}`` for every question that has at least one near-copy; a question
    without one is not in the result. ``items`` are ``(qa_id, text)`` or ``(qa_id, text,
    stored signature)``: a stored signature (:mod:`qa_crawler.minhash`, of these parameters) is
    used as it is, the others are computed from the text; with ``cache``, known signatures are
    reused and the cache is given this run's computed ones (the caller saves it). ``blocks``
    are more questions, given in bulk: (qa_ids, their stored signatures joined).

    The LSH is datasketch's (its bands and rows for ``threshold``, a candidate pair shares a
    band's values exactly, a pair joins when its estimated Jaccard similarity reaches
    ``threshold``) done over one array of signatures: 256 bytes a question, where
    ``MinHashLSH``'s dictionaries and objects cost some 4 KB (memory grew with the dataset)."""
    import numpy as np

    if threshold != THRESHOLD:  # other bands and rows: datasketch's choice for that threshold
        from datasketch import MinHashLSH

        lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
        bands, rows = lsh.b, lsh.r
    else:
        bands, rows = BANDS, ROWS
    ids: list[str] = []
    matrices: list[np.ndarray] = []
    chunk: list[tuple[str, list[str] | None, bytes | None]] = []
    signature_bytes = NUM_PERM * 4

    def flush() -> None:
        todo = [i for i, (_, _, stored) in enumerate(chunk) if stored is None]
        keys = {i: SignatureCache.key(chunk[i][1]) for i in todo} if cache is not None else {}
        known = cache.lookup(list(keys.values())) if cache is not None else {}
        block = np.empty((len(chunk), NUM_PERM), dtype=np.uint32)
        compute = [i for i in todo if keys.get(i) not in known]
        if compute:
            block[compute] = signatures([chunk[i][1] for i in compute])
        for i, (_, _, stored) in enumerate(chunk):
            if stored is not None:
                block[i] = np.frombuffer(stored, "<u4")
            elif i in keys and keys[i] in known:
                block[i] = np.frombuffer(known[keys[i]], "<u4")
        if cache is not None:
            cache.put_many([(key, block[i].astype("<u4").tobytes()) for i, key in keys.items()])
        ids.extend(qa_id for qa_id, _, _ in chunk)
        matrices.append(block)
        chunk.clear()

    for item in items:
        qa_id, text = item[0], item[1]
        stored = item[2] if len(item) > 2 else None
        if stored is not None and len(stored) != signature_bytes:
            if stored == NO_WORDS:
                continue
            stored = None  # not a signature of these parameters: computed again
        if stored is None:
            ws = _words(text or "")
            if not ws:
                continue
            chunk.append((qa_id, ws, None))
        else:
            chunk.append((qa_id, None, stored))
        if len(chunk) >= CHUNK:
            flush()
    if chunk:
        flush()
    for block_ids, joined in blocks:
        ids.extend(block_ids)
        matrices.append(np.frombuffer(joined, "<u4").reshape(len(block_ids), NUM_PERM))
    if len(ids) < 2:
        return {}
    # Questions whose signatures are equal are one node of the graph: they are each other's
    # candidates in every band, at similarity 1, so the groups are the same, and a site where
    # questions are posted again and again costs what its distinct questions cost.
    matrix, copies = _distinct_rows(np.concatenate(matrices))
    del matrices
    edges: list[tuple[np.ndarray, np.ndarray]] = []
    for band in range(bands):
        band_of = (band * rows, (band + 1) * rows)
        # A bucket per hash of the band's values (one sort of integers); a pair is a candidate
        # only if its band's values are equal, checked with its similarity (_accepted), so a
        # collision of the hash adds no pair.
        bucket = _band_keys(matrix[:, band_of[0]:band_of[1]])
        order = np.argsort(bucket, kind="stable")
        ranked = bucket[order]
        starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
        sizes = np.diff(np.r_[starts, len(order)])
        # Every pair of a bucket (a bucket of one holds none), checked in bulk for buckets of
        # the same size; a large bucket member by member (its pairs would not fit at once).
        for size in np.unique(sizes[sizes > 1]):
            first = starts[sizes == size]
            if size <= LARGE_BUCKET:
                left, right = np.triu_indices(size, k=1)
                members = order[first[:, None] + np.arange(size)]
                for lo in range(0, len(members), max(1, PAIRS_AT_ONCE // len(left))):
                    part = members[lo:lo + max(1, PAIRS_AT_ONCE // len(left))]
                    i, j = part[:, left].ravel(), part[:, right].ravel()
                    edges.append(_accepted(matrix, i, j, threshold, band_of))
                continue
            for start in first:
                members = order[start:start + size]
                for n in range(size - 1):
                    j = members[n + 1:]
                    edges.append(_accepted(matrix, np.full(len(j), members[n]), j, threshold,
                                           band_of))
    labels = _components(len(matrix), edges)[copies]  # each question's, through its node
    grouped = np.flatnonzero(np.bincount(labels, minlength=len(ids))[labels] > 1)
    result: dict[str, str] = {}
    by_label: dict[int, list[str]] = {}
    for i in grouped[np.argsort(labels[grouped], kind="stable")]:
        by_label.setdefault(int(labels[i]), []).append(ids[i])
    for names in by_label.values():
        key = min(names)  # the smallest id leads: a group's key stays as long as its members
        result.update(dict.fromkeys(names, key))
    return result


LARGE_BUCKET = 64  # a bucket larger than this is checked member by member
PAIRS_AT_ONCE = 1 << 16  # pairs compared at once (64 values each)


def _accepted(matrix, i, j, threshold: float, band_of: tuple[int, int]):
    """The pairs (i, j) whose values of the band ``band_of`` are equal and whose estimated
    Jaccard similarity reaches ``threshold``."""
    import numpy as np

    equal = matrix[i] == matrix[j]
    keep = equal[:, band_of[0]:band_of[1]].all(axis=1)
    keep &= np.count_nonzero(equal, axis=1) / np.float64(NUM_PERM) >= threshold
    return i[keep], j[keep]


def _distinct_rows(full):
    """(the distinct rows of ``full``, each row's index among them). Rows are told apart by a
    64-bit hash and then compared whole, so a collision of the hash merges nothing (numpy's
    unique over rows sorts them as bytes: ten times slower)."""
    import numpy as np

    _, first, inverse = np.unique(_band_keys(full), return_index=True, return_inverse=True)
    representative = first[inverse.reshape(-1)]
    unlike = np.flatnonzero((full[representative] != full).any(axis=1))
    representative[unlike] = unlike  # a collision: the row is a node of its own
    nodes, copies = np.unique(representative, return_inverse=True)
    return full[nodes], copies.reshape(-1)


def _band_keys(values):
    """One 64-bit hash of each row of a band's values (FNV-1a over the 32-bit values)."""
    import numpy as np

    keys = np.full(len(values), 0xCBF29CE484222325, dtype=np.uint64)
    prime = np.uint64(0x100000001B3)
    with np.errstate(over="ignore"):
        for column in range(values.shape[1]):
            keys ^= values[:, column].astype(np.uint64)
            keys *= prime
    return keys


def _components(n: int, edges):
    """Each node's connected component, as its smallest member's index (label propagation
    with pointer jumping, in numpy: union-find's result without a Python loop per pair)."""
    import numpy as np

    labels = np.arange(n)
    if not edges:
        return labels
    i = np.concatenate([e[0] for e in edges]).astype(np.int64)
    j = np.concatenate([e[1] for e in edges]).astype(np.int64)
    while True:
        low = np.minimum(labels[i], labels[j])
        new = labels.copy()
        np.minimum.at(new, i, low)
        np.minimum.at(new, j, low)
        while True:  # every label to its label's label, until they settle
            jumped = new[new]
            if np.array_equal(jumped, new):
                break
            new = jumped
        if np.array_equal(new, labels):
            return labels
        labels = new
