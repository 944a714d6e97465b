"""Code verifier: the answer's Python code, run against the problem's tests in the sandbox.

``check(reference, completion)`` is the registry entry: ``reference`` is the test spec as a dict
or as JSON text (stdin/stdout ``tests``, HumanEval ``entry_point`` + ``test``, MBPP
``test_list``, or a pytest file; see ``verifiers.code.run``; APPS/TACO ``input_output`` and
LiveCodeBench test cases are read too: ``datasets.native_spec``). The code is the last Python
block, or the blocks that define what the tests need (``extract.extract_for``). Stdin outputs are
judged by ``checker``: ``validation`` / ``validator_flags`` (Kattis default validator) or a
``checker`` program; reasons add ``no_checker`` and ``checker_error``.
"""

from __future__ import annotations

import json
from typing import Any

from verifiers.code.checker import judge_for, run_checker
from verifiers.code.datasets import native_spec
from verifiers.code.extract import extract_code, extract_for
from verifiers.code.run import check_code, check_problem, run_tests, summarize, validate_tests
from verifiers.sandbox import Mode
from verifiers.verdict import Verdict


def check(reference: dict[str, Any] | str, completion: str, *, mode: Mode = "auto", **_context: object) -> Verdict:
    """Verdict for the python code of ``completion`` on the tests of ``reference``."""
    if isinstance(reference, str):
        try:
            reference = json.loads(reference)
        except json.JSONDecodeError as exc:
            return Verdict(False, "bad_reference", {"error": f"test spec is not JSON: {exc}"})
    if not isinstance(reference, dict):
        return Verdict(
            False, "bad_reference", {"error": f"test spec must be an object, got {type(reference).__name__}"}
        )
    return check_problem(reference, completion, mode=mode)


__all__ = [
    "check",
    "check_code",
    "check_problem",
    "extract_code",
    "extract_for",
    "judge_for",
    "native_spec",
    "run_checker",
    "run_tests",
    "summarize",
    "validate_tests",
]
