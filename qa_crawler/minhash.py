"""The MinHash signature of a question: what the export's near-duplicate groups are made of.

A question (its subject and text, lower-cased, as word 5-shingles) gets 64 MinHash values,
exactly datasketch's ``MinHash(num_perm=64, seed=1, scheme="affine32")`` of the shingle set
(each shingle hashed by SHA-1's first 4 bytes, pre-mixed by MurmurHash3's finalizer, then the
affine permutations ``a * h + b mod 2**32``): ``tests/test_dedup.py`` holds the two equal. It is
computed here, over numpy for many questions at once, because datasketch's import (scipy, for
the LSH's parameters) costs about a second and its per-question objects about 0.25 ms.

The signature is computed when a record is stored (by the page worker, off the crawler's
loop, or by the store) and kept beside it in the crawl state, so the export reads it instead
of computing it. :data:`PARAMS` names what a signature depends on besides the words: a stored
signature of other parameters is computed again.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np

THRESHOLD = 0.8
NUM_PERM = 64
SHINGLE_WORDS = 5
SEED = 1  # datasketch's default: the permutations every signature is made with
SCHEME = "affine32"  # datasketch 2's permutation scheme (the signatures' meaning)
PARAMS = f"minhash/{SCHEME}/{NUM_PERM}/{SHINGLE_WORDS}/{SEED}"
# datasketch's MinHashLSH(threshold=0.8, num_perm=64) bands and rows (the test asks it).
BANDS, ROWS = 5, 11
TEXT_FIELDS = ("subject", "question")
NO_WORDS = b""  # the stored signature of a question without words: it joins no group
_WORD = re.compile(r"\w+")
_PERMUTATIONS: tuple[np.ndarray, np.ndarray] | None = None


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def question_text(record_json: dict) -> str:
    """What the signature is of: the record's subject and question joined by a space."""
    return " ".join(record_json.get(name) or "" for name in TEXT_FIELDS)


def _permutations() -> tuple[np.ndarray, np.ndarray]:
    """datasketch's affine32 permutations for SEED (drawn as its ``_init_permutations`` does)."""
    global _PERMUTATIONS
    if _PERMUTATIONS is None:
        gen = np.random.RandomState(SEED)
        a = gen.randint(0, 1 << 31, NUM_PERM, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
        b = gen.randint(0, 1 << 32, NUM_PERM, dtype=np.uint32)
        _PERMUTATIONS = (a, b)
    return _PERMUTATIONS


def _fmix32(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def signatures(word_lists: list[list[str]]) -> np.ndarray:
    """``(len(word_lists), NUM_PERM)`` uint32 signatures; every list must hold a word."""
    sha1 = hashlib.sha1
    digests: list[bytes] = []
    counts = np.empty(len(word_lists), dtype=np.int64)
    n = SHINGLE_WORDS
    for k, ws in enumerate(word_lists):
        if len(ws) < n:
            shingles = [" ".join(ws)]
        else:
            shingles = [" ".join(ws[i:i + n]) for i in range(len(ws) - n + 1)]
        digests.extend([sha1(s.encode()).digest()[:4] for s in shingles])
        counts[k] = len(shingles)
    if not len(counts):
        return np.empty((0, NUM_PERM), dtype=np.uint32)
    with np.errstate(over="ignore"):
        hashed = _fmix32(np.frombuffer(b"".join(digests), dtype="<u4").astype(np.uint32))
        a, b = _permutations()
        out = np.empty((len(counts), NUM_PERM), dtype=np.uint32)
        starts = np.cumsum(counts) - counts
        step = max(1, (1 << 16) // max(1, int(counts.mean())))  # ~16 MB of products at a time
        for lo in range(0, len(counts), step):
            hi = min(lo + step, len(counts))
            first, last = starts[lo], starts[hi - 1] + counts[hi - 1]
            permuted = hashed[first:last, None] * a + b  # wraps: mod 2**32
            out[lo:hi] = np.minimum.reduceat(permuted, starts[lo:hi] - first, axis=0)
    return out


def signature_of(record_json: dict) -> bytes:
    """The stored form of a record's signature: NUM_PERM little-endian uint32, or NO_WORDS."""
    ws = words(question_text(record_json))
    if not ws:
        return NO_WORDS
    return signatures([ws])[0].astype("<u4").tobytes()
