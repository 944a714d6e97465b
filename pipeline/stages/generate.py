"""generate: n long-CoT samples per problem from each teacher, crash-safe.

Teacher by teacher (only one engine in memory at a time), every pending prompt of this
worker's parts goes into the engine at once; finished requests are checkpointed per part every
``generate.checkpoint_every`` requests, so a crash or walltime kill loses at most one chunk and
a restart asks only for the missing (problem_id, teacher) pairs. Prompts whose tokens plus
``max_tokens`` exceed the context are rejected rows (``prompt_too_long``), never a failed batch.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from pathlib import Path

from pipeline.backends import Request, TeacherBackend, check_engine_args, load_backend, release_backend
from pipeline.errors import UserError
from pipeline.prompts import load_template, render, template_hash
from pipeline.recipe import Recipe, TeacherConfig
from pipeline.rows import STAGE_COLUMNS, Row, reject
from pipeline.stage import PartContext, Stage
from verifiers.trace import split_plain, split_think


def request_seed(seed: int, problem_id: str) -> int:
    """Seed per problem, stable across reruns and shard layouts."""
    digest = hashlib.sha256(f"{seed}:{problem_id}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


class GenerateStage(Stage):
    name = "generate"
    input_stage = "ingest"  # the usual one; the registry sets the actual one
    adds_columns = STAGE_COLUMNS["generate"]
    unit_in, unit_out = "problems", "traces"
    data_parallel = True
    show_rows_progress = False  # one bar per teacher instead: requests, tokens/s, ETA

    @classmethod
    def devices_per_worker(cls, recipe: Recipe) -> int:
        return max(int(t.engine.get("tensor_parallel_size", 1)) for t in recipe.generate.teachers)

    def __init__(self, recipe: Recipe, backends: dict[str, TeacherBackend] | None = None):
        self.recipe = recipe
        self.cfg = recipe.generate
        self.template = load_template(self.cfg.prompt_template)
        self.sampling = {k: v for k, v in self.cfg.sampling.model_dump().items() if v is not None}
        self.backends = dict(backends or {})  # teacher name -> backend (tests inject fakes here)
        for teacher in self.cfg.teachers:
            if teacher.name not in self.backends and teacher.backend == "vllm":
                check_engine_args(teacher.engine)

    def _backend(self, teacher: TeacherConfig) -> TeacherBackend:
        if teacher.name not in self.backends:
            self.backends[teacher.name] = load_backend(teacher, self.recipe.seed)
        backend = self.backends[teacher.name]
        if self.cfg.sampling.max_tokens >= backend.max_model_len:
            raise UserError(
                f"generate.sampling.max_tokens ({self.cfg.sampling.max_tokens}) must be below "
                f"the max_model_len ({backend.max_model_len}) of teacher {teacher.name!r}"
            )
        return backend

    def before_parts(self, run_dir: Path, parts: list[PartContext]) -> None:
        self._generate([(part, self.read_input(run_dir, part.index)[0]) for part in parts])

    def process(self, rows: list[Row], stats: Counter, part: PartContext | None = None) -> tuple[list[Row], list[Row]]:
        self._generate([(part, rows)])  # a no-op when before_parts already did the work
        return self._merge(rows, part.checkpoint_rows(), stats)

    def _generate(self, jobs: list[tuple[PartContext, list[Row]]]) -> None:
        saved = {part.index: {(r["problem_id"], r["teacher"]) for r in part.checkpoint_rows()} for part, _ in jobs}
        for position, teacher in enumerate(self.cfg.teachers):
            todo = [
                (part, row)
                for part, rows in jobs
                for row in rows
                if (row["problem_id"], teacher.name) not in saved[part.index]
            ]
            if not todo:
                continue
            backend = self._backend(teacher)
            self._run_teacher(teacher, backend, todo)
            if position < len(self.cfg.teachers) - 1:  # make room for the next teacher's engine
                release_backend(backend)
                del self.backends[teacher.name]

    def _run_teacher(
        self, teacher: TeacherConfig, backend: TeacherBackend, todo: list[tuple[PartContext, Row]]
    ) -> None:
        conversations = [
            [{"role": "user", "content": render(self.template, problem=row["problem"])}] for _, row in todo
        ]
        budget = backend.max_model_len - self.cfg.sampling.max_tokens
        provenance = self._provenance(teacher, backend)
        buffers: dict[int, list[Row]] = defaultdict(list)
        parts = {part.index: part for part, _ in todo}
        accepted = []
        for (part, row), conv, n_tokens in zip(
            todo, conversations, backend.count_prompt_tokens(conversations, teacher.prefill), strict=True
        ):
            base = {
                **row,
                **provenance,
                "teacher": teacher.name,
                "prompt": conv[-1]["content"],
                "n_prompt_tokens": n_tokens,
            }
            if n_tokens > budget:
                buffers[part.index].append(
                    reject(
                        base,
                        "prompt_too_long",
                        f"{n_tokens} prompt tokens > {budget} "
                        f"(max_model_len {backend.max_model_len} - max_tokens {self.cfg.sampling.max_tokens})",
                    )
                )
            else:
                accepted.append((part, base, conv))
        requests = [
            Request(
                conv, self.cfg.n, request_seed(self.recipe.seed, base["problem_id"]), self.sampling, teacher.prefill
            )
            for _, base, conv in accepted
        ]
        since_flush = 0
        task = self.progress.task(f"generate {teacher.name}", len(requests), "requests", amount_unit="tokens")
        for index, result in backend.stream(requests):
            part, base, _ = accepted[index]
            if result.error:
                buffers[part.index].append(reject(base, "request_failed", result.error))
            else:
                buffers[part.index].extend(self._sample_rows(base, result, teacher))
            task.advance(1, amount=sum(s.n_output_tokens for s in result.samples))
            since_flush += 1
            if since_flush >= self.cfg.checkpoint_every:
                self._flush(buffers, parts)
                since_flush = 0
        self._flush(buffers, parts)
        task.finish()

    @staticmethod
    def _flush(buffers: dict[int, list[Row]], parts: dict[int, PartContext]) -> None:
        for index, rows in buffers.items():
            parts[index].save_checkpoint(rows)
        buffers.clear()

    def _provenance(self, teacher: TeacherConfig, backend: TeacherBackend) -> Row:
        params = {
            "sampling": self.sampling,
            "n": self.cfg.n,
            "seed": self.recipe.seed,
            "prefill": teacher.prefill,
            "prompt_template": self.cfg.prompt_template,
            "prompt_template_hash": template_hash(self.template),
            "reasoning_format": teacher.reasoning_format,
            "engine": backend.engine_version,
        }
        return {
            "teacher_model": backend.model_id,
            "teacher_revision": backend.revision,
            "generation_params": json.dumps(params, sort_keys=True),
        }

    @staticmethod
    def _sample_rows(base: Row, result, teacher: TeacherConfig) -> list[Row]:
        rows = []
        for idx, sample in enumerate(result.samples):
            text = (teacher.prefill or "") + sample.text
            if teacher.reasoning_format == "think":
                split = split_think(text)
            else:
                split = split_plain(text, finished=sample.finish_reason == "stop")
            rows.append(
                {
                    **base,
                    "sample_idx": idx,
                    "reasoning": split.reasoning,
                    "answer_text": split.answer,
                    "finish_reason": sample.finish_reason,
                    "think_closed": split.think_closed,
                    "n_prompt_tokens": result.n_prompt_tokens,
                    "n_output_tokens": sample.n_output_tokens,
                }
            )
        return rows

    def _merge(self, rows: list[Row], saved: list[Row], stats: Counter) -> tuple[list[Row], list[Row]]:
        """Checkpointed rows in input order, teacher order, sample order; first copy wins."""
        order = {r["problem_id"]: i for i, r in enumerate(rows)}
        teachers = {t.name: i for i, t in enumerate(self.cfg.teachers)}
        kept: dict[tuple, Row] = {}
        rejected: dict[tuple, Row] = {}
        for row in saved:
            if row.get("drop_reason"):
                rejected.setdefault((order[row["problem_id"]], teachers[row["teacher"]]), row)
            else:
                key = (order[row["problem_id"]], teachers[row["teacher"]], row["sample_idx"])
                kept.setdefault(key, {k: v for k, v in row.items() if k != "drop_reason"})
        out = [kept[k] for k in sorted(kept)]
        for row in out:
            stats["n_output_tokens"] += row["n_output_tokens"]
            stats[f"finish_{row['finish_reason']}"] += 1
            if row["sample_idx"] == 0:
                stats["n_prompt_tokens"] += row["n_prompt_tokens"]
        return out, [rejected[k] for k in sorted(rejected)]
