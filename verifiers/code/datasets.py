"""Public code datasets in their own shapes -> the native test spec ``verifiers.code`` runs.

APPS/TACO ``input_output`` JSON (stdin tests, or ``fn_name`` calls) and LiveCodeBench
``public_test_cases``/``private_test_cases`` (plain JSON, or base64+zlib+pickle for the private
ones, read with an unpickler that refuses every class). A spec already in the native shape passes
through unchanged.
"""

from __future__ import annotations

import base64
import io
import json
import pickle
import zlib
from typing import Any

DATASET_KEYS = ("input_output", "fn_name", "public_test_cases", "private_test_cases", "metadata")
_EQ = "(lambda g, w: g == w or (isinstance(w, list) and len(w) == 1 and g == w[0]))"
_SHIM = (
    "if {fn!r} not in globals() and 'Solution' in globals():\n    globals()[{fn!r}] = lambda *a: Solution().{fn}(*a)\n"
)


class _StrOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:  # a str/list pickle needs no class: refuse all
        raise pickle.UnpicklingError(f"refused {module}.{name}")


def _json_field(value: Any) -> Any:
    """A JSON column as data: parsed text, or LiveCodeBench's compressed form, else unchanged."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        pass
    try:
        inner = _StrOnly(io.BytesIO(zlib.decompress(base64.b64decode(value)))).load()
        return json.loads(inner) if isinstance(inner, str) else inner
    except Exception:  # not that format either: the caller sees no tests
        return None


def _text(value: Any) -> str:
    return "\n".join(map(str, value)) if isinstance(value, list) else str(value)


def _call_tests(fn: str, cases: list[tuple[list, Any]], apps: bool = False) -> dict:
    """MBPP-style spec: one assert per (args, expected); the result goes through JSON (tuples -> lists).
    ``apps``: also accept the expected value unwrapped from a one-element list, as APPS's harness does."""
    call = "json.loads(json.dumps({fn}(*json.loads({args!r}))))"
    tests = [
        f"assert {_EQ if apps else '(lambda g, w: g == w)'}({call.format(fn=fn, args=json.dumps(args))}, "
        f"json.loads({json.dumps(want)!r}))"
        for args, want in cases
    ]
    return {"test_list": tests, "test_imports": ["import json"], "test_setup_code": _SHIM.format(fn=fn)}


def native_spec(problem: dict) -> dict:
    """``problem`` with dataset-format tests (APPS/TACO, LiveCodeBench) rewritten as native keys; a
    spec that already has native tests, or none of those keys, is returned unchanged.

    >>> native_spec({"input_output": '{"inputs": ["1 2\\n"], "outputs": ["3\\n"]}'})["tests"]
    [{'input': '1 2\\n', 'output': '3\\n'}]
    """
    if not any(k in problem for k in DATASET_KEYS):
        return problem
    spec = {k: v for k, v in problem.items() if k not in DATASET_KEYS}
    if any(problem.get(k) for k in ("tests", "test", "test_list")):
        return spec
    io_spec = _json_field(problem.get("input_output"))
    if isinstance(io_spec, dict) and isinstance(io_spec.get("inputs"), list):
        pairs = list(zip(io_spec["inputs"], io_spec.get("outputs") or [], strict=False))
        fn = io_spec.get("fn_name") or problem.get("fn_name")
        if fn:
            spec.update(_call_tests(str(fn), [(a if isinstance(a, list) else [a], w) for a, w in pairs], apps=True))
        else:
            spec["tests"] = [{"input": _text(a), "output": _text(w)} for a, w in pairs]
        solutions = _json_field(problem.get("solutions"))
        if isinstance(solutions, list) and solutions and all(isinstance(c, str) for c in solutions):
            spec["solutions"] = [{"language": "python", "code": c} for c in solutions]
        return spec
    cases = []
    for key in ("public_test_cases", "private_test_cases"):
        value = _json_field(problem.get(key))
        cases += [c for c in value or [] if isinstance(c, dict) and "input" in c] if isinstance(value, list) else []
    if not cases:
        return spec
    if all(c.get("testtype", "stdin") == "stdin" for c in cases):
        spec["tests"] = [{"input": str(c["input"]), "output": str(c.get("output", ""))} for c in cases]
        return spec
    meta = _json_field(problem.get("metadata"))
    fn = (meta or {}).get("func_name") if isinstance(meta, dict) else None
    if not fn:
        return spec  # functional tests without a function name cannot be called
    args = [[json.loads(line) for line in str(c["input"]).split("\n") if line.strip()] for c in cases]
    spec.update(
        _call_tests(str(fn), [(a, json.loads(str(c.get("output", "null")))) for a, c in zip(args, cases, strict=True)])
    )
    return spec
