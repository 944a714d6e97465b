"""select: which verified traces enter the dataset, decided over the whole run. Every drop says why.

In order: problems outside the pass-rate band or the chosen tiers go (``pass_rate_band``,
``unsolved``, ``tier``); traces outside the length caps go (``too_short``, ``too_long``); each
problem keeps at most ``max_per_problem`` traces, preferring distinct final answers, then
distinct lengths, then the shorter (``max_per_problem``); then problems are visited by priority
(``order``: hardest first by default) and their traces taken until a quota (``quota_<key>``) or
the target size (``target_size``) is reached. Ties break on a hash seeded by the recipe seed, so
the selection is the same on every rerun and every machine.

Quotas and the target count the whole run, so this is a barrier stage (like dedup): it reads a
few columns of every input part first. Failed traces are not counted and pass through (export
leaves them out of the SFT set; they are the negatives of preference pairs) unless their
problem is dropped. The traces of a ``paired`` long/short pair are kept or dropped together.
"""

from __future__ import annotations

import hashlib
import sys
from collections import Counter
from pathlib import Path

from pipeline.recipe import Recipe, SelectConfig
from pipeline.rows import Row
from pipeline.stage import PartContext, Stage

NEEDED = ["problem_id", "teacher", "sample_idx", "domain", "source", "verdict", "pass_rate", "difficulty"]
OPTIONAL = ("n_output_tokens", "answer_text")
_LABELS = {"problem_id", "teacher", "domain", "source", "difficulty"}  # values many rows repeat
DISTINCT_LENGTH = 0.1  # lengths within 10% of a kept trace count as the same length

Where = tuple[int, int]  # (part, position in part)


def seeded_hash(seed: int, key: str) -> str:
    return hashlib.sha1(f"{seed}:{key}".encode()).hexdigest()


def _answer_key(text: str | None) -> str:
    return " ".join((text or "").split())[-200:]


def _answer_digest(text: str | None) -> bytes:
    return hashlib.blake2b(_answer_key(text).encode(), digest_size=16).digest()


def _answer_of(row: Row) -> bytes:
    return row["answer_digest"] if "answer_digest" in row else _answer_digest(row.get("answer_text"))


def _compact(row: Row) -> Row:
    """The row as ``Selection`` reads it, small: the whole run is held at once, so the answer is
    kept as a 16-byte digest of its key, repeated labels share one string, and the dict is built
    anew (adding a key to a full one would double its table)."""
    out = {
        name: sys.intern(value) if name in _LABELS and isinstance(value, str) else value
        for name, value in row.items()
        if name != "answer_text"
    }
    out["answer_digest"] = _answer_digest(row.get("answer_text"))
    return out


class Selection:
    """The decisions for a whole run: where -> drop reason (absent: kept)."""

    def __init__(self, cfg: SelectConfig, seed: int):
        self.cfg = cfg
        self.seed = seed
        self.dropped: dict[Where, str] = {}

    def decide(self, rows: dict[Where, Row]) -> dict[Where, str]:
        problems: dict[str, list[Where]] = {}
        for where, row in rows.items():
            problems.setdefault(row["problem_id"], []).append(where)
        ranked: list[tuple[str, list[list[Where]]]] = []
        for pid, places in problems.items():
            first = rows[places[0]]
            reason = self._problem_reason(first)
            if reason:
                self.dropped.update(dict.fromkeys(places, reason))
                continue
            units = self._units([w for w in places if rows[w]["verdict"]], rows)
            units = self._length_caps(units, rows)
            ranked.append((pid, self._per_problem(pid, units, rows)))
        self._quotas_and_target(self._by_priority(ranked, rows), rows)
        return self.dropped

    def _problem_reason(self, row: Row) -> str | None:
        cfg = self.cfg
        rate = row["pass_rate"]
        if not rate:
            return "unsolved: no verified trace"
        if not cfg.min_pass_rate <= rate <= cfg.max_pass_rate:
            return f"pass_rate_band: {rate:.3g} outside [{cfg.min_pass_rate}, {cfg.max_pass_rate}]"
        if cfg.tiers is not None and row["difficulty"] not in cfg.tiers:
            return f"tier: {row['difficulty']} not in {cfg.tiers}"
        return None

    def _units(self, places: list[Where], rows: dict[Where, Row]) -> list[list[Where]]:
        """Traces that stay together: one row, or the long and short rows of a paired trace."""
        units: dict[tuple, list[Where]] = {}
        for where in places:
            row = rows[where]
            units.setdefault((row["teacher"], row["sample_idx"]), []).append(where)
        return list(units.values())

    def _tokens(self, unit: list[Where], rows: dict[Where, Row]) -> int:
        return min(rows[w].get("n_output_tokens") or 0 for w in unit)

    def _length_caps(self, units: list[list[Where]], rows: dict[Where, Row]) -> list[list[Where]]:
        low, high = self.cfg.min_output_tokens, self.cfg.max_output_tokens
        kept = []
        for unit in units:
            tokens = self._tokens(unit, rows)
            if low is not None and tokens < low:
                self.dropped.update(dict.fromkeys(unit, f"too_short: {tokens} < {low} output tokens"))
            elif high is not None and tokens > high:
                self.dropped.update(dict.fromkeys(unit, f"too_long: {tokens} > {high} output tokens"))
            else:
                kept.append(unit)
        return kept

    def _per_problem(self, pid: str, units: list[list[Where]], rows: dict[Where, Row]) -> list[list[Where]]:
        """The problem's units in preference order, cut to ``max_per_problem``: shortest first,
        but a distinct final answer, then a distinct length, goes ahead of a repeat."""

        def tiebreak(unit: list[Where]) -> tuple:
            row = rows[unit[0]]
            return (self._tokens(unit, rows), seeded_hash(self.seed, f"{pid}#{row['teacher']}#{row['sample_idx']}"))

        pending = sorted(units, key=tiebreak)
        chosen: list[list[Where]] = []
        answers: set[bytes] = set()
        lengths: list[int] = []
        while pending:

            def novelty(unit: list[Where]) -> int:
                tokens = self._tokens(unit, rows)
                new_answer = _answer_of(rows[unit[0]]) not in answers
                new_length = all(abs(tokens - n) > DISTINCT_LENGTH * max(n, 1) for n in lengths)
                return -(2 * new_answer + new_length)

            best = min(pending, key=novelty)  # min() keeps the first (shortest) among equals
            pending.remove(best)
            chosen.append(best)
            answers.add(_answer_of(rows[best[0]]))
            lengths.append(self._tokens(best, rows))
        k = self.cfg.max_per_problem
        if k is not None and len(chosen) > k:
            for unit in chosen[k:]:
                self.dropped.update(dict.fromkeys(unit, f"max_per_problem: kept {k} of {len(chosen)} traces"))
            chosen = chosen[:k]
        return chosen

    def _by_priority(self, ranked: list[tuple[str, list]], rows: dict[Where, Row]) -> list[tuple[str, list]]:
        if self.cfg.order == "input":
            return ranked
        sign = 1 if self.cfg.order == "hard_first" else -1

        def priority(item: tuple[str, list]) -> tuple:
            pid, units = item
            rate = rows[units[0][0]]["pass_rate"] if units else 0.0
            return (sign * rate, seeded_hash(self.seed, pid))

        return sorted(ranked, key=priority)

    def _quotas_and_target(self, ranked: list[tuple[str, list]], rows: dict[Where, Row]) -> None:
        counts: Counter = Counter()
        taken = 0
        target = self.cfg.target_size
        for _, units in ranked:
            for unit in units:
                row = rows[unit[0]]
                if target is not None and taken + len(unit) > target:
                    self.dropped.update(dict.fromkeys(unit, f"target_size: {target} traces reached"))
                    continue
                full = self._full_quota(row, counts, len(unit))
                if full:
                    self.dropped.update(dict.fromkeys(unit, full))
                    continue
                for key in self.cfg.quotas:
                    counts[(key, row[key])] += len(unit)
                taken += len(unit)

    def _full_quota(self, row: Row, counts: Counter, size: int) -> str | None:
        for key, limits in self.cfg.quotas.items():
            limit = limits.get(row[key], limits.get("*"))
            if limit is not None and counts[(key, row[key])] + size > limit:
                return f"quota_{key}: {row[key]} reached {limit}"
        return None


class SelectStage(Stage):
    name = "select"
    input_stage = "grade"
    adds_columns: list[str] = []
    unit_in, unit_out = "traces", "traces"
    barrier = True  # quotas and the target size count the whole run

    def __init__(self, recipe: Recipe):
        self.cfg = recipe.select
        self.seed = recipe.seed
        self.dropped: dict[Where, str] = {}

    def before_parts(self, run_dir: Path, parts: list[PartContext]) -> None:
        rows = self.read_whole_input(run_dir, NEEDED, OPTIONAL, convert=_compact)
        self.dropped = Selection(self.cfg, self.seed).decide(rows)

    def process(self, rows: list[Row], stats: Counter, part: PartContext | None = None) -> tuple[list[Row], list[Row]]:
        decisions = {where: {"drop_reason": reason} for where, reason in self.dropped.items() if where[0] == part.index}
        kept, rejected = self.split_by_decisions(rows, part, decisions)
        stats.update("selected" if row["verdict"] else "failed_passed_through" for row in kept)
        return kept, rejected
