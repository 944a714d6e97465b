"""Duplicate traces and near-duplicate problems over a whole run, fed one part at a time.

The same decisions as ``find.find_duplicates(problems, reasonings, ids, key=...)`` (identical
(problem, reasoning) pairs, then MinHash over distinct problems, a dropped problem taking all its
rows), without holding the run's texts: per row it keeps a 128-bit hash of the normalized pair,
the index of its normalized problem, its sort key and its id parts (about 60 bytes in numpy
arrays); per distinct problem, the text of its best row (MinHash needs one text per problem).
So memory grows with one part's texts plus a few bytes per row, not with the run's text.

Why the best row's text is enough: rows of one identical pair share a normalized problem, and a
dropped one has a better kept row in its group, so the best row of a normalized problem over all
rows is also the best over the rows left after exact dedup, which is what ``find_duplicates``
compares.
"""

from __future__ import annotations

import hashlib
from typing import Literal, Sequence

import numpy as np

from pipeline.dedup.config import MinHashConfig
from pipeline.dedup.minhash import near_duplicates
from pipeline.dedup.normalize import normalize_text

KEPT, DUPLICATE_TRACE, NEAR_DUPLICATE = 0, 1, 2
REASONS = {DUPLICATE_TRACE: "duplicate_trace", NEAR_DUPLICATE: "near_duplicate"}


def _digest(*texts: str) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    for text in texts:  # length-prefixed: ("ab", "c") and ("a", "bc") differ
        data = text.encode("utf-8", "surrogatepass")
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.digest()


class StreamingDuplicates:
    """``add`` every part's rows in run order, then ``decide``; then ``evidence(start, stop)``
    gives the evidence ({drop_reason, duplicate_of}) of the rows ``start..stop`` (run order)."""

    def __init__(
        self, config: MinHashConfig = MinHashConfig(), near: bool = True, keep: Literal["first", "best_trace"] = "first"
    ):
        self.config, self.near, self.best_trace = config, near, keep == "best_trace"
        self._rows = 0
        self._chunks: list[dict[str, np.ndarray]] = []
        self._problem_index: dict[bytes, int] = {}  # normalized problem hash -> problem number
        self._best: list[tuple[tuple, str]] = []  # per problem: ((sort key, row), text of that row)
        self._ids: list[str] = []  # distinct problem ids and teachers, for the ids of kept rows
        self._id_index: dict[str, int] = {}
        self._id_parts = np.zeros((0, 3), dtype=np.int64)  # per row: (problem_id, teacher, sample_idx) in _ids
        self.reason = np.zeros(0, dtype=np.int8)
        self.target = np.zeros(0, dtype=np.int64)

    def _intern(self, value: object) -> int:
        text = str(value)
        if text not in self._id_index:
            self._id_index[text] = len(self._ids)
            self._ids.append(text)
        return self._id_index[text]

    def add(
        self,
        problems: Sequence[str | None],
        reasonings: Sequence[str | None],
        verdicts: Sequence[bool | None],
        ids: Sequence[tuple[object, object, object]],
    ) -> None:
        """One part's rows: problem, reasoning, verdict and (problem_id, teacher, sample_idx) each."""
        n = len(problems)
        pair = np.zeros((n, 2), dtype=np.uint64)
        has_pair = np.zeros(n, dtype=bool)
        problem = np.full(n, -1, dtype=np.int64)
        worse = np.zeros(n, dtype=np.int8)  # the best_trace key: (not verified, reasoning length)
        length = np.zeros(n, dtype=np.int64)
        id_parts = np.zeros((n, 3), dtype=np.int64)
        for i, (p, r, ok, row_id) in enumerate(zip(problems, reasonings, verdicts, ids, strict=True)):
            g = self._rows + i
            if self.best_trace:
                worse[i], length[i] = ok is not True, len(r or "")
            id_parts[i] = [self._intern(x) for x in row_id]
            if p is None:
                continue
            normalized = normalize_text(p)
            if r is not None:
                pair[i] = np.frombuffer(_digest(normalized, normalize_text(r)), dtype=np.uint64)
                has_pair[i] = True
            number = self._problem_index.setdefault(_digest(normalized), len(self._best))
            rank = (int(worse[i]), int(length[i]), g)
            if number == len(self._best):
                self._best.append((rank, p))
            elif rank < self._best[number][0]:
                self._best[number] = (rank, p)
            problem[i] = number
        self._chunks.append(
            {"pair": pair, "has_pair": has_pair, "problem": problem, "worse": worse, "length": length, "id": id_parts}
        )
        self._rows += n

    def decide(self) -> None:
        """Find the duplicates of every row added."""
        cols = {k: np.concatenate([c[k] for c in self._chunks]) for k in self._chunks[0]} if self._chunks else {}
        self._chunks = []
        n = self._rows
        self.reason = np.zeros(n, dtype=np.int8)
        self.target = np.full(n, -1, dtype=np.int64)
        if not n:
            return
        self._id_parts = cols["id"]
        rows = np.arange(n)
        # Identical pairs: sorted by pair hash, then by the sort key; the first of a group stays.
        paired = rows[cols["has_pair"]]
        order = paired[
            np.lexsort(
                (
                    paired,
                    cols["length"][paired],
                    cols["worse"][paired],
                    cols["pair"][paired, 1],
                    cols["pair"][paired, 0],
                )
            )
        ]
        hashes = cols["pair"][order]
        starts = np.ones(len(order), dtype=bool)
        starts[1:] = (hashes[1:] != hashes[:-1]).any(axis=1)
        best = order[np.flatnonzero(starts)][np.cumsum(starts) - 1]
        dropped = order[best != order]
        self.reason[dropped] = DUPLICATE_TRACE
        self.target[dropped] = best[best != order]
        best, self._best, self._problem_index = self._best, [], {}
        if self.near and best:
            self._near(cols["problem"], best)

    def _near(self, problem: np.ndarray, best: list[tuple[tuple, str]]) -> None:
        alive = np.flatnonzero((self.reason == KEPT) & (problem >= 0))
        # Problems in the order of their first remaining row, as find_duplicates lists them.
        numbers, first = np.unique(problem[alive], return_index=True)
        order = numbers[np.argsort(alive[first], kind="stable")]
        reps = [best[k][0][2] for k in order]
        ranks = [best[k][0][:2] for k in order]
        dup = near_duplicates(
            [best[k][1] for k in order], self.config, key=lambda j: ranks[j] if self.best_trace else reps[j]
        )
        goes_to = np.full(len(best), -1, dtype=np.int64)
        for number, of in zip(order, dup, strict=True):
            if of is not None:
                goes_to[number] = reps[of]
        hit = alive[goes_to[problem[alive]] >= 0]
        self.reason[hit] = NEAR_DUPLICATE
        self.target[hit] = goes_to[problem[hit]]

    def row_id(self, row: int) -> str:
        return "#".join(self._ids[k] for k in self._id_parts[row])

    def evidence(self, start: int, stop: int) -> dict[int, dict[str, str]]:
        """{position from ``start``: evidence} for the dropped rows among ``start..stop``."""
        out = {}
        for row in np.flatnonzero(self.reason[start:stop]) + start:
            of = self.row_id(self.target[row])
            out[int(row - start)] = {"drop_reason": f"{REASONS[self.reason[row]]}: same as {of}", "duplicate_of": of}
        return out
