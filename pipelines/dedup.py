"""Near-duplicate questions: MinHash LSH groups, so that no question has a near-copy in another split.

Each question (its subject and text, lower-cased, as word 5-shingles) gets a MinHash signature
(datasketch, 64 permutations, computed in bulk); an LSH index at Jaccard 0.8 finds the
candidate pairs, whose estimated similarity is checked before two questions join a group
(union-find). A group's key is its smallest ``qa_id``: it changes only when the group's
membership does, so a row's split (drawn from the key) stays the same across releases unless
its group changes. Pure: (qa_id, text) pairs in, groups out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

THRESHOLD = 0.8
NUM_PERM = 64
SHINGLE_WORDS = 5
CHUNK = 1000
_WORD = re.compile(r"\w+")


def _shingles(text: str) -> set[bytes]:
    words = _WORD.findall(text.lower())
    if len(words) < SHINGLE_WORDS:
        return {" ".join(words).encode()} if words else set()
    return {" ".join(words[i:i + SHINGLE_WORDS]).encode()
            for i in range(len(words) - SHINGLE_WORDS + 1)}


def near_duplicate_groups(items: Iterable[tuple[str, str | None]],
                          threshold: float = THRESHOLD) -> dict[str, str]:
    """``{qa_id: group key}`` for every question that has at least one near-copy; a question
    without one is not in the result."""
    from datasketch import LeanMinHash, MinHash, MinHashLSH

    # Signatures in chunks, the shingles of one chunk at a time: a question's shingle set is
    # some 10 KB, its lean signature half a KB (memory stays flat with the number of pages).
    ids, signatures, chunk_ids, chunk = [], [], [], []

    def flush() -> None:
        signatures.extend(LeanMinHash(m) for m in MinHash.bulk(chunk, num_perm=NUM_PERM))
        ids.extend(chunk_ids)
        chunk.clear()
        chunk_ids.clear()

    for qa_id, text in items:
        shingles = _shingles(text or "")
        if shingles:
            chunk_ids.append(qa_id)
            chunk.append(shingles)
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
