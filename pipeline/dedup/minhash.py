"""Near-duplicates with MinHash + LSH, vectorized with numpy over whole batches of documents.

Shingles (word or character n-grams of the folded text) are hashed to 64 bits (the rolling
hash of ``pipeline.dedup.rolling`` over per-word or per-byte values); permutation
``p`` of a shingle hash ``x`` is ``((a_p * x + b_p) mod 2**64) >> 32`` (multiply-add-shift, a
universal family) and a document's signature is the per-permutation minimum, computed for a
whole batch as one ``(shingles x num_perm)`` array and ``np.minimum.reduceat`` per document.
LSH: ``bands`` x ``rows`` slices of the signature; two documents sharing any band are
candidates (probability ``1 - (1 - s**rows)**bands`` at Jaccard ``s``); candidates are joined
into clusters (union-find) and each cluster keeps its best member by a caller-given sort key.
Everything is seeded: the same input gives the same clusters on every machine.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import xxhash

from pipeline.dedup.config import MinHashConfig
from pipeline.dedup.exact import SortKey, duplicate_of_groups, keep_first
from pipeline.dedup.normalize import fold, words_folded
from pipeline.dedup.rolling import RollingHash

_BYTE_VALUES = np.random.default_rng(7).integers(0, 2**63, size=256, dtype=np.uint64) * np.uint64(2) + np.uint64(1)


def band_rows(config: MinHashConfig) -> tuple[int, int]:
    """(bands, rows): as given, else those minimising FP + FN area around ``threshold``."""
    if config.bands is not None and config.rows is not None:
        return config.bands, config.rows
    return optimal_band_rows(config.threshold, config.num_perm)


def optimal_band_rows(threshold: float, num_perm: int) -> tuple[int, int]:
    """The (bands, rows) with the least false-positive + false-negative probability mass
    (the rule datasketch's ``MinHashLSH`` uses, equal weights)."""
    s = np.linspace(0.0, 1.0, 2001)
    best, best_err = (1, 1), float("inf")
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            p = 1 - (1 - s**r) ** b
            err = np.trapezoid(np.where(s < threshold, p, 1 - p), s)
            if err < best_err:
                best, best_err = (b, r), err
    return best


def shingle_hashes(texts: Sequence[str | None], config: MinHashConfig) -> tuple[np.ndarray, np.ndarray]:
    """(shingle hashes, per-document offsets into them); a document shorter than a shingle is one."""
    folded = [fold(t) if t else "" for t in texts]
    if config.shingle == "word":
        docs = [words_folded(f) for f in folded]
        flat = [w for ws in docs for w in ws]
        # Hash each distinct word once (a corpus repeats its vocabulary many times over).
        table = {w: xxhash.xxh3_64_intdigest(w.encode()) for w in dict.fromkeys(flat)}
        values = np.fromiter(map(table.__getitem__, flat), dtype=np.uint64, count=len(flat))
        lengths = [len(ws) for ws in docs]
    else:
        encoded = [" ".join(f.split()).encode() for f in folded]
        values = _BYTE_VALUES[np.frombuffer(b"".join(encoded), dtype=np.uint8)]
        lengths = [len(e) for e in encoded]
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    starts, hashes = RollingHash(values, offsets).windows(config.shingle_size, whole_short=True)
    return hashes, np.searchsorted(starts, offsets)


def signatures(
    texts: Sequence[str | None],
    config: MinHashConfig = MinHashConfig(),
    batch_shingles: int = 1 << 15,
    batch_docs: int = 4096,
) -> np.ndarray:
    """``(len(texts), num_perm)`` uint32 MinHash signatures; an empty text gets all ``2**32-1``.

    Documents are shingled ``batch_docs`` at a time: the shingles of a whole corpus (a Python
    string per word) would take many times the memory of its signatures."""
    rng = np.random.default_rng(config.seed)
    a = rng.integers(0, 2**63, size=config.num_perm, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    b = rng.integers(0, 2**63, size=config.num_perm, dtype=np.uint64)
    sig = np.full((len(texts), config.num_perm), np.iinfo(np.uint32).max, dtype=np.uint32)
    for first in range(0, len(texts), batch_docs):
        _fill_signatures(
            sig[first : first + batch_docs], texts[first : first + batch_docs], config, a, b, batch_shingles
        )
    return sig


def _fill_signatures(
    sig: np.ndarray,
    texts: Sequence[str | None],
    config: MinHashConfig,
    a: np.ndarray,
    b: np.ndarray,
    batch_shingles: int,
) -> None:
    hashes, offsets = shingle_hashes(texts, config)
    nonempty = np.flatnonzero(np.diff(offsets) > 0)
    start = 0
    while start < len(nonempty):  # batches of whole documents, about batch_shingles each
        lo = offsets[nonempty[start]]
        stop = int(np.searchsorted(offsets[nonempty + 1], lo + batch_shingles, side="right"))
        stop = max(stop, start + 1)
        docs = nonempty[start:stop]
        block = hashes[lo : offsets[docs[-1] + 1], None] * a + b  # wraps mod 2**64 by design
        sig[docs] = np.minimum.reduceat((block >> np.uint64(32)).astype(np.uint32), offsets[docs] - lo, axis=0)
        start = stop


def lsh_clusters(sig: np.ndarray, config: MinHashConfig = MinHashConfig()) -> np.ndarray:
    """Cluster label per document (the smallest index in its cluster); empty texts stay alone."""
    bands, rows = band_rows(config)
    n = len(sig)
    parent = np.arange(n)
    empty = (sig == np.iinfo(np.uint32).max).all(axis=1)
    rng = np.random.default_rng(config.seed + 1)
    mult = rng.integers(0, 2**63, size=rows, dtype=np.uint64) * np.uint64(2) + np.uint64(1)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for band in range(bands):
        keys = (sig[:, band * rows : (band + 1) * rows].astype(np.uint64) * mult).sum(axis=1)
        order = np.argsort(keys, kind="stable")
        same = np.flatnonzero(keys[order][1:] == keys[order][:-1])  # order[k+1] joins order[k]
        for k in same:
            i, j = int(order[k]), int(order[k + 1])
            if empty[i] or empty[j]:
                continue
            if config.verify and np.mean(sig[i] == sig[j]) < config.threshold:
                continue
            ri, rj = find(i), find(j)
            if ri != rj:
                parent[max(ri, rj)] = min(ri, rj)
    return np.array([find(i) for i in range(n)])


def near_duplicates(
    texts: Sequence[str | None], config: MinHashConfig = MinHashConfig(), key: SortKey = keep_first
) -> list[int | None]:
    """Per row, the index of the kept member of its near-duplicate cluster (``None``: kept).

    The kept member is the one with the lowest ``(key(i), i)``, e.g. ``best_trace_key(rows)``.
    """
    return duplicate_of_groups(lsh_clusters(signatures(texts, config), config).tolist(), key)
