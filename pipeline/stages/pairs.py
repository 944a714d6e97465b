"""Preference pairs from one part's traces: a verified trace (chosen) against a failed one (rejected).

The rows are TRL's conversational preference format: ``prompt``, ``chosen`` and ``rejected`` are
message lists, so the dataset folder's ``preference_pairs`` config goes straight into
``DPOTrainer``. Every part holds whole problems, so pairing within a part sees all
of a problem's traces.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from itertools import product
from typing import Literal

import pyarrow as pa

from pipeline.dataset.shapes import prompt_turns, public_source
from pipeline.rows import Row
from verifiers.trace import join_think

PAIRS_DIR = "pairs"  # <run_dir>/pairs: the preference rows per part, beside export/ (bookkeeping)
Pairing = Literal["shortest_vs_longest_wrong", "all"]

# Failures that are ours, not the model's (the check overran or crashed, no usable reference or
# tests), or a disputed label (the rule accepted, the judge did not): such a trace may well be
# right, and training away from it would teach the wrong thing.
NOT_MODEL_FAILURES = frozenset(
    {
        "timeout",
        "error",
        "sandbox_error",
        "bad_reference",
        "no_tests",
        "invalid_tests",
        "judge_rejected",
        "no_checker",
        "checker_error",
        "no_reference",
    }
)

_MESSAGES = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
PAIR_SCHEMA = pa.schema(
    [
        ("prompt", _MESSAGES),
        ("chosen", _MESSAGES),
        ("rejected", _MESSAGES),
        ("problem_id", pa.string()),
        ("domain", pa.string()),
        ("source", pa.string()),
        ("teacher_chosen", pa.string()),
        ("teacher_rejected", pa.string()),
        ("sample_idx_chosen", pa.int32()),
        ("sample_idx_rejected", pa.int32()),
        ("n_tokens_chosen", pa.int32()),
        ("n_tokens_rejected", pa.int32()),
        ("verdict_reason_rejected", pa.string()),
        ("difficulty", pa.string()),
        ("pass_rate", pa.float64()),
    ]
)


def is_positive(row: Row) -> bool:
    return bool(row.get("verdict"))


def is_negative(row: Row) -> bool:
    """A complete answer the verifier found wrong: not truncated, and not a failure of our own checking."""
    return (
        row.get("verdict") is False
        and bool(row.get("think_closed"))
        and row.get("verdict_reason") not in NOT_MODEL_FAILURES
    )


def _key(row: Row) -> tuple:
    # Ties in length break on teacher and sample so the same rows always give the same pairs.
    return (row.get("teacher") or "", row.get("sample_idx") or 0)


def _assistant(row: Row) -> list[dict]:
    return [{"role": "assistant", "content": join_think(row["reasoning"], row["answer_text"], row["think_closed"])}]


def to_pair(chosen: Row, rejected: Row, system_prompt: str | None = None) -> Row:
    """One preference row: the shared prompt, both assistant turns, and where each came from."""
    return {
        "prompt": prompt_turns(chosen["prompt"], system_prompt),
        "chosen": _assistant(chosen),
        "rejected": _assistant(rejected),
        "problem_id": chosen["problem_id"],
        "domain": chosen.get("domain"),
        "source": public_source(chosen.get("source")),
        "teacher_chosen": chosen.get("teacher"),
        "teacher_rejected": rejected.get("teacher"),
        "sample_idx_chosen": chosen.get("sample_idx"),
        "sample_idx_rejected": rejected.get("sample_idx"),
        "n_tokens_chosen": chosen.get("n_output_tokens"),
        "n_tokens_rejected": rejected.get("n_output_tokens"),
        "verdict_reason_rejected": rejected.get("verdict_reason"),
        "difficulty": chosen.get("difficulty"),
        "pass_rate": chosen.get("pass_rate"),
    }


def _problem_pairs(
    chosen: list[Row], rejected: list[Row], pairing: Pairing, max_pairs: int, system_prompt: str | None
) -> list[Row]:
    chosen = sorted(chosen, key=lambda r: (r["n_output_tokens"] or 0, *_key(r)))
    rejected = sorted(rejected, key=lambda r: (-(r["n_output_tokens"] or 0), *_key(r)))
    if pairing == "shortest_vs_longest_wrong":
        return [to_pair(chosen[0], rejected[0], system_prompt)]
    # Diagonal order (i + j): the first pair is the shortest-vs-longest one, and a small cap still
    # spreads over several chosen and several rejected traces instead of reusing one chosen.
    order = sorted(product(range(len(chosen)), range(len(rejected))), key=lambda ij: (ij[0] + ij[1], ij[0]))
    return [to_pair(chosen[i], rejected[j], system_prompt) for i, j in order[:max_pairs]]


def make_pairs(
    rows: list[Row],
    pairing: Pairing,
    max_pairs: int,
    stats: Counter | None = None,
    system_prompt: str | None = None,
) -> list[Row]:
    """Pairs for every problem in ``rows`` that has both a verified and a wrong trace.

    Problems come out in the order they first appear in ``rows``. ``stats`` (if given) counts
    ``pairs``, ``problems_with_pairs`` and ``problems_without_negatives`` (verified traces only).
    Example: a problem with verified traces of 300 and 500 tokens and wrong ones of 900 and 700
    gives (300, 900) under ``shortest_vs_longest_wrong``; under ``all`` with ``max_pairs=3``,
    (300, 900), (300, 700), (500, 900).
    """
    stats = Counter() if stats is None else stats
    chosen: dict[str, list[Row]] = defaultdict(list)
    rejected: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        chosen.setdefault(row["problem_id"], [])
        if is_positive(row):
            chosen[row["problem_id"]].append(row)
        elif is_negative(row):
            rejected[row["problem_id"]].append(row)
    out = []
    for problem_id, good in chosen.items():
        bad = rejected.get(problem_id, [])
        if good and not bad:
            stats["problems_without_negatives"] += 1
        if not good or not bad:
            continue
        pairs = _problem_pairs(good, bad, pairing, max_pairs, system_prompt)
        out.extend(pairs)
        stats["pairs"] += len(pairs)
        stats["problems_with_pairs"] += 1
    return out


def pairs_table(pairs: list[Row]) -> pa.Table:
    """The pairs as Arrow with fixed types, so an empty part still has the full schema."""
    return pa.Table.from_pylist(pairs, schema=PAIR_SCHEMA)
