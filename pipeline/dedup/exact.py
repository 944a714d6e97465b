"""Exact duplicates: rows whose normalized problem (or (problem, reasoning) pair) repeats.

Every function returns, per row, the index of the row it duplicates (the kept member of its
group) or ``None`` for kept rows. Which member is kept is decided by a caller-given sort key
(lowest wins; ties go to the earlier row), never by hash order, so results are reproducible.
"""

from __future__ import annotations

from typing import Any, Callable, Hashable, Sequence

from pipeline.dedup.normalize import normalize_text

SortKey = Callable[[int], Any]


def keep_first(index: int) -> int:
    """Default sort key: the earliest row of a group is kept."""
    return index


def duplicate_of_groups(labels: Sequence[Hashable], key: SortKey = keep_first) -> list[int | None]:
    """Per row, the index of the kept member of its label group (``None`` when it is kept).

    >>> duplicate_of_groups(["a", "b", "a"], key=lambda i: -i)
    [2, None, None]
    """
    best: dict[Hashable, int] = {}
    for i, label in enumerate(labels):
        j = best.get(label)
        if j is None or (key(i), i) < (key(j), j):
            best[label] = i
    out: list[int | None] = []
    for i, label in enumerate(labels):
        j = best[label]
        out.append(None if j == i else j)
    return out


def exact_duplicates(texts: Sequence[str | None], key: SortKey = keep_first) -> list[int | None]:
    """Duplicates by ``normalize_text`` (case, whitespace, LaTeX spacing ignored).

    Null texts are never duplicates of anything (each is its own group).
    """
    labels = [(0, normalize_text(t)) if t is not None else (1, i) for i, t in enumerate(texts)]
    return duplicate_of_groups(labels, key)


def exact_pair_duplicates(
    problems: Sequence[str | None], reasonings: Sequence[str | None], key: SortKey = keep_first
) -> list[int | None]:
    """Duplicates of the (normalized problem, normalized reasoning) pair: the same trace twice."""
    if len(problems) != len(reasonings):
        raise ValueError(f"{len(problems)} problems but {len(reasonings)} reasonings")
    labels = [
        (0, normalize_text(p), normalize_text(r)) if p is not None and r is not None else (1, i)
        for i, (p, r) in enumerate(zip(problems, reasonings, strict=True))
    ]
    return duplicate_of_groups(labels, key)


def best_trace_key(rows: Sequence[dict]) -> SortKey:
    """Sort key preferring verified-correct rows, then the shortest reasoning, then row order.

    >>> rows = [{"verdict": False, "reasoning": "a"}, {"verdict": True, "reasoning": "abc"},
    ...         {"verdict": True, "reasoning": "ab"}]
    >>> sorted(range(3), key=best_trace_key(rows))
    [2, 1, 0]
    """

    def key(i: int) -> tuple[bool, int]:
        row = rows[i]
        return (row.get("verdict") is not True, len(row.get("reasoning") or ""))

    return key
