"""Call-based test harness that runs *inside* the sandbox (stdlib only).

All tests of one submission run in this one process (one sandbox start instead of one per
assert); each result is a JSON line on the channel fd given as argv[1]. The first line, written
before any solution code runs, carries a fresh nonce; the parent trusts only lines with it.
Exiting early (``sys.exit(0)``, ``os._exit``) leaves results missing: counted as failed.

The test code runs in its own namespace with a copy of the builtins taken before the solution
ran; the solution's functions reach it through wrappers that demand plain-data return values
(no object whose ``==`` always says True). See ``guard.py`` (``_guard`` in the box) for the
audit hook and the tamper check.

Limits (same process, so not a security boundary against a determined solution): frames stay
reachable (``sys._getframe``/``f_back``, tracebacks; ``namedtuple`` and ``typing`` need them),
so a solution can read and mutate the harness's objects (the test namespace, its locals) and,
like any code, can write forged lines; only the nonce, kept in a suspended generator whose
frame the audit hook hides, makes those lines count, and nothing here stops it from changing
the arguments a test passes or the values a test compares against. Pytest-style files
(KodCode) get the clean builtins and the tamper check, not the return-value wrapper: their
solutions legitimately return objects of their own classes. The fix for all of it is running
the tests in a process the solution cannot touch, with values crossing as data.
"""

import json
import os
import sys
import traceback
import types

from _guard import (
    PRISTINE_BUILTINS,
    NotPlainData,
    install_audit_hook,
    plain_data_checker,
    tamper_checker,
    wrap_candidate,
)

# Captured before the solution runs: later patches to these modules do not reach the harness.
_write, _urandom, _exec, _compile, _isinstance, _type = os.write, os.urandom, exec, compile, isinstance, type
_AssertionError, _MemoryError, _format_exc = AssertionError, MemoryError, traceback.format_exception_only
try:
    from _json import encode_basestring_ascii as _esc  # C: no Python-level globals to patch
except ImportError:  # pragma: no cover - CPython always has _json
    from json.encoder import py_encode_basestring_ascii as _esc


def _reporter(fd: int):
    """A generator: its suspended frame is the only place the nonce lives (the audit hook refuses
    ``gi_frame``, ``gc`` refuses to walk to it)."""
    nonce = _urandom(16).hex()
    _write(fd, ('{"hello": 1, "nonce": "%s"}\n' % nonce).encode())
    while True:
        fields = yield
        parts = ['"nonce": "%s"' % nonce]
        for key, value in fields:
            parts.append('"%s": %s' % (key, value if _type(value) is int else _esc(str(value))))
        _write(fd, ("{" + ", ".join(parts) + "}\n").encode())


def _status(exc: BaseException) -> str:
    if _isinstance(exc, _AssertionError):
        return "fail"
    return "memory" if _isinstance(exc, _MemoryError) else "error"


def _short(exc: BaseException) -> str:
    try:  # str(exc) runs the solution's __str__: it may raise or lie, the text is only for humans
        return "".join(_format_exc(_type(exc), exc)).strip()[-300:]
    except BaseException:  # noqa: BLE001
        return _type(exc).__name__


def _pytest_cases(ns: dict) -> list:
    """Test functions of a pytest-style file (module-level ``test_*``, ``Test*`` classes), with
    ``@pytest.mark.parametrize`` expanded; fixtures are not supported."""
    funcs = [
        (name, obj)
        for name, obj in ns.items()
        if name.startswith("test") and callable(obj) and not isinstance(obj, type)
    ]
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
            rows = [
                tuple(v.values)
                if type(v).__name__ == "ParameterSet"  # pytest.param(...)
                else (v,)
                if len(names) == 1
                else tuple(v)
                for v in values
            ]
            calls = [{**c, **dict(zip(names, r, strict=False))} for c in calls for r in rows]
        cases += [(name, fn, kw) for kw in calls]
    return cases


def _global_names(code: types.CodeType) -> set:
    """Names a compiled test may look up, nested code (lambdas, comprehensions) included."""
    names = set(code.co_names)
    for const in code.co_consts:
        if _isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def _expose(sol: dict, tns: dict, tests: tuple, entry_points: list, violations: list) -> None:
    """Put the solution's names the tests use into the test namespace; callables get wrapped."""
    check = plain_data_checker()
    wanted = set().union(*map(_global_names, tests)) if tests else set()
    names = [n for n in wanted if n in sol and n not in tns and not n.startswith("__")]
    for name in [*entry_points, *names]:
        if name in sol:
            obj = sol[name]
            callable_ = callable(obj) and not _isinstance(obj, type)
            tns[name] = wrap_candidate(obj, name, check, violations) if callable_ else obj


def main() -> None:
    report = _reporter(int(sys.argv[1]))
    next(report)
    with open(os.path.join(os.path.dirname(__file__), "spec.json")) as f:
        spec = json.load(f)
    pytest_style = bool(spec.get("pytest"))
    tns = {"__name__": "__tests__", "__builtins__": PRISTINE_BUILTINS}
    try:  # trusted code first, in a world the solution has not touched yet
        for src in spec.get("test_prelude", []):
            _exec(_compile(src, "<tests>", "exec"), tns)
        tests = tuple(_compile(src, f"<test {i}>", "exec") for i, src in enumerate(spec["tests"]))
    except BaseException as exc:  # noqa: BLE001 - a broken test is reported like a failure
        report.send((("prelude", "error"), ("error", f"test setup: {_short(exc)}")))
        return
    changed = tamper_checker()
    module = types.ModuleType("solution")
    sol = module.__dict__
    sol["__builtins__"] = __builtins__
    sys.modules["__main__"] = sys.modules["solution"] = module  # hides the harness's own globals
    violations: list = []
    install_audit_hook()
    try:
        for src in spec["prelude"]:
            _exec(_compile(src, "<solution>", "exec"), sol)
        if changed():
            raise RuntimeError(f"the solution replaced {changed()}")
        if pytest_style:
            tns["__name__"] = "test_solution"
            _exec(_compile(spec["test_file"], "<tests>", "exec"), tns)
            cases = _pytest_cases(tns)
            report.send((("total", len(cases)),))
        else:
            _expose(sol, tns, tests, spec.get("entry_points", []), violations)
    except BaseException as exc:  # noqa: BLE001 - anything the solution raises is its failure
        report.send((("prelude", _status(exc)), ("error", _short(exc))))
        return
    runs = (
        [(f"{name}: ", lambda fn=fn, kw=kw: fn(**kw)) for name, fn, kw in cases]
        if pytest_style
        else [("", lambda code=code: _exec(code, tns)) for code in tests]
    )
    for i, (label, run) in enumerate(runs):
        seen = len(violations)
        try:
            run()
            if len(violations) > seen:
                raise NotPlainData(violations[seen])
            if changed():
                raise RuntimeError(f"the solution replaced {changed()}")
            report.send((("i", i), ("status", "pass")))
        except BaseException as exc:  # noqa: BLE001
            report.send((("i", i), ("status", _status(exc)), ("error", label + _short(exc))))
    report.send((("done", 1),))


if __name__ == "__main__":
    main()
