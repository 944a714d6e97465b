"""shorten: shorter verified traces, by a strategy per difficulty tier, each result re-verified.

Strategies (``shorten.strategy``, or ``shorten.by_tier`` per grade tier):

- ``shortest_correct``: keep the ``keep`` shortest verified traces of a problem, reject the
  longer ones (Don't Overthink it).
- ``first_correct``: cut the reasoning right after the first answer in it that verifies
  (``verifiers.first_correct``), optionally with the next reflection step (FCS / FCS+1 of
  Sky-T1-Flash), then close the think block and keep the trace's own final answer. The new
  reasoning is always a prefix of the original.
- ``rewrite``: a model rewrites the reasoning to a token budget per tier (DAP).
- ``paired``: the original (``length_condition='long'``) and a short version made by
  ``paired_with`` (``'short'``) side by side, for length-conditioned training (C3oT).

Only verified traces are shortened; failed ones pass unchanged (they are the negatives of
preference pairs). Every changed trace is checked again with its domain's verifier; when that
fails the original is kept and ``shorten_status`` says why. Per problem work needs all of a
problem's traces, which every part has (see ``pipeline.stages``).
"""

from __future__ import annotations

from collections import Counter

from pipeline.recipe import Recipe
from pipeline.rows import STAGE_COLUMNS, Row, reject
from pipeline.stage import PartContext, Stage
from pipeline.stages.ask import ModelTask
from pipeline.stages.grade import group_by_problem
from pipeline.stages.verify import REFERENCE_COLUMN
from pipeline.tokens import count_tokens
from verifiers import get_checker, limit_clock
from verifiers.batch import check_all
from verifiers.first_correct import find_first_correct
from verifiers.trace import join_think

SHORTENED = "shortened"


def _output(row: Row, reasoning: str) -> str:
    return join_think(reasoning, row["answer_text"], row["think_closed"])


class ShortenStage(Stage):
    name = "shorten"
    input_stage = "grade"
    adds_columns = STAGE_COLUMNS["shorten"]
    unit_in, unit_out = "traces", "traces"

    def __init__(self, recipe: Recipe, rewriter: ModelTask | None = None):
        self.cfg = recipe.shorten
        self.verify_cfg = recipe.verify
        self.tokenizer = recipe.tokenizer
        self.rewriter = rewriter
        if self.rewriter is None and self.cfg.rewrite is not None:
            self.rewriter = ModelTask(
                self.cfg.rewrite,
                recipe.seed,
                required=("problem", "reasoning", "budget"),
                field="shorten.rewrite.prompt_template",
            )

    def setup(self) -> None:
        if self.rewriter is not None:
            self.rewriter.setup()

    def strategy_of(self, row: Row) -> str:
        return self.cfg.by_tier.get(row.get("difficulty"), self.cfg.strategy)

    def process(self, rows: list[Row], stats: Counter, part: PartContext | None = None) -> tuple[list[Row], list[Row]]:
        rows = [
            {
                **r,
                "shorten_strategy": self.strategy_of(r),
                "shorten_status": "kept: not verified" if not r["verdict"] else "kept",
                "n_output_tokens_before": r["n_output_tokens"],
                "length_condition": None,
            }
            for r in rows
        ]
        verified = [r for r in rows if r["verdict"]]
        longer = self._shortest_correct([r for r in verified if r["shorten_strategy"] == "shortest_correct"])
        rejected = [reject(row, "not_shortest_correct", why) for row, why in longer]
        for row in verified:
            if row["shorten_strategy"] == "none":
                row["shorten_status"] = "kept: strategy none"
        # The short version each changing strategy proposes: row id -> new reasoning (or why none).
        wanted = {id(r): self._making(r) for r in verified if self._making(r)}
        proposals = self._first_correct([r for r in verified if wanted.get(id(r)) == "first_correct"])
        proposals.update(self._rewrite([r for r in verified if wanted.get(id(r)) == "rewrite"]))
        accepted = self._reverify(verified, proposals)
        changed = [r for r in rows if id(r) in accepted]
        tokens = dict(
            zip(
                map(id, changed),
                count_tokens(self.tokenizer, [_output(r, accepted[id(r)]) for r in changed]),
                strict=True,
            )
        )
        gone = {id(row) for row, _ in longer}
        out = []
        for row in rows:
            if id(row) in gone:
                continue
            if id(row) not in accepted:
                out.append(row)
                continue
            short = {
                **row,
                "reasoning": accepted[id(row)],
                "n_output_tokens": tokens[id(row)],
                "shorten_status": SHORTENED,
            }
            if row["shorten_strategy"] == "paired":
                out.append({**row, "length_condition": "long", "shorten_status": "kept: long version of a pair"})
                short["length_condition"] = "short"
            out.append(short)
        stats.update(f"{r['shorten_strategy']}_{r['shorten_status'].split(':')[0]}" for r in out if r["verdict"])
        stats["shortest_correct_rejected"] += len(rejected)
        return out, rejected

    def _making(self, row: Row) -> str | None:
        """The strategy that writes a short version of this verified row, if any."""
        strategy = row["shorten_strategy"]
        if strategy == "paired":
            return self.cfg.paired_with
        return strategy if strategy in ("first_correct", "rewrite") else None

    def _shortest_correct(self, rows: list[Row]) -> list[tuple[Row, str]]:
        """Verified rows beyond the ``keep`` shortest of their problem, each with why it goes."""
        longer = []
        for traces in group_by_problem(rows).values():
            ranked = sorted(traces, key=lambda r: (r["n_output_tokens"], r["teacher"], r["sample_idx"]))
            for row in ranked[: self.cfg.keep]:
                row["shorten_status"] = f"kept: one of the {self.cfg.keep} shortest correct"
            limit = ranked[min(self.cfg.keep, len(ranked)) - 1]["n_output_tokens"]
            longer += [(row, f"{row['n_output_tokens']} tokens > kept {limit}") for row in ranked[self.cfg.keep :]]
        return longer

    def _first_correct(self, rows: list[Row]) -> dict[int, str]:
        """Row id -> reasoning cut after its first correct answer; rows without one get a status."""
        items = [
            (
                r[REFERENCE_COLUMN[r["domain"]]],
                r["reasoning"],
                {"domain": r["domain"], "keep_reflection": self.cfg.keep_reflection, "problem": r["problem"]},
            )
            for r in rows
        ]
        found = check_all(find_first_correct, items, timeout_s=self.cfg.timeout_s, workers=self.cfg.workers)
        out = {}
        for row, verdict in zip(rows, found, strict=True):
            if verdict.ok:
                out[id(row)] = row["reasoning"][: verdict.detail["cut"]].rstrip()
            else:
                row["shorten_status"] = f"kept: {verdict.reason}"
        return out

    def _rewrite(self, rows: list[Row]) -> dict[int, str]:
        """Row id -> the rewriter's shorter reasoning; rows whose rewrite is unusable get a status."""
        if not rows:
            return {}
        budgets = self.cfg.rewrite.budgets
        replies = self.rewriter.ask(
            [
                {
                    "problem": r["problem"],
                    "reasoning": r["reasoning"],
                    "budget": str(budgets.get(r.get("difficulty"), self.cfg.rewrite.default_budget)),
                }
                for r in rows
            ]
        )
        usable = [(r, text.strip()) for r, text in zip(rows, replies, strict=True) if text and text.strip()]
        for row, text in zip(rows, replies, strict=True):
            if text is None:
                row["shorten_status"] = "kept: rewrite prompt too long for the rewriter's context"
            elif not text.strip():
                row["shorten_status"] = "kept: empty rewrite"
        old = count_tokens(self.tokenizer, [r["reasoning"] for r, _ in usable])
        new = count_tokens(self.tokenizer, [text for _, text in usable])
        out = {}
        for (row, text), n_old, n_new in zip(usable, old, new, strict=True):
            if n_new >= n_old:
                row["shorten_status"] = f"kept: rewrite not shorter ({n_new} >= {n_old} reasoning tokens)"
            else:
                out[id(row)] = text
        return out

    def _reverify(self, rows: list[Row], proposals: dict[int, str]) -> dict[int, str]:
        """The proposals whose full trace still verifies; the others' rows say why not."""
        proposed = [r for r in rows if id(r) in proposals]
        accepted: dict[int, str] = {}
        for domain in sorted({r["domain"] for r in proposed}):
            group = [r for r in proposed if r["domain"] == domain]
            items = [
                (r[REFERENCE_COLUMN[domain]], _output(r, proposals[id(r)]), {"problem": r["problem"]}) for r in group
            ]
            timeout_s = self.verify_cfg.code_timeout_s if domain == "code" else self.cfg.timeout_s
            verdicts = check_all(
                get_checker(domain), items, timeout_s=timeout_s, workers=self.cfg.workers, clock=limit_clock(domain)
            )
            for row, verdict in zip(group, verdicts, strict=True):
                if verdict.ok:
                    accepted[id(row)] = proposals[id(row)]
                else:
                    row["shorten_status"] = f"kept: re-verification failed: {verdict.reason}"
        return accepted
