"""The ``ngram`` decontamination method: how much of a benchmark item a training row holds.

A row is flagged for an item when the word n-grams it shares with the item *cover* at least
``min_coverage`` of the item, every word of the item weighing by how rare its n-grams are:

* **n-grams.** An item of ``L`` words is cut into n-grams of 4 words, or 8, 13, 32 (at most
  ``ngram`` and ``L / 8``) for long items: one changed word then leaves most of the item inside
  intact n-grams. They are compared by *shape*, every digit run replaced by ``0``, so a copy
  with changed numbers still matches.
* **Weights (inverse document frequency).** An n-gram held by ``b`` benchmark items and by
  ``c`` other rows of the corpus being checked weighs ``1 / (b + c)`` (the row being scored
  does not count against itself): boilerplate ("where m and n are relatively prime positive
  integers"), Asymptote labels and number templates count for little. n-grams of more than
  ``_MAX_ITEM_DF`` items weigh nothing and are not looked up. A word weighs as much as the
  heaviest n-gram of the item that holds it.
* **Coverage.** The weight of the item's words inside some n-gram the row shares, over the
  weight of all of them. A word with digits that only the shape matched (a changed number)
  counts half (``_CHANGED_NUMBER_CREDIT``): templates differ mostly in their numbers.
* Items worth less than ``_MIN_ITEM_WEIGHT`` words (all boilerplate) are matched only when a
  row holds all of their words, in order (found from each item's rarest n-gram of words), and
  by the ``exact`` method.

Corpus frequencies count every row given to ``best`` at once (``lookups`` of all batches), so
verdicts depend neither on ``batch_size`` nor on the order of rows; a 64-row part gets less help
from them than a whole file. Kept per row between the two passes: its hits (about 150 bytes).

Speed: the index is built once. Per batch, one ``RollingHash`` of the words and one of their
shapes give every window's hash, a bitmap and one ``searchsorted`` per n-gram size find the
indexed n-grams, and one sort and a few reductions turn the hits into a coverage per
(row, item) pair: no Python loop over rows or hits.
"""

from __future__ import annotations

import itertools
import re
from itertools import chain, repeat
from typing import NamedTuple, Sequence

import numpy as np

from pipeline.dedup.rolling import RollingHash

_NUMBER = re.compile(r"\d+")
# n-gram sizes: 3-grams ("the area of") are shared by unrelated problems; the rest are NgramSize.
_SHINGLE_SIZES = (4, 8, 13, 32)
_MAX_ITEM_DF = 50  # an n-gram in more items than this is boilerplate (weight < 0.02 anyway)
_CHANGED_NUMBER_CREDIT = 0.5
_MIN_ITEM_WEIGHT = 3.0
_BITMAP_BITS = 24
_MAX_CACHED_WORDS = 1 << 20


def shingle_size(n_words: int, ngram: int) -> int:
    """Words per n-gram of an item of ``n_words`` words: the largest of 4, 8, 13, 32 that is at
    most ``ngram`` and at most an eighth of the item (4 for items under 64 words).

    With n-grams of at most an eighth of the item, one changed word anywhere leaves at least
    7/8 of the item's words inside an intact n-gram; few sizes keep the lookups few.
    """
    return max(k for k in _SHINGLE_SIZES if k == _SHINGLE_SIZES[0] or (k <= ngram and 8 * k <= n_words))


def shape(word: str) -> str:
    """A word with every digit run replaced by ``0`` (``x2`` and ``x17`` have one shape)."""
    return _NUMBER.sub("0", word)


class Hits(NamedTuple):
    """The indexed n-grams some rows hold: per hit, the row, the n-gram and the hash of the
    row's own words there (equal to the item's when the words, not only their shapes, match)."""

    first: int  # the batch's first row
    row: np.ndarray
    gram: np.ndarray
    raw: np.ndarray
    verbatim: list[tuple[int, int]]  # (row, item): the row holds all of the item, word for word


class CoverageIndex:
    """The n-grams of every benchmark item, indexed once.

    ``best([lookups(batch, first) for each batch])``: per row, its best-covered item. ``items``
    and batches are word lists (``normalize.words``); items shorter than ``min_words`` are skipped.
    """

    def __init__(self, items: Sequence[list[str]], ngram: int, min_words: int):
        self.items = items
        self.n_items = len(items)
        # word -> word id + shape id << 32 (ids from 1; 0: no item holds it). Words no item holds
        # are added as the corpus shows them (a changed number may have a known shape).
        self.shape_vocab: dict[str, int] = {}
        self.ids: dict[str, int] = {}
        for w in chain.from_iterable(items):
            if w not in self.ids:
                sid = self.shape_vocab.setdefault(shape(w), len(self.shape_vocab) + 1)
                self.ids[w] = len(self.ids) + 1 + (sid << 32)
        self.n_words = len(self.ids)
        rng = np.random.default_rng(20250101)
        self.raw_values = _random_odd(rng, self.n_words + 1)
        self.shape_values = _random_odd(rng, len(self.shape_vocab) + 1)
        lengths = np.array([len(ws) for ws in items], dtype=np.int64)
        self.tok_off = np.zeros(self.n_items + 1, dtype=np.int64)  # item i: words tok_off[i]..tok_off[i+1]
        np.cumsum(lengths, out=self.tok_off[1:])
        self.token_item = np.repeat(np.arange(self.n_items), lengths)
        self.k = np.array([shingle_size(n, ngram) if n >= min_words else 0 for n in lengths], dtype=np.int64)
        self.k[lengths < self.k] = 0  # shorter than one n-gram: exact method only
        self.sizes = sorted({int(k) for k in self.k if k})
        raw, shapes, _ = self._rolling(items)
        # A word whose shape is not itself holds digits: a changed number matches by shape only.
        self.has_digit = np.fromiter(
            (w != shape(w) for w in chain.from_iterable(items)), dtype=bool, count=len(self.token_item)
        )
        self._build(raw, shapes)

    def _build(self, raw: RollingHash, shapes: RollingHash) -> None:
        """Per shingle size: the lookup table; over all sizes: gram ids, item frequencies, postings."""
        self.lookup: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # size -> (sorted keys, gram id)
        self.anchors: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # size -> (sorted word hashes, item)
        df_parts, post_parts = [], []
        n_grams = 0
        for k in self.sizes:
            starts, hashes = shapes.windows(k)
            items = self.token_item[starts]
            own = self.k[items] == k  # the windows that are this size's n-grams of their item
            # Item frequency of each n-gram counts every item holding it, whatever its own size.
            keys, inverse = np.unique(hashes, return_inverse=True)
            df = np.bincount(np.unique(inverse * self.n_items + items) // self.n_items, minlength=len(keys))
            used = np.unique(inverse[own])  # n-grams some item of this size is cut into
            gid = np.full(len(keys), -1, dtype=np.int64)
            gid[used] = n_grams + np.arange(len(used))
            df_parts.append(df[used])
            lookable = used[df[used] <= _MAX_ITEM_DF]
            self.lookup[k] = (keys[lookable], gid[lookable])
            # Postings: gram, item, first word (counted over all items), text hash, size.
            s, raw_h = starts[own], raw.at(starts, k)
            post_parts.append((gid[inverse[own]], items[own], s, raw_h[own], np.full(len(s), k)))
            n_grams += len(used)
            self.anchors[k] = self._anchors(raw_h, items, own)
        self.n_grams = n_grams
        self.df_items = np.concatenate(df_parts) if df_parts else np.zeros(0, dtype=np.int64)
        cols = [np.concatenate(c) for c in zip(*post_parts, strict=True)] if post_parts else [np.zeros(0)] * 5
        order = np.argsort(cols[0], kind="stable")
        self.p_gram, self.p_item, self.p_start, self.p_raw, self.p_k = (c[order] for c in cols)
        self.p_first = np.searchsorted(self.p_gram, np.arange(n_grams + 1))  # gram g: [p_first[g], p_first[g+1])
        self.bitmap = np.zeros(1 << _BITMAP_BITS, dtype=bool)
        for keys, _ in chain(self.lookup.values(), self.anchors.values()):
            self.bitmap[keys >> np.uint64(64 - _BITMAP_BITS)] = True

    def _anchors(self, raw_h: np.ndarray, items: np.ndarray, own: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(sorted word hashes, item) of each item's rarest n-gram of words (digits included).

        A row holding it is checked for the whole item, word for word: an item made of
        boilerplate weighs too little for coverage, but a copy of all of it is still a copy.
        """
        keys, inverse = np.unique(raw_h, return_inverse=True)
        df = np.bincount(np.unique(inverse * self.n_items + items) // self.n_items, minlength=len(keys))
        windows = np.flatnonzero(own)
        order = np.lexsort((windows, df[inverse[windows]], items[windows]))  # per item: rarest, then first
        windows = windows[order]
        first = windows[np.r_[True, items[windows][1:] != items[windows][:-1]]] if len(windows) else windows
        order = np.argsort(raw_h[first], kind="stable")
        return raw_h[first][order], items[first][order]

    def _rolling(self, docs: Sequence[list[str]]) -> tuple[RollingHash, RollingHash, np.ndarray]:
        """Rolling hashes of the words and of their shapes, and the document boundaries."""
        flat = list(chain.from_iterable(docs))
        ids = np.fromiter(map(self.ids.get, flat, repeat(-1, len(flat))), dtype=np.int64, count=len(flat))
        new = np.flatnonzero(ids < 0)
        if len(new):
            ids[new] = [self._new_word(flat[u]) for u in new.tolist()]
        offsets = np.zeros(len(docs) + 1, dtype=np.int64)
        np.cumsum([len(d) for d in docs], out=offsets[1:])
        return (
            RollingHash(self.raw_values[ids & 0xFFFFFFFF], offsets),
            RollingHash(self.shape_values[ids >> 32], offsets),
            offsets,
        )

    def _new_word(self, word: str) -> int:
        """The packed ids of a word no item holds: word id 0, and its shape's id if an item has it."""
        if len(self.ids) >= self.n_words + _MAX_CACHED_WORDS:  # bounded memory; verdicts do not change
            self.ids = dict(itertools.islice(self.ids.items(), self.n_words))
        packed = self.ids[word] = self.shape_vocab.get(shape(word), 0) << 32
        return packed

    def lookups(self, docs: Sequence[list[str]], first: int) -> Hits:
        """The indexed n-grams a batch of rows (``first`` = index of its first row) holds."""
        raw, shapes, offsets = self._rolling(docs)
        rows, grams, hashes = [], [], []
        for k, (keys, gid) in self.lookup.items():
            if not len(keys):
                continue
            starts, h = shapes.windows(k)
            maybe = np.flatnonzero(self.bitmap[h >> np.uint64(64 - _BITMAP_BITS)])
            starts, h = starts[maybe], h[maybe]
            pos = np.minimum(np.searchsorted(keys, h), len(keys) - 1)
            hit = keys[pos] == h
            starts = starts[hit]
            rows.append(np.searchsorted(offsets, starts, side="right") - 1 + first)
            grams.append(gid[pos[hit]])
            hashes.append(raw.at(starts, k))
        verbatim = sorted(self._verbatim(docs, raw, offsets, first))
        if not rows:
            return Hits(first, np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.uint64), verbatim)
        return Hits(first, np.concatenate(rows), np.concatenate(grams), np.concatenate(hashes), verbatim)

    def _verbatim(self, docs: Sequence[list[str]], raw: RollingHash, offsets: np.ndarray, first: int) -> set:
        """(row, item) of every row that holds all the words of an item, in order."""
        out = set()
        for k, (keys, owner) in self.anchors.items():
            if not len(keys):
                continue
            starts, h = raw.windows(k)
            maybe = np.flatnonzero(self.bitmap[h >> np.uint64(64 - _BITMAP_BITS)])
            starts, h = starts[maybe], h[maybe]
            lo, hi = np.searchsorted(keys, h, side="left"), np.searchsorted(keys, h, side="right")
            for at in np.flatnonzero(hi > lo).tolist():
                d = int(np.searchsorted(offsets, starts[at], side="right")) - 1
                for item in owner[lo[at] : hi[at]].tolist():
                    if (first + d, item) not in out and _contains(docs[d], self.items[item]):
                        out.add((first + d, item))
        return out

    def best(self, batches: Sequence[Hits], n_rows: int) -> list[tuple[int, float] | None]:
        """Per row: (item, coverage) of its best-covered item; None when it shares no indexed n-gram.

        ``batches`` are the ``lookups`` of every row of the corpus: its n-gram frequencies count.
        """
        out: list[tuple[int, float] | None] = [None] * n_rows
        if not self.n_grams or not batches:
            return out
        # Corpus frequency: rows holding each n-gram (a row counts once however often it repeats it).
        row_gram = np.unique(np.concatenate([b.row * self.n_grams + b.gram for b in batches]))
        df_rows = np.bincount(row_gram % self.n_grams, minlength=self.n_grams)
        # The row being scored holds the n-grams it shares: only *other* rows count against them.
        weight = np.where(self.df_items <= _MAX_ITEM_DF, 1.0 / (self.df_items + np.maximum(df_rows - 1, 0)), 0.0)
        token_w = self._token_weights(weight)
        item_w = np.bincount(self.token_item, weights=token_w, minlength=self.n_items)
        prefix = (np.r_[0.0, np.cumsum(token_w)], np.r_[0.0, np.cumsum(token_w * self.has_digit)])
        for b in batches:
            if len(b.row):
                self._score(b, item_w, prefix, out)
            for row, item in b.verbatim:  # sorted: the first item wins among whole copies
                if out[row] is None or out[row][1] < 1.0:
                    out[row] = (item, 1.0)
        return out

    def _token_weights(self, weight: np.ndarray) -> np.ndarray:
        """Per item word: the weight of the heaviest of the item's n-grams that contain it."""
        out = np.zeros(len(self.token_item))
        for k in self.sizes:
            sel = self.p_k == k
            at_start = np.zeros(len(out))
            at_start[self.p_start[sel]] = weight[self.p_gram[sel]]
            # An n-gram starting at p covers p..p+k-1, all inside its item (starts stop at L - k).
            for shift in range(k):
                np.maximum(out[shift:], at_start[: len(out) - shift], out=out[shift:])
        return out

    def _score(self, hits: Hits, item_w: np.ndarray, prefix: tuple, out: list) -> None:
        """Coverage of every (row, item) pair the hits touch; the best per row goes into ``out``."""
        # Every posting of every hit: where in which item, and whether the words (not only their
        # shapes) matched. Item words are numbered across items, so sorting by (row, first word)
        # groups each (row, item) pair with its n-grams in order.
        row, gram, raw = hits.row, hits.gram, hits.raw
        count = self.p_first[gram + 1] - self.p_first[gram]
        hit = np.repeat(np.arange(len(gram)), count)
        post = np.repeat(self.p_first[gram] - np.cumsum(count) + count, count) + np.arange(len(hit))
        start = self.p_start[post]
        order = np.argsort((row[hit] - hits.first) * len(self.token_item) + start, kind="stable")
        hit, post, start = hit[order], post[order], start[order]
        rows, items = row[hit], self.p_item[post]
        new = np.r_[True, (rows[1:] != rows[:-1]) | (items[1:] != items[:-1])]
        group = np.cumsum(new) - 1
        rows, items, n = rows[new], items[new], int(new.sum())
        k, same_text = self.p_k[post], self.p_raw[post] == raw[hit]
        every, digits = _union(group, start, k, prefix, n)
        _, digits_same_text = _union(group[same_text], start[same_text], k[same_text], prefix, n)
        # A word with digits that only the shape matched (a changed number) earns partial credit.
        held = every - (1 - _CHANGED_NUMBER_CREDIT) * (digits - digits_same_text)
        total = item_w[items]
        ok = total >= _MIN_ITEM_WEIGHT
        rows, items, coverage = rows[ok], items[ok], held[ok] / total[ok]
        best = np.lexsort((items, -coverage, rows))  # per row: highest coverage, then first item
        if not len(best):
            return
        top = best[np.r_[True, rows[best][1:] != rows[best][:-1]]]
        for r, i, c in zip(rows[top].tolist(), items[top].tolist(), coverage[top].tolist(), strict=True):
            out[r] = (i, c)


def _union(group: np.ndarray, start: np.ndarray, k: np.ndarray, prefix: tuple, n: int) -> tuple:
    """Per group: weight of the words inside the union of its n-grams, (all words, words with digits).

    The n-grams of one group have one length and come sorted by start, so n-gram ``j`` adds the
    words from its start up to the next one's start (or its own end): disjoint pieces.
    """
    end = start + k
    if len(start):
        same = np.r_[group[1:] == group[:-1], False]
        end[same] = np.minimum(end[same], start[1:][same[:-1]])
    every, digits = prefix
    return (
        np.bincount(group, weights=every[end] - every[start], minlength=n),
        np.bincount(group, weights=digits[end] - digits[start], minlength=n),
    )


def _random_odd(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, 2**63, size=n, dtype=np.uint64) * np.uint64(2) + np.uint64(1)


def _contains(haystack: list[str], needle: list[str]) -> bool:
    n = len(needle)
    return any(haystack[i : i + n] == needle for i in range(len(haystack) - n + 1))
