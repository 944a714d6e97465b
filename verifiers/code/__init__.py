"""Code verifier: the last Python block of an answer, run against the problem's tests in the sandbox.

``check(reference, completion)`` is the registry entry: ``reference`` is the test spec as a dict
or as JSON text (stdin/stdout ``tests``, HumanEval ``entry_point`` + ``test``, MBPP
``test_list``, or a pytest file; see ``verifiers.code.run``).
"""

from __future__ import annotations

import json
from typing import Any

from verifiers.code.extract import extract_code
from verifiers.code.run import check_code, check_problem, run_tests, summarize, validate_tests
from verifiers.sandbox import Mode
from verifiers.verdict import Verdict


def check(reference: dict[str, Any] | str, completion: str, *, mode: Mode = "auto", **_context: object) -> Verdict:
    """Verdict for the last python block of ``completion`` on the tests of ``reference``."""
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


__all__ = ["check", "check_code", "check_problem", "extract_code", "run_tests", "summarize", "validate_tests"]
