"""Near-duplicate questions: MinHash LSH groups, so that no question has a near-copy in another split.

Each question (its subject and text, lower-cased, as word 5-shingles) gets a MinHash signature
(datasketch, 64 permutations, computed in bulk); datasketch's LSH banding for Jaccard 0.8,
done over one numpy array of the signatures, finds the candidate pairs, whose estimated
similarity is checked before two questions join a group (union-find). Memory: some 300 bytes a
question (the signatures, the ids) and one chunk's shingles; the cache is read and written a
chunk at a time. A group's key is its smallest ``qa_id``: it changes only when the group's
membership does, so a row's split (drawn from the key) stays the same across releases unless
its group changes. (qa_id, text) pairs in, groups out.

Signatures are most of an export's time (20,000 questions: 5.5 of 13 s, profiled), and a
question's signature depends only on its words: a :class:`SignatureCache` keeps them between
exports, so a nightly export computes those of new and changed questions only.
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
from collections.abc import Iterable
from pathlib import Path

THRESHOLD = 0.8
NUM_PERM = 64
SHINGLE_WORDS = 5
CHUNK = 1000
SEED = 1  # datasketch's default: the permutations every signature is made with
# What a cached signature depends on besides the words: another setting, another signature.
SCHEME = "affine32"  # datasketch 2's permutation scheme (the signatures' meaning)
PARAMS = f"minhash/{SCHEME}/{NUM_PERM}/{SHINGLE_WORDS}/{SEED}"
_WORD = re.compile(r"\w+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _shingles(words: list[str]) -> set[bytes]:
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


def near_duplicate_groups(items: Iterable[tuple[str, str | None]],
                          threshold: float = THRESHOLD,
                          cache: SignatureCache | None = None) -> dict[str, str]:
    """``{qa_id: group key}`` for every question that has at least one near-copy; a question
    without one is not in the result. With ``cache``, known signatures are reused and the
    cache is given this run's (the caller saves it).

    The LSH is datasketch's (its bands and rows for ``threshold``, a candidate pair shares a
    band's values exactly, a pair joins when its estimated Jaccard similarity reaches
    ``threshold``) done over one array of signatures: 256 bytes a question, where
    ``MinHashLSH``'s dictionaries and objects cost some 4 KB (memory grew with the dataset)."""
    import numpy as np
    from datasketch import MinHash, MinHashLSH

    ids: list[str] = []
    blocks: list[np.ndarray] = []
    chunk: list[tuple[str, list[str]]] = []

    def flush() -> None:
        keys = [SignatureCache.key(words) for _, words in chunk] if cache is not None else []
        known = cache.lookup(keys) if cache is not None else {}
        todo = [i for i in range(len(chunk)) if not keys or keys[i] not in known]
        block = np.empty((len(chunk), NUM_PERM), dtype=np.uint32)
        if todo:
            computed = MinHash.bulk([_shingles(chunk[i][1]) for i in todo], num_perm=NUM_PERM,
                                    scheme=SCHEME)
            for i, m in zip(todo, computed):
                block[i] = m.hashvalues
        for i, key in enumerate(keys):
            if key in known:
                block[i] = np.frombuffer(known[key], np.uint32)
        if cache is not None:
            cache.put_many([(key, block[i].tobytes()) for i, key in enumerate(keys)])
        ids.extend(qa_id for qa_id, _ in chunk)
        blocks.append(block)
        chunk.clear()

    for qa_id, text in items:
        words = _words(text or "")
        if words:
            chunk.append((qa_id, words))
            if len(chunk) >= CHUNK:
                flush()
    if chunk:
        flush()
    if len(ids) < 2:
        return {}
    signatures = np.concatenate(blocks)
    del blocks
    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)  # only for its bands and rows
    parent = np.arange(len(ids))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for band in range(lsh.b):
        values = np.ascontiguousarray(signatures[:, band * lsh.r:(band + 1) * lsh.r])
        _, bucket = np.unique(values, axis=0, return_inverse=True)
        bucket = bucket.ravel()
        order = np.argsort(bucket, kind="stable")
        ranked = bucket[order]
        starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
        sizes = np.diff(np.r_[starts, len(order)])
        shared = sizes > 1  # buckets of one question hold no pair
        for start, size in zip(starts[shared], sizes[shared]):
            members = order[start:start + size]
            for n, i in enumerate(members[:-1]):
                others = members[n + 1:]
                agree = np.count_nonzero(signatures[others] == signatures[i], axis=1)
                for j in others[agree / np.float64(NUM_PERM) >= threshold]:
                    a, b = root(i), root(j)
                    if a != b:
                        parent[max(a, b)] = min(a, b)
    groups: dict[int, list[int]] = {}
    for i in np.flatnonzero(parent != np.arange(len(ids))):
        groups.setdefault(root(i), [root(i)]).append(i)
    result = {}
    for members in groups.values():
        names = [ids[i] for i in members]
        key = min(names)  # the smallest id leads: a group's key stays as long as its members
        result.update(dict.fromkeys(names, key))
    return result
