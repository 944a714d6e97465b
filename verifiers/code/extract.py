"""Find the code to run in a model output, and the tests to run it on, by problem style.

``extract_for(problem, completion)`` takes the last Python block, unless that block does not
define what the tests import or call (a trailing usage example, a second partial block): then
the blocks up to the last one that defines such a name, in order, deduplicated, each compiling on
its own. ``native_spec`` maps APPS/TACO and LiveCodeBench rows to the native spec.
"""

from __future__ import annotations

import ast
import builtins
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from verifiers.code.checker import Judge, judge_for
from verifiers.code.datasets import native_spec
from verifiers.sandbox import Mode
from verifiers.trace import THINK_CLOSE, THINK_OPEN

PY_LANGS = {"", "python", "python3", "py", "py3"}
# A stdin problem without a recorded limit (APPS, some ICPC packages): 2 s, C++-calibrated like a
# jury's (x the Python multiplier in run.py).
STDIN_DEFAULT_TIME_LIMIT_S = 2.0
_FENCE = re.compile(r"^[ \t]*```[ \t]*([\w+#.-]*)[^\n]*\n(.*?)^[ \t]*```[ \t]*$", re.M | re.S)
Style = Literal["stdin", "calls", "pytest"]


def extract_code(completion: str) -> tuple[str | None, str]:
    """(code, reason): the last ```python / plain fenced block of the answer part.

    >>> extract_code("<think>```python\\nx=1\\n```</think>Answer:\\n```python\\nprint(2)\\n```")
    ('print(2)\\n', '')

    A think block that opened but never closed -> (None, 'truncated'); no block -> 'no_code'.
    """
    blocks, reason = python_blocks(completion)
    if not blocks or not blocks[-1].strip():
        return None, reason or "no_code"
    return blocks[-1], ""


def python_blocks(completion: str) -> tuple[list[str], str]:
    """(the ```python / plain fenced blocks of the answer part, in order; 'truncated' or '')."""
    if THINK_CLOSE in completion:
        answer = completion.split(THINK_CLOSE, 1)[1]
    elif THINK_OPEN in completion:
        return [], "truncated"
    else:
        answer = completion  # instruct models: no think block at all
    return [m.group(2) for m in _FENCE.finditer(answer) if m.group(1).lower() in PY_LANGS], ""


def extract_for(problem: dict, completion: str) -> tuple[str | None, str, dict]:
    """(code, reason, detail) like ``extract_code``, but the last block must define the names the
    tests need; when it does not, the blocks that do (module docstring). ``detail["blocks"]``:
    indices of the Python blocks used, ``detail["blocks_total"]``.

    >>> answer = "```python\\ndef f():\\n    return 1\\n```\\nUsage:\\n```python\\nprint(f())\\n```"
    >>> extract_for({"test_list": ["assert f() == 1"]}, answer)[2]
    {'blocks': [0], 'blocks_total': 2, 'needed': ['f']}
    """
    code, reason = extract_code(completion)
    if code is None:
        return None, reason, {}
    blocks = python_blocks(completion)[0]
    detail: dict[str, Any] = {"blocks": [len(blocks) - 1], "blocks_total": len(blocks)}
    needed = needed_names(native_spec(problem))
    if not needed or needed <= defined_names(code) or len(blocks) < 2:
        return code, "", detail
    defines = [(i, b, defined_names(b)) for i, b in enumerate(blocks)]
    useful = [i for i, _, names in defines if names & needed]
    if not useful:
        return code, "", detail
    chosen, seen = [], set()
    for i, block, names in defines[: useful[-1] + 1]:
        if names is _UNPARSED or block.strip() in seen or not block.strip():
            continue  # a partial block would break the whole module; a repeated one adds nothing
        seen.add(block.strip())
        chosen.append(i)
    merged = "\n".join(blocks[i].rstrip("\n") for i in chosen) + "\n"
    if not needed & defined_names(merged) - defined_names(code):
        return code, "", detail  # the other blocks add nothing the tests need
    return merged, "", {"blocks": chosen, "blocks_total": len(blocks), "needed": sorted(needed)}


_UNPARSED: frozenset[str] = frozenset()
_BUILTINS = frozenset(dir(builtins))


def _parse(code: str) -> ast.Module | None:
    try:
        return ast.parse(code)
    except Exception:  # SyntaxError, ValueError (null bytes), RecursionError, MemoryError
        return None


def _bound(body: list[ast.stmt]) -> set[str]:
    """Names a module body binds at top level (inside if/try/with too); class methods count, so
    a LeetCode ``class Solution`` defines the function a test calls."""
    names: set[str] = set()
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names.add(node.name)
            names |= {n.name for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        elif isinstance(node, ast.Import) or (isinstance(node, ast.ImportFrom) and node.module != "solution"):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names if a.name != "*"}
        for attr in ("body", "orelse", "finalbody", "handlers"):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names |= _bound(getattr(node, attr, None) or [])
    return names


def defined_names(code: str) -> frozenset[str]:
    """Top-level names ``code`` defines (``_UNPARSED``, empty, when it does not parse)."""
    tree = _parse(code)
    return _UNPARSED if tree is None else frozenset(_bound(tree.body))


def _free_calls(code: str, also_bound: set[str] = frozenset()) -> set[str]:  # type: ignore[assignment]
    """Functions ``code`` calls by a bare name that it does not define and that are not builtins."""
    tree = _parse(code)
    if tree is None:
        return set()
    local = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    local |= {a.arg for n in ast.walk(tree) for a in getattr(getattr(n, "args", None), "args", []) or []}
    local |= {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))}
    local |= {
        (a.asname or a.name).split(".")[0]
        for n in ast.walk(tree)
        if isinstance(n, (ast.Import, ast.ImportFrom))
        and not (isinstance(n, ast.ImportFrom) and n.module == "solution")
        for a in n.names
    }
    calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    return calls - local - set(also_bound) - _BUILTINS


def needed_names(problem: dict) -> set[str]:
    """Names the tests take from the solution: ``from solution import X`` (and ``solution.X``) in
    a pytest file, HumanEval's entry point, functions MBPP-style asserts call."""
    tests = problem.get("tests")
    if isinstance(tests, str):
        tree = _parse(tests)
        if tree is None:
            return set()
        names, star, modules = set(), False, set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "solution":
                star |= any(a.name == "*" for a in node.names)
                names |= {a.name for a in node.names if a.name != "*"}
            elif isinstance(node, ast.Import):
                modules |= {a.asname or a.name for a in node.names if a.name == "solution"}
        names |= {
            n.attr
            for n in ast.walk(tree)
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id in modules
        }
        return names or (_free_calls(tests) if star else set())
    if problem.get("entry_point") and problem.get("test"):
        return {str(problem["entry_point"])}
    if problem.get("test_list"):
        setup = "\n".join([*(problem.get("test_imports") or []), problem.get("test_setup_code") or ""])
        bound = set(defined_names(setup))
        return set().union(*(_free_calls(str(t), bound) for t in problem["test_list"]))
    return set()


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
    tol: float = 1e-6  # the line judge's tolerance; ``judge`` says how stdin outputs are judged
    judge: Judge = field(default_factory=Judge)


def _float(value: Any, default: float) -> float:
    try:
        return float(value) if value not in (None, "", "None") else default
    except (TypeError, ValueError):
        return default


def _compiles(code: str) -> bool:
    try:
        compile(code, "<solution>", "exec")
        return True
    except Exception:  # SyntaxError, ValueError (null bytes), RecursionError, MemoryError
        return False


def plan_for(problem: dict, code: str, mode: Mode = "auto") -> Plan | str:
    """The test plan for ``code`` on ``problem``, or a verdict reason ('compile_error', 'no_tests').
    APPS/TACO and LiveCodeBench rows are read through ``native_spec``."""
    problem = native_spec(problem)
    tests = problem.get("tests")
    if isinstance(tests, list) and tests:
        if not _compiles(code):
            return "compile_error"
        judge = judge_for(problem, mode)
        limit = _float(problem.get("time_limit_s"), STDIN_DEFAULT_TIME_LIMIT_S)
        return Plan("stdin", tests=tests, time_limit_s=limit, judge=judge)
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


# Dataset formats -> the native spec. APPS/TACO: ``input_output`` JSON {inputs, outputs, fn_name?}
# (``solutions``: a JSON list of code strings). LiveCodeBench: ``public_test_cases`` /
# ``private_test_cases`` (JSON, the private ones also base64(zlib(pickle(json)))), a list of
# {input, output, testtype: stdin | functional}, ``metadata`` JSON with ``func_name``. Call-based
# tests become MBPP-style asserts; a LeetCode ``class Solution`` gets a module-level function
# of the same name (APPS's harness calls ``Solution().fn`` the same way).
