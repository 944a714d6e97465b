"""Guards the call-based harness sets up *inside* the sandbox before any solution code runs.

Stdlib only; shipped into the box as ``_guard.py``. Everything the guards rely on is captured
here at import time (before the solution can patch ``builtins``, ``json`` or ``os``), and held
in closures rather than module globals that ``import __main__`` would reach.

- ``plain_data_checker``: a returned value must be built-in data (exact types; no subclass, so
  no ``__eq__`` that always says True), recursively.
- ``install_audit_hook``: refuses the cheap ways to reach the harness's state or secret: ctypes
  (symbols, calls, raw memory), ``gc`` walks, trace/profile hooks (they hand out frames and can
  jump lines), generator frames (the reporter keeps its secret in one) and opening ``/proc``
  (``/proc/self/mem``, fd reopen). Installed C extensions load as usual (numpy, scipy: ``import
  numpy`` imports ctypes, whose import opens a library handle): ``ctypes.dlopen`` of the process
  itself, a system library or a file under the interpreter's read-only trees is allowed; handles
  are useless without ``ctypes.dlsym``, which stays refused.
- ``tamper_checker``: public attributes of the modules tests use, compared by identity, so
  ``math.isclose = lambda *a, **k: True`` in the solution fails the test instead of passing it.
"""

import builtins
import collections
import os
import sys

PRISTINE_BUILTINS = dict(builtins.__dict__)  # the test code's builtins: patches to the module miss it
_EXACT = (type(None), bool, int, float, complex, str, bytes, list, tuple, dict, set, frozenset, range, type(Ellipsis))
# Stdlib containers MBPP references return; their comparisons are stdlib code (Counter's class
# dict is in the tamper snapshot, the others are C types nobody can patch).
_STDLIB = (collections.Counter, collections.OrderedDict, collections.defaultdict, collections.deque)
_MAPPINGS = (dict, collections.Counter, collections.OrderedDict, collections.defaultdict)
TEST_MODULES = (
    "math",
    "cmath",
    "operator",
    "collections",
    "functools",
    "itertools",
    "heapq",
    "bisect",
    "re",
    "string",
    "json",
    "fractions",
    "decimal",
    "statistics",
    "copy",
    "random",
    "types",
    "numbers",
    "array",
)
# Imported before the snapshot so a test's lazy ``import math`` finds the pristine module; the
# heavier ones (random, decimal, statistics) are checked only if loaded by then (~10 ms saved).
EAGER = ("math", "cmath", "operator", "copy", "heapq", "bisect", "string", "re", "collections")


class NotPlainData(AssertionError):
    """A candidate returned something that is not plain data (counts as a failed test)."""


def plain_data_checker():
    """check(value) -> None or a message naming the first non-plain object found."""
    allowed = frozenset(_EXACT + _STDLIB)
    mappings = frozenset(_MAPPINGS)
    _type, _id, _len, _list = type, id, len, list

    def check(value):
        stack, seen, budget = [value], set(), 50_000_000
        while stack:
            v = stack.pop()
            t = _type(v)
            if t not in allowed:
                return f"{t.__module__}.{t.__qualname__}"[:120]
            if t in (list, tuple, set, frozenset, collections.deque) or t in mappings:
                if _id(v) in seen:
                    continue
                seen.add(_id(v))
                budget -= _len(v)
                if budget < 0:
                    return "a value too large to check"
                if t in mappings:
                    stack.extend(_list(dict.keys(v)))
                    stack.extend(_list(dict.values(v)))
                else:
                    stack.extend(v)
        return None

    return check


def wrap_candidate(fn, name: str, check, violations: list):
    """``fn`` whose every return value must be plain data; a violation is also remembered, so a
    test that catches the exception still fails."""

    def candidate(*args, **kwargs):
        result = fn(*args, **kwargs)
        bad = check(result)
        if bad is not None:
            msg = f"{name}() returned {bad}, not plain data (None, bool, int, float, str, list, dict, ...)"
            violations.append(msg)
            raise NotPlainData(msg)
        return result

    candidate.__name__ = getattr(fn, "__name__", name)
    candidate.__doc__ = getattr(fn, "__doc__", None)
    return candidate


def install_audit_hook() -> None:
    """Refuse introspection that reaches the harness (see the module docstring); cannot be undone."""
    blocked = frozenset(
        {
            "gc.get_referrers",
            "gc.get_referents",
            "gc.get_objects",
            "sys.settrace",
            "sys.setprofile",
            "sys._current_frames",
        }
    )
    frame_attrs = frozenset({"gi_frame", "cr_frame", "ag_frame"})
    fspath, abspath, realpath = os.fspath, os.path.abspath, os.path.realpath
    _str, _isinstance, _startswith = str, isinstance, str.startswith
    # Read-only inside the sandbox: libraries here are installed ones, not the solution's own.
    installed = tuple(
        {"/usr/", "/lib/", "/lib64/", sys.prefix + "/", sys.base_prefix + "/", sys.exec_prefix + "/"}
        | {p + "/" for p in sys.path if p.endswith("-packages")}
    )

    def loadable(name) -> bool:
        if name is None:
            return True  # the process itself (ctypes' own import does this)
        name = fspath(name)
        name = name.decode("utf-8", "replace") if not _isinstance(name, _str) else name
        return "/" not in name or _startswith(realpath(name), installed)  # bare names: system dirs

    def hook(event, args):
        if event == "ctypes.dlopen" and loadable(args[0]):
            return
        if event in blocked or _startswith(event, "ctypes."):
            raise RuntimeError(f"{event} is not allowed in the test harness")
        if event == "object.__getattr__" and args[1] in frame_attrs:
            raise RuntimeError(f"{args[1]} is not allowed in the test harness")
        if event in ("open", "os.chdir") and not _isinstance(args[0], int):
            path = fspath(args[0])
            path = path.decode("utf-8", "replace") if not _isinstance(path, _str) else path
            for p in (abspath(path), realpath(path)):
                if _startswith(p, ("/proc", "/dev/fd", "/dev/std")):
                    raise RuntimeError(f"opening {p} is not allowed in the test harness")

    sys.addaudithook(hook)


def tamper_checker(extra_modules=()):
    """changed() -> None or the first 'module.attr' whose public attribute was replaced since now."""
    for name in EAGER:
        __import__(name)
    names = set(TEST_MODULES) | set(extra_modules)
    snap = [
        ("builtins", PRISTINE_BUILTINS, dict(PRISTINE_BUILTINS)),
        ("collections.Counter", collections.Counter.__dict__, dict(collections.Counter.__dict__)),
    ]
    for name in sorted(names):
        mod = sys.modules.get(name)
        if mod is not None:
            d = mod.__dict__
            snap.append((name, d, {k: v for k, v in d.items() if not k.startswith("_")}))
    snap = tuple(snap)
    missing = object()

    def changed():
        for name, live, saved in snap:
            for k, v in saved.items():
                if live.get(k, missing) is not v:
                    return f"{name}.{k}"
        return None

    return changed
