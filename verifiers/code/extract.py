"""Find the code to run in a model output, and the tests to run it on, by problem style."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from verifiers.trace import THINK_CLOSE, THINK_OPEN

PY_LANGS = {"", "python", "python3", "py", "py3"}
_FENCE = re.compile(r"^[ \t]*```[ \t]*([\w+#.-]*)[^\n]*\n(.*?)^[ \t]*```[ \t]*$", re.M | re.S)
Style = Literal["stdin", "calls", "pytest"]


def extract_code(completion: str) -> tuple[str | None, str]:
    """(code, reason): the last ```python / plain fenced block of the answer part.

    >>> extract_code("<think>```python\\nx=1\\n```</think>Answer:\\n```python\\nprint(2)\\n```")
    ('print(2)\\n', '')

    A think block that opened but never closed -> (None, 'truncated'); no block -> 'no_code'.
    """
    if THINK_CLOSE in completion:
        answer = completion.split(THINK_CLOSE, 1)[1]
    elif THINK_OPEN in completion:
        return None, "truncated"
    else:
        answer = completion  # instruct models: no think block at all
    blocks = [m.group(2) for m in _FENCE.finditer(answer) if m.group(1).lower() in PY_LANGS]
    if not blocks or not blocks[-1].strip():
        return None, "no_code"
    return blocks[-1], ""


@dataclass(frozen=True)
class Plan:
    """How to test one submission: stdin tests, or one harness run over call-based tests."""

    style: Style
    tests: list[Any] = field(default_factory=list)  # stdin: [{input, output}]; calls: [assert source]
    prelude: list[str] = field(default_factory=list)  # the solution's module, in order
    test_prelude: list[str] = field(default_factory=list)  # trusted: run first, in the tests' namespace
    entry_points: list[str] = field(default_factory=list)  # solution names the tests get (wrapped)
    test_file: str = ""  # pytest style only
    time_limit_s: float = 2.0
    tol: float = 1e-6


def _float(value: Any, default: float) -> float:
    try:
        return float(value) if value not in (None, "", "None") else default
    except (TypeError, ValueError):
        return default


def _tolerance(problem: dict) -> float:
    flags = str(problem.get("validator_flags") or "")
    m = re.search(r"float_tolerance\s+(\S+)", flags)
    return _float(m.group(1), 1e-6) if m else 1e-6


def _compiles(code: str) -> bool:
    try:
        compile(code, "<solution>", "exec")
        return True
    except Exception:  # SyntaxError, ValueError (null bytes), RecursionError, MemoryError
        return False


def plan_for(problem: dict, code: str) -> Plan | str:
    """The test plan for ``code`` on ``problem``, or a verdict reason ('compile_error', 'no_tests')."""
    tests = problem.get("tests")
    if isinstance(tests, list) and tests:
        if not _compiles(code):
            return "compile_error"
        return Plan(
            "stdin", tests=tests, time_limit_s=_float(problem.get("time_limit_s"), 2.0), tol=_tolerance(problem)
        )
    limit = _float(problem.get("time_limit_s"), 10.0)  # the whole batch of calls
    if isinstance(tests, str) and tests.strip():  # a pytest file doing `from solution import ...`
        if not _compiles(code):
            return "compile_error"
        return Plan("pytest", prelude=[code], test_file=tests, time_limit_s=limit)
    if problem.get("entry_point") and problem.get("test"):  # HumanEval: check(candidate)
        prompt = problem.get("prompt", "")
        if _compiles(code):
            prelude = [prompt, code] if _compiles(prompt) else [code]  # prompt first: its imports
        elif _compiles(prompt + code):  # a body-only completion continues the prompt
            prelude = [prompt + code]
        else:
            return "compile_error"
        # The prompt again on the test side: its helpers (poly, encode_cyclic) are trusted there.
        test_prelude = [prompt, problem["test"]] if _compiles(prompt) else [problem["test"]]
        return Plan(
            "calls",
            prelude=prelude,
            test_prelude=test_prelude,
            entry_points=[problem["entry_point"]],
            tests=[f"check({problem['entry_point']})"],
            time_limit_s=limit,
        )
    if problem.get("test_list"):  # MBPP: asserts; setup code may use classes defined in `code`
        if not _compiles(code):
            return "compile_error"
        imports = "\n".join(problem.get("test_imports") or [])
        prelude = [imports, code, problem.get("test_setup_code") or ""]
        return Plan(
            "calls", prelude=prelude, test_prelude=[imports], tests=list(problem["test_list"]), time_limit_s=limit
        )
    return "no_tests"
