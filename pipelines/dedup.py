"""Near-duplicate questions: MinHash LSH groups, so that no question has a near-copy in another split.

Each question (its subject and text, lower-cased, as word 5-shingles) gets a MinHash signature
(datasketch, 64 permutations, computed in bulk); an LSH index at Jaccard 0.8 finds the
candidate pairs, whose estimated similarity is checked before two questions join a group
(union-find). A group's key is its smallest ``qa_id``: it changes only when the group's
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
    state folder, read at the start of an export and replaced, with the signatures this export
    used, at its end (so it holds no more than the dataset). A file that cannot be read is
    ignored: the signatures are computed again."""

    def __init__(self, path: Path):
        self.path = path
        self.known: dict[bytes, bytes] = {}
        self.used: dict[bytes, bytes] = {}
        try:
            if path.is_file():
                with sqlite3.connect(path) as db:
                    self.known = dict(db.execute(
                        "SELECT key, hashvalues FROM signatures WHERE params = ?", (PARAMS,)))
                db.close()
        except sqlite3.Error:
            self.known = {}

    @staticmethod
    def key(words: list[str]) -> bytes:
        return hashlib.blake2b(" ".join(words).encode(), digest_size=16).digest()

    def get(self, key: bytes) -> bytes | None:
        value = self.known.get(key)
        if value is not None:
            self.used[key] = value
        return value

    def put(self, key: bytes, hashvalues: bytes) -> None:
        self.used[key] = hashvalues

    def save(self) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.unlink(missing_ok=True)
        with sqlite3.connect(tmp) as db:
            db.execute("CREATE TABLE signatures (key BLOB PRIMARY KEY, params TEXT, "
                       "hashvalues BLOB)")
            db.executemany("INSERT INTO signatures VALUES (?, ?, ?)",
                           ((k, PARAMS, v) for k, v in self.used.items()))
        db.close()
        os.replace(tmp, self.path)


def near_duplicate_groups(items: Iterable[tuple[str, str | None]],
                          threshold: float = THRESHOLD,
                          cache: SignatureCache | None = None) -> dict[str, str]:
    """``{qa_id: group key}`` for every question that has at least one near-copy; a question
    without one is not in the result. With ``cache``, known signatures are reused and the
    cache is given this run's (the caller saves it)."""
    import numpy as np
    from datasketch import LeanMinHash, MinHash, MinHashLSH

    # Signatures in chunks, the shingles of one chunk at a time: a question's shingle set is
    # some 10 KB, its lean signature half a KB (memory stays flat with the number of pages).
    ids, signatures, chunk_ids, chunk, chunk_keys = [], [], [], [], []

    def flush() -> None:
        for m, key in zip(MinHash.bulk(chunk, num_perm=NUM_PERM, scheme=SCHEME), chunk_keys):
            lean = LeanMinHash(m)
            signatures.append(lean)
            if cache is not None:
                cache.put(key, lean.hashvalues.astype(np.uint32).tobytes())
        ids.extend(chunk_ids)
        chunk.clear()
        chunk_ids.clear()
        chunk_keys.clear()

    for qa_id, text in items:
        words = _words(text or "")
        if not words:
            continue
        key = SignatureCache.key(words) if cache is not None else None
        known = cache.get(key) if cache is not None else None
        if known is not None:
            ids.append(qa_id)
            signatures.append(LeanMinHash(seed=SEED, hashvalues=np.frombuffer(known, np.uint32),
                                          scheme=SCHEME))
            continue
        chunk_ids.append(qa_id)
        chunk.append(_shingles(words))
        chunk_keys.append(key)
        if len(chunk) >= CHUNK:
            flush()
    if chunk:
        flush()
    if len(ids) < 2:
        return {}
    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
    for qa_id, sig in zip(ids, signatures):
        lsh.insert(qa_id, sig)
    parent = {qa_id: qa_id for qa_id in ids}

    def root(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    by_id = dict(zip(ids, signatures))
    for qa_id, sig in zip(ids, signatures):
        for other in lsh.query(sig):
            if other != qa_id and sig.jaccard(by_id[other]) >= threshold:
                a, b = root(qa_id), root(other)
                if a != b:
                    parent[max(a, b)] = min(a, b)  # the smaller id leads: keys stay stable
    groups: dict[str, list[str]] = {}
    for qa_id in ids:
        groups.setdefault(root(qa_id), []).append(qa_id)
    return {qa_id: min(members) for members in groups.values() if len(members) > 1
            for qa_id in members}
