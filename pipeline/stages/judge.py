"""Judge: a second opinion on a final answer, or the only one where there is no reference.

The judge runs on the same backends as generate (one engine per process, shared with the
teacher when it is the same model). ``reference`` mode: the reply must end in YES or NO.
``rubric`` mode (no reference needed): the reply ends with ``Score: N``, N from 0 to 10; the
score / 10 is ``judge_score`` and the judgement is ``score >= threshold``. ``reward`` mode: a
reward model's score of the conversation (problem, final answer) is ``judge_score``. Anything
else is no opinion (``None``), which the policies treat as "not confirmed".
"""

from __future__ import annotations

import re

from pipeline.backends import TeacherBackend
from pipeline.recipe import JudgeConfig
from pipeline.rows import Row
from pipeline.stages.ask import MAX_STORED_OUTPUT, ModelTask

_LAST_WORD = re.compile(r"\b(YES|NO)\b[\s\W]*$", re.IGNORECASE)
# The last "Score: N" (N an integer 0-10, optionally "/10"); a score like 7.5 or 12 is no score.
_SCORE = re.compile(r"score\W{0,5}(10|\d)(?:\s*/\s*10)?(?!\d|\.\d)", re.IGNORECASE)


def parse_judgement(text: str) -> bool | None:
    """YES -> True, NO -> False, from the reply's last word; otherwise None."""
    match = _LAST_WORD.search(text.strip())
    return None if match is None else match.group(1).upper() == "YES"


def parse_score(text: str) -> float | None:
    """The last 'Score: N' of a rubric reply as N / 10; None when there is none."""
    found = _SCORE.findall(text)
    return int(found[-1]) / 10 if found else None


class Judge(ModelTask):
    def __init__(self, cfg: JudgeConfig, seed: int, backend: TeacherBackend | None = None):
        required = ("problem", "answer") if cfg.reference_free else ("reference", "answer")
        super().__init__(cfg, seed, required=required, field="verify.judge.prompt_template", backend=backend)
        self.mode, self.threshold = cfg.mode, cfg.threshold

    def ask_rows(self, rows: list[Row]) -> list[tuple[bool | None, float | None, str]]:
        """One (judgement, score, reply) per row, all rows in one engine call; the score is None
        in reference mode."""
        if self.mode == "reward":
            return self._reward_rows(rows)
        replies = self.ask(
            [
                {"problem": r["problem"], "reference": r["reference_answer"] or "", "answer": r["answer_text"]}
                for r in rows
            ]
        )
        out: list[tuple[bool | None, float | None, str]] = []
        for text in replies:
            if text is None:
                out.append((None, None, "prompt_too_long"))
            elif self.mode == "rubric":
                score = parse_score(text)
                out.append((None if score is None else score >= self.threshold, score, text[:MAX_STORED_OUTPUT]))
            else:
                out.append((parse_judgement(text), None, text[:MAX_STORED_OUTPUT]))
        return out

    def _reward_rows(self, rows: list[Row]) -> list[tuple[bool | None, float | None, str]]:
        self.setup()
        conversations = [
            [{"role": "user", "content": r["problem"]}, {"role": "assistant", "content": r["answer_text"]}]
            for r in rows
        ]
        out: list[tuple[bool | None, float | None, str]] = []
        for score in self.backend.reward(conversations) if rows else []:
            if score is None:
                out.append((None, None, "prompt_too_long"))
            else:
                out.append((score >= self.threshold, score, f"reward model score {score:.4f}"))
        return out
