"""Call-based test harness that runs *inside* the sandbox (stdlib only).

All tests of one submission run in this one process (one sandbox start instead of one per
assert); each result is written as a JSON line on the channel fd given as argv[1]. Exiting
early (``sys.exit(0)``, ``os._exit``) leaves results missing, which the parent counts as failed.
"""

import json
import os
import sys
import traceback
import types


def _reporter(fd: int, nonce: str):
    """Each line carries a nonce read from stdin before the solution runs, so naive forging
    (the solution writing lines on our fd) is discarded by the parent."""
    def report(**msg) -> None:
        os.write(fd, (json.dumps({**msg, "nonce": nonce}) + "\n").encode())
    return report


def _status(exc: BaseException) -> str:
    if isinstance(exc, AssertionError):
        return "fail"
    return "memory" if isinstance(exc, MemoryError) else "error"


def _short(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()[-300:]


def _pytest_cases(ns: dict) -> list:
    """Test functions of a pytest-style file (module-level ``test_*``, ``Test*`` classes), with
    ``@pytest.mark.parametrize`` expanded; fixtures are not supported."""
    funcs = [(name, obj) for name, obj in ns.items() if name.startswith("test") and callable(obj)
             and not isinstance(obj, type)]
    for cname, cls in list(ns.items()):
        if cname.startswith("Test") and isinstance(cls, type):
            funcs += [(f"{cname}.{n}", getattr(cls(), n)) for n in dir(cls) if n.startswith("test")]
    cases = []
    for name, fn in funcs:
        calls = [{}]
        for mark in reversed(getattr(fn, "pytestmark", [])):
            if getattr(mark, "name", "") != "parametrize":
                continue
            argnames, values = mark.args[0], mark.args[1]
            names = [a.strip() for a in argnames.split(",")] if isinstance(argnames, str) else list(argnames)
            rows = [tuple(v.values) if type(v).__name__ == "ParameterSet"  # pytest.param(...)
                    else (v,) if len(names) == 1 else tuple(v) for v in values]
            calls = [{**c, **dict(zip(names, r))} for c in calls for r in rows]
        cases += [(name, fn, kw) for kw in calls]
    return cases


def main() -> None:
    _report = _reporter(int(sys.argv[1]), sys.stdin.readline().strip())
    with open(os.path.join(os.path.dirname(__file__), "spec.json")) as f:
        spec = json.load(f)
    ns = {"__name__": "__solution__", "__builtins__": __builtins__}
    if spec.get("pytest"):
        module = types.ModuleType("solution")
        sys.modules["solution"] = module
        ns = module.__dict__
    try:
        for code in spec["prelude"]:
            exec(compile(code, "<solution>", "exec"), ns)
        if spec.get("pytest"):
            tns = {"__name__": "test_solution", "__builtins__": __builtins__}
            exec(compile(spec["test_file"], "<tests>", "exec"), tns)
            cases = _pytest_cases(tns)
            _report(total=len(cases))
    except BaseException as exc:  # noqa: BLE001 - anything the solution raises is its failure
        _report(prelude=_status(exc), error=_short(exc))
        return
    if spec.get("pytest"):
        for i, (name, fn, kw) in enumerate(cases):
            try:
                fn(**kw)
                _report(i=i, status="pass")
            except BaseException as exc:  # noqa: BLE001
                _report(i=i, status=_status(exc), error=f"{name}: {_short(exc)}")
    else:
        for i, src in enumerate(spec["tests"]):
            try:
                exec(compile(src, f"<test {i}>", "exec"), ns)
                _report(i=i, status="pass")
            except BaseException as exc:  # noqa: BLE001
                _report(i=i, status=_status(exc), error=_short(exc))
    _report(done=True)


if __name__ == "__main__":
    main()
