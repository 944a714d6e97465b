"""Which rows to drop, with the evidence: the row-level logic of the dedup and decontaminate stages.

``find_duplicates`` and ``find_contamination`` take the texts of rows held in memory and return
``{row index: evidence}``; the evidence keys are the columns a rejected row gains
(``DEDUP_EVIDENCE`` / ``DECONTAM_EVIDENCE``). ``pipeline.dedup.files`` runs the same on whole files.
"""

from __future__ import annotations

from collections import Counter
from typing import Callable, Sequence

from pipeline.dedup.benchmarks import BenchmarkItem
from pipeline.dedup.config import DecontamConfig, MinHashConfig
from pipeline.dedup.decontam import BenchmarkIndex
from pipeline.dedup.exact import SortKey, exact_duplicates, exact_pair_duplicates, keep_first
from pipeline.dedup.minhash import near_duplicates
from pipeline.dedup.normalize import normalize_text

DEDUP_EVIDENCE = ["drop_reason", "duplicate_of"]
DECONTAM_EVIDENCE = [
    "drop_reason",
    "contamination_benchmark",
    "contamination_item",
    "contamination_method",
    "contamination_match",
]

Drop = Callable[[int, str, int], None]  # (row, reason, row it duplicates)


def find_duplicates(
    texts: list[str | None],
    reasonings: list[str | None] | None,
    ids: list[str],
    *,
    near: bool = True,
    config: MinHashConfig = MinHashConfig(),
    key: SortKey = keep_first,
) -> dict[int, dict[str, str]]:
    """Evidence ({drop_reason, duplicate_of}) for every row to drop, by row index.

    Without ``reasonings`` each row is one document (exact, then near duplicates); with them,
    identical (problem, reasoning) pairs go and near-duplicate problems go with all their rows.
    """
    evidence: dict[int, dict[str, str]] = {}

    def drop(i: int, reason: str, of: int) -> None:
        evidence[i] = {"drop_reason": f"{reason}: same as {ids[of]}", "duplicate_of": ids[of]}

    if reasonings is None:
        for i, of in enumerate(exact_duplicates(texts, key)):
            if of is not None:
                drop(i, "exact_duplicate", of)
        if near:
            alive = [i for i in range(len(texts)) if i not in evidence]
            dup = near_duplicates([texts[i] for i in alive], config, key=lambda k: key(alive[k]))
            for k, of in enumerate(dup):
                if of is not None:
                    drop(alive[k], "near_duplicate", alive[of])
    else:
        for i, of in enumerate(exact_pair_duplicates(texts, reasonings, key)):
            if of is not None:
                drop(i, "duplicate_trace", of)
        if near:
            _drop_near_problems(texts, [i for i in range(len(texts)) if i not in evidence], key, config, drop)
    return evidence


def _drop_near_problems(
    texts: list[str | None], alive: list[int], key: SortKey, config: MinHashConfig, drop: Drop
) -> None:
    """Near-dedup over distinct problems; a dropped problem takes all its rows with it."""
    best_row: dict[str, int] = {}
    for i in alive:
        if texts[i] is not None:
            p = normalize_text(texts[i])
            if p not in best_row or (key(i), i) < (key(best_row[p]), best_row[p]):
                best_row[p] = i
    problems = list(best_row)
    reps = [best_row[p] for p in problems]
    dup = near_duplicates([texts[r] for r in reps], config, key=lambda k: key(reps[k]))
    dropped = {p: reps[of] for p, of in zip(problems, dup, strict=True) if of is not None}
    for i in alive:
        if texts[i] is not None and (target := dropped.get(normalize_text(texts[i]))) is not None:
            drop(i, "near_duplicate", target)


def find_contamination(
    texts: list[str | None], items: Sequence[BenchmarkItem], config: DecontamConfig, index: BenchmarkIndex | None = None
) -> tuple[dict[int, dict[str, str]], dict]:
    """(evidence by row index, per-benchmark {items, hits, items_hit, methods}) for rows holding
    benchmark items. ``hits``: rows dropped because of the benchmark; ``items_hit``: how many of
    its items they hold; ``methods``: rows each method matched to it.

    The drop reason names the item, the method, the share of the item the row holds and its
    longest shared run of words: ``contaminated: math500 test/algebra/1.json (ngram, coverage
    0.93, longest span 41 words)``; ``contamination_match`` holds that run.
    """
    found = (index or BenchmarkIndex(items, config)).check(texts)
    per_bench = {
        b: {"items": n, "hits": 0, "items_hit": 0, "methods": {m: 0 for m in config.methods}}
        for b, n in Counter(it.benchmark for it in items).items()
    }
    items_hit: set[tuple[str, str]] = set()
    evidence: dict[int, dict[str, str]] = {}
    for i, hits in enumerate(found):
        if not hits:
            continue
        first = hits[0]
        per_bench[first.benchmark]["hits"] += 1
        items_hit.add((first.benchmark, first.item_id))
        for h in hits:
            per_bench[h.benchmark]["methods"][h.method] += 1
        evidence[i] = {
            "drop_reason": f"contaminated: {first.benchmark} {first.item_id} ({first.detail})",
            "contamination_benchmark": first.benchmark,
            "contamination_item": first.item_id,
            "contamination_method": first.method,
            "contamination_match": first.match,
        }
    for bench, _ in items_hit:
        per_bench[bench]["items_hit"] += 1
    return evidence, per_bench
