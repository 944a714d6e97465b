"""LLM judge: a second opinion on whether a final answer matches the reference.

The judge runs on the same backends as generate (one engine per process, shared with the
teacher when it is the same model). Its reply must end in YES or NO; anything else is no
opinion (``None``), which the policies treat as "not confirmed".
"""

from __future__ import annotations

import re

from pipeline.backends import Request, TeacherBackend, load_backend
from pipeline.prompts import load_template, render
from pipeline.recipe import JudgeConfig
from pipeline.rows import Row

_LAST_WORD = re.compile(r"\b(YES|NO)\b[\s\W]*$", re.IGNORECASE)
MAX_STORED_OUTPUT = 2000


def parse_judgement(text: str) -> bool | None:
    """YES -> True, NO -> False, from the reply's last word; otherwise None."""
    match = _LAST_WORD.search(text.strip())
    return None if match is None else match.group(1).upper() == "YES"


class Judge:
    def __init__(self, cfg: JudgeConfig, seed: int, backend: TeacherBackend | None = None):
        self.cfg = cfg
        self.seed = seed
        self.template = load_template(
            cfg.prompt_template, required=("reference", "answer"), field="verify.judge.prompt_template"
        )
        self.backend = backend
        self.sampling = {k: v for k, v in cfg.sampling.model_dump().items() if v is not None}

    def setup(self) -> None:
        if self.backend is None:
            self.backend = load_backend(self.cfg.teacher, self.seed)

    def ask(self, rows: list[Row]) -> list[tuple[bool | None, str]]:
        """One (judgement, reply) per row, all rows in one engine call."""
        conversations = [
            [
                {
                    "role": "user",
                    "content": render(
                        self.template,
                        problem=r["problem"],
                        reference=r["reference_answer"] or "",
                        answer=r["answer_text"],
                    ),
                }
            ]
            for r in rows
        ]
        budget = self.backend.max_model_len - self.cfg.sampling.max_tokens
        fits = [n <= budget for n in self.backend.count_prompt_tokens(conversations)]
        requests = [Request(c, 1, self.seed, self.sampling) for c, ok in zip(conversations, fits, strict=True) if ok]
        replies = iter(self.backend.chat(requests))
        out: list[tuple[bool | None, str]] = []
        for ok in fits:
            if not ok:
                out.append((None, "prompt_too_long"))
                continue
            text = next(replies).samples[0].text
            out.append((parse_judgement(text), text[:MAX_STORED_OUTPUT]))
        return out
