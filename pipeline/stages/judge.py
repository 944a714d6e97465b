"""LLM judge: a second opinion on whether a final answer matches the reference.

The judge runs on the same backends as generate (one engine per process, shared with the
teacher when it is the same model). Its reply must end in YES or NO; anything else is no
opinion (``None``), which the policies treat as "not confirmed".
"""

from __future__ import annotations

import re

from pipeline.backends import TeacherBackend
from pipeline.recipe import JudgeConfig
from pipeline.rows import Row
from pipeline.stages.ask import MAX_STORED_OUTPUT, ModelTask

_LAST_WORD = re.compile(r"\b(YES|NO)\b[\s\W]*$", re.IGNORECASE)


def parse_judgement(text: str) -> bool | None:
    """YES -> True, NO -> False, from the reply's last word; otherwise None."""
    match = _LAST_WORD.search(text.strip())
    return None if match is None else match.group(1).upper() == "YES"


class Judge(ModelTask):
    def __init__(self, cfg: JudgeConfig, seed: int, backend: TeacherBackend | None = None):
        super().__init__(
            cfg, seed, required=("reference", "answer"), field="verify.judge.prompt_template", backend=backend
        )

    def ask_rows(self, rows: list[Row]) -> list[tuple[bool | None, str]]:
        """One (judgement, reply) per row, all rows in one engine call."""
        replies = self.ask(
            [
                {"problem": r["problem"], "reference": r["reference_answer"] or "", "answer": r["answer_text"]}
                for r in rows
            ]
        )
        return [
            (None, "prompt_too_long") if text is None else (parse_judgement(text), text[:MAX_STORED_OUTPUT])
            for text in replies
        ]
