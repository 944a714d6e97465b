"""generate: n long-CoT samples per problem from the teacher, one engine call per part.

Prompts whose tokens plus ``max_tokens`` exceed the engine's context are rejected rows
(``prompt_too_long``) before the engine sees them, so one long problem never fails a batch.
"""

from __future__ import annotations

import hashlib
from collections import Counter

from pipeline.backends import Request, TeacherBackend, load_backend
from pipeline.errors import UserError
from pipeline.prompts import load_template, render
from pipeline.recipe import Recipe
from pipeline.rows import STAGE_COLUMNS
from pipeline.stage import Row, Stage, reject
from verifiers.trace import split_plain, split_think


def request_seed(seed: int, problem_id: str) -> int:
    """Seed per problem, stable across reruns and shard layouts."""
    digest = hashlib.sha256(f"{seed}:{problem_id}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


class GenerateStage(Stage):
    name = "generate"
    input_stage = "ingest"
    adds_columns = STAGE_COLUMNS["generate"]

    def __init__(self, recipe: Recipe, backend: TeacherBackend | None = None):
        self.recipe = recipe
        self.cfg = recipe.generate
        self.template = load_template(self.cfg.prompt_template)
        self.backend = backend
        self.sampling = {k: v for k, v in self.cfg.sampling.model_dump().items() if v is not None}

    def setup(self) -> None:
        if self.backend is None:
            self.backend = load_backend(self.cfg.teacher, self.cfg.engine, self.recipe.seed)
        if self.cfg.sampling.max_tokens >= self.backend.max_model_len:
            raise UserError(f"generate.sampling.max_tokens ({self.cfg.sampling.max_tokens}) must be below "
                            f"the teacher's max_model_len ({self.backend.max_model_len})")

    def process(self, rows: list[Row], stats: Counter) -> tuple[list[Row], list[Row]]:
        budget = self.backend.max_model_len - self.cfg.sampling.max_tokens
        conversations = [[{"role": "user", "content": render(self.template, problem=r["problem"])}] for r in rows]
        counts = self.backend.count_prompt_tokens(conversations)
        todo, rejected = [], []
        for row, conv, n_tokens in zip(rows, conversations, counts):
            if n_tokens > budget:
                rejected.append(reject({**row, "teacher": self.cfg.teacher, "prompt": conv[-1]["content"],
                                        "n_prompt_tokens": n_tokens}, "prompt_too_long",
                                       f"{n_tokens} prompt tokens > {budget} (max_model_len "
                                       f"{self.backend.max_model_len} - max_tokens {self.cfg.sampling.max_tokens})"))
            else:
                todo.append((row, conv))
        requests = [Request(conv, self.cfg.n, request_seed(self.recipe.seed, row["problem_id"]), self.sampling)
                    for row, conv in todo]
        kept = []
        for (row, conv), result in zip(todo, self.backend.chat(requests)):
            stats["n_prompt_tokens"] += result.n_prompt_tokens
            for idx, sample in enumerate(result.samples):
                if self.cfg.reasoning_format == "think":
                    split = split_think(sample.text)
                else:
                    split = split_plain(sample.text, finished=sample.finish_reason == "stop")
                stats["n_output_tokens"] += sample.n_output_tokens
                stats[f"finish_{sample.finish_reason}"] += 1
                kept.append({
                    **row,
                    "sample_idx": idx,
                    "teacher": self.cfg.teacher,
                    "prompt": conv[-1]["content"],
                    "reasoning": split.reasoning,
                    "answer_text": split.answer,
                    "finish_reason": sample.finish_reason,
                    "think_closed": split.think_closed,
                    "n_prompt_tokens": result.n_prompt_tokens,
                    "n_output_tokens": sample.n_output_tokens,
                })
        return kept, rejected
