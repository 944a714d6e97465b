"""FakeTeacherBackend: a deterministic stand-in for vLLM, for pure runner/stage logic tests only.

It never claims a capability works: tests that need real generation use the embedded teacher
(see test_e2e_embedded.py). Its outputs are canned: sample 0 answers with the gold answer
(when the prompt carries one via ``answers``), others answer wrong, and a problem containing
'TRUNCATE' runs into max_tokens without closing the think block.
"""

from __future__ import annotations

from typing import Iterator

from pipeline.backends.base import Conversation, Request, RequestResult, Sample, collect


class FakeTeacherBackend:
    model_id = "fake-teacher"
    revision = "fake-revision"
    engine_version = "fake 0"

    def __init__(self, answers: dict[str, str], max_model_len: int = 4096, fail_after: int | None = None):
        self.answers = answers  # problem text -> answer sample 0 gives
        self._max_model_len = max_model_len
        self.calls: list[int] = []  # number of requests per stream() call
        self.fail_after = fail_after  # raise after yielding this many results (a crash mid-part)
        self.closed = False

    @property
    def max_model_len(self) -> int:
        return self._max_model_len

    def count_prompt_tokens(self, conversations: list[Conversation], prefill: str | None = None) -> list[int]:
        return [len(c[-1]["content"].split()) for c in conversations]

    def close(self) -> None:
        self.closed = True

    def chat(self, requests: list[Request]) -> list[RequestResult]:
        return collect(self, requests)

    def stream(self, requests: list[Request]) -> Iterator[tuple[int, RequestResult]]:
        self.calls.append(len(requests))
        for index, result in enumerate(self._answer(requests)):
            if self.fail_after is not None and index >= self.fail_after:
                raise RuntimeError("simulated crash")
            yield index, result

    def _answer(self, requests: list[Request]) -> list[RequestResult]:
        results = []
        for req in requests:
            text = req.conversation[-1]["content"]
            problem = next((p for p in self.answers if p in text), None)
            samples = []
            for i in range(req.n):
                if "TRUNCATE" in text:
                    samples.append(Sample("<think>\nstill thinking", "length", 50))
                    continue
                answer = self.answers.get(problem, "0") if i == 0 else "-12345"
                body = f"<think>\nreasoning {i}\n</think>\n\nThe answer is $\\boxed{{{answer}}}$."
                samples.append(Sample(body.removeprefix(req.prefill or ""), "stop", 20 + i))
            results.append(RequestResult(n_prompt_tokens=len(text.split()), samples=samples))
        return results


class FakeJudgeBackend(FakeTeacherBackend):
    """Canned judge: replies YES when the reference text appears in the student's answer."""

    def _answer(self, requests: list[Request]) -> list[RequestResult]:
        out = []
        for req in requests:
            text = req.conversation[-1]["content"]
            reference = text.split("Reference answer:\n", 1)[1].split("\n\n", 1)[0]
            answer = text.split("Student's final answer:\n", 1)[1].split("\n\nDoes the student", 1)[0]
            verdict = "YES" if reference.strip() in answer else "NO"
            out.append(RequestResult(len(text.split()), [Sample(f"Thinking...\n{verdict}", "stop", 3)]))
        return out


class FakeRubricJudgeBackend(FakeTeacherBackend):
    """Canned rubric judge for pure-logic tests: 'Score: 9' when the answer holds \\boxed{5}, else 'Score: 2'."""

    def _answer(self, requests: list[Request]) -> list[RequestResult]:
        out = []
        for req in requests:
            text = req.conversation[-1]["content"]
            answer = text.split("Student's final answer:\n", 1)[1]
            score = 9 if "\\boxed{5}" in answer else 2
            out.append(RequestResult(len(text.split()), [Sample(f"Looks fine.\nScore: {score}", "stop", 5)]))
        return out
