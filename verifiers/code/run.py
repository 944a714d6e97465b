"""Check model-written Python against a problem's tests, each run in a sandbox.

``check_problem(problem, completion) -> Verdict`` with reason one of: passed, wrong_answer, runtime_error,
time_limit, memory_limit, compile_error, no_code, truncated, sandbox_error (and no_tests).
Problem styles: stdin/stdout ``tests: [{input, output}]``; HumanEval (``entry_point`` + ``test``);
MBPP (``test_list``, ``test_setup_code``, ``test_imports``); a pytest file as ``tests`` (KodCode).
Runs go to pooled warm sandbox servers (``verifiers.sandbox.warm``) where they work (bwrap, root), a
forked process per test; ``COTDISTILL_SANDBOX_RUNNER=cold`` starts a sandbox per run.
Call-based candidates must return plain data (``verifiers/sandbox/guest/guard.py``).

Time: a limit is CPU seconds of the program's whole process tree (``verifiers.sandbox.limits``),
so a verdict is the same on a quiet and a busy machine. Stdin problems' ``time_limit_s`` are
judges' limits, calibrated for C++: they are multiplied by ``TIME_MULTIPLIER[language]``
(python: 5.0). Measured on the bundled ICPC set (82 accepted Python jury solutions, first 8 tests
each, CPU seconds in the sandbox): the slowest need 3.8x and 3.3x their jury limit, and one needs
4.9x over all tests; 5x passes them, while an infinite loop on a 1 s problem still ends after 5 CPU
seconds and a sleeper after the idle limit. Stdin problems with no recorded limit get 2 s
(``extract.STDIN_DEFAULT_TIME_LIMIT_S``: 10 CPU seconds for Python). One brute-force jury
solution of a problem with no recorded limit needs 17-20 CPU seconds on one test and fails.
Call-based limits are budgets for a whole Python test file already and are not multiplied. The detail records
``time_multiplier``, ``cpu_limit_s``, ``cpu_s`` (the most any test used) and, on
``time_limit``, ``time_limit_by``: ``cpu``, ``idle`` (asleep or blocked) or ``wall``.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Any

from verifiers.code.checker import judge_output
from verifiers.code.extract import Plan, extract_for, plan_for
from verifiers.sandbox import Limits, Mode, RunResult, resolve_mode, run_python, run_warm, warm_available
from verifiers.sandbox.guest import box_files
from verifiers.verdict import Verdict

TIME_MULTIPLIER = {"python": 5.0}  # judges' C++-calibrated limits -> CPU seconds for this language
_POOL: list[ThreadPoolExecutor] = []
_POOL_LOCK = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    """Threads are enough: each test is its own sandboxed process, the threads only wait."""
    with _POOL_LOCK:
        if not _POOL:
            _POOL.append(ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="sandbox"))
        return _POOL[0]


def check_problem(problem: dict, completion: str, *, mode: Mode = "auto") -> Verdict:
    """Verdict for the last python code block of ``completion`` on ``problem``'s tests."""
    code, reason, picked = extract_for(problem, completion or "")  # picked: which blocks were used
    if code is None:
        return Verdict(False, reason, {})
    verdict = check_code(problem, code, mode=mode)
    return Verdict(verdict.ok, verdict.reason, {**verdict.detail, **picked})


def check_code(problem: dict, code: str, *, mode: Mode = "auto", stop_on_fail: bool = True) -> Verdict:
    """Like ``check`` for bare code (reference solutions)."""
    start = time.monotonic()
    try:
        plan, outcomes = run_tests(problem, code, mode=mode, stop_on_fail=stop_on_fail)
    except Exception as exc:  # a checker bug is reported, never raised into the batch
        return Verdict(False, "sandbox_error", {"error": f"{type(exc).__name__}: {exc}"})
    if isinstance(plan, str):
        return Verdict(False, plan, {"isolation": resolve_mode(mode)})
    verdict = summarize(
        outcomes, len(plan.tests) if plan.style != "pytest" else None, mode, (time.monotonic() - start) * 1000
    )
    if plan.style == "stdin":
        verdict.detail["judge"] = plan.judge.describe()
    return verdict


def run_tests(problem: dict, code: str, *, mode: Mode = "auto", stop_on_fail: bool = True) -> tuple[Plan | str, dict]:
    """(plan or verdict reason, {test index: (reason, message)}); call-based runs add 'total'."""
    plan = plan_for(problem, code, mode)
    if isinstance(plan, str):
        return plan, {}
    if plan.style == "stdin":
        return plan, _run_stdin(plan, code, mode, stop_on_fail)
    return plan, _run_calls(plan, mode)


def summarize(outcomes: dict, total: int | None, mode: Mode, time_ms: float) -> Verdict:
    """Fold per-test outcomes {index: (reason, message)} into one verdict."""
    total = outcomes.pop("total", total) or 0
    clock = outcomes.pop("time", None) or {}
    failed = sorted(i for i, (r, _) in outcomes.items() if r != "passed")
    detail: dict[str, Any] = {
        "tests_passed": sum(r == "passed" for r, _ in outcomes.values()),
        "tests_total": total,
        "first_failed_test": failed[0] if failed else None,
        "isolation": resolve_mode(mode),
        "time_ms": round(time_ms, 1),
    }
    if clock:
        used = clock.get("tests", {})
        detail.update(
            time_multiplier=clock["multiplier"],
            cpu_limit_s=clock["limit_s"],
            cpu_s=round(max((c for c, _ in used.values()), default=0.0), 3),
        )
    if failed:
        reason, message = outcomes[failed[0]]
        if reason == "time_limit" and failed[0] in clock.get("tests", {}):
            detail["time_limit_by"] = clock["tests"][failed[0]][1]
        return Verdict(False, reason, {**detail, "error": message[-1000:]})
    if total == 0 or detail["tests_passed"] < total:
        return Verdict(False, "runtime_error", {**detail, "error": "tests did not run"})
    return Verdict(True, "passed", detail)


def _process_reason(res: RunResult, limit_s: float) -> str | None:
    """The verdict a process's end implies before looking at its output (None: it exited 0)."""
    if res.error:
        return "sandbox_error"
    if res.timed_out or res.returncode == -signal.SIGXCPU:  # SIGXCPU: the per-process safety net
        return "time_limit"
    if res.memory_error:
        return "memory_limit"
    if res.output_limit:
        return "wrong_answer"
    return "runtime_error" if res.returncode != 0 else None


def _multiplier(plan: Plan) -> float:
    return TIME_MULTIPLIER["python"] if plan.style == "stdin" else 1.0


def _limits(plan: Plan) -> Limits:
    return Limits(time_s=plan.time_limit_s * _multiplier(plan))


def _clock(plan: Plan, tests: dict) -> dict:
    """outcomes["time"]: the multiplier, the CPU limit, {test index: (CPU seconds, limit fired)}."""
    return {"multiplier": _multiplier(plan), "limit_s": round(_limits(plan).time_s, 3), "tests": tests}


def _time_note(res: RunResult) -> str:
    if res.limit == "cpu":
        return f"CPU time limit: {res.cpu_s:.2f} s used"
    if res.limit == "idle":
        return "asleep or blocked too long (idle limit)"
    return "wall-clock backstop reached" if res.limit == "wall" else ""


def _judge_one(plan: Plan, code: str, test: dict, mode: Mode) -> tuple[tuple[str, str], tuple[float, str | None]]:
    res = run_python({"main.py": code}, "main.py", str(test.get("input", "")).encode(), _limits(plan), mode)
    return _judge(plan, test, res), (res.cpu_s, res.limit)


def _judge(plan: Plan, test: dict, res: RunResult) -> tuple[str, str]:
    reason = _process_reason(res, plan.time_limit_s)
    if reason:
        why = "output limit exceeded" if res.output_limit else res.error or res.stderr_tail[-500:]
        return reason, (_time_note(res) or why) if reason == "time_limit" else why
    return judge_output(plan.judge, test, res.stdout)  # comparison under the spec's flags, or its checker


def _run_stdin(plan: Plan, code: str, mode: Mode, stop_on_fail: bool) -> dict:
    """Tests in parallel; after a failure, tests not yet started are cancelled (all earlier ones
    were started first, so the first failing index is still exact)."""
    if warm_available(mode):
        return _run_stdin_warm(plan, code, stop_on_fail)
    pool = _pool()
    futures = {pool.submit(_judge_one, plan, code, t, mode): i for i, t in enumerate(plan.tests)}
    outcomes: dict = {}
    times: dict = {}
    pending = set(futures)
    while pending:
        done, pending = wait(pending, return_when=FIRST_COMPLETED)
        for fut in done:
            outcomes[futures[fut]], times[futures[fut]] = fut.result()
        if stop_on_fail and any(r != "passed" for r, _ in outcomes.values()):
            for fut in pending:
                fut.cancel()
            pending = {f for f in pending if not f.cancelled()}
    return {**outcomes, "time": _clock(plan, times)}


WARM_CHUNK = 8  # tests per warm sandbox before a submission's tests are split across cores


def _run_stdin_warm(plan: Plan, code: str, stop_on_fail: bool) -> dict:
    """Contiguous chunks of tests, each in one warm sandbox, chunks in parallel. After a failure
    at index j a chunk stops before its next index >= j, so the first failing index stays exact."""
    n = len(plan.tests)
    k = max(1, min(os.cpu_count() or 1, n // WARM_CHUNK))
    bounds = [(c * n // k, (c + 1) * n // k) for c in range(k)]
    outcomes: dict = {}
    times: dict = {}
    lock = threading.Lock()
    first_fail = [n]

    def on_result(lo: int, i: int, res: RunResult) -> bool:
        verdict = _judge(plan, plan.tests[lo + i], res)
        with lock:
            outcomes[lo + i] = verdict
            times[lo + i] = (res.cpu_s, res.limit)
            if verdict[0] != "passed" and stop_on_fail:
                first_fail[0] = min(first_fail[0], lo + i)
            return lo + i + 1 < first_fail[0]

    def chunk(lo: int, hi: int) -> None:
        inputs = [str(t.get("input", "")).encode() for t in plan.tests[lo:hi]]
        run_warm(code, inputs, _limits(plan), lambda i, res: on_result(lo, i, res))

    if k == 1:
        chunk(0, n)
    else:
        for fut in [_pool().submit(chunk, lo, hi) for lo, hi in bounds]:
            fut.result()
    return {**outcomes, "time": _clock(plan, times)}


def _run_calls(plan: Plan, mode: Mode) -> dict:
    """All call-based tests in one sandboxed harness process; results come back as JSON lines.
    The harness's first line (written before the solution runs) names the nonce that every
    later line must carry; lines without it were written by the solution."""
    spec = {
        "prelude": plan.prelude,
        "test_prelude": plan.test_prelude,
        "entry_points": plan.entry_points,
        "tests": plan.tests,
        "pytest": plan.style == "pytest",
        "test_file": plan.test_file,
    }
    files = {**box_files("harness.py", "guard.py"), "spec.json": json.dumps(spec)}
    res = run_python(files, "harness.py", b"", _limits(plan), mode)
    outcomes: dict = {"time": _clock(plan, {})}
    status_reason = {"pass": "passed", "fail": "wrong_answer", "error": "runtime_error", "memory": "memory_limit"}
    nonce = None
    for line in res.channel.decode("utf-8", "replace").splitlines():
        try:
            msg = json.loads(line)
        except ValueError:
            continue  # the solution scribbled on our fd; whatever it wrote does not count
        if not isinstance(msg, dict) or not isinstance(msg.get("nonce"), str):
            continue
        if nonce is None:
            if msg.get("hello") != 1:
                break  # the harness did not speak first: trust nothing
            nonce = msg["nonce"]
            continue
        if msg["nonce"] != nonce:
            continue
        if "total" in msg and isinstance(msg["total"], int):
            outcomes["total"] = msg["total"]
        elif "prelude" in msg:
            reason = "memory_limit" if msg["prelude"] == "memory" else "runtime_error"
            return {0: (reason, str(msg.get("error", ""))), "time": _clock(plan, {0: (res.cpu_s, res.limit)})}
        elif isinstance(msg.get("i"), int) and msg.get("status") in status_reason and msg["i"] not in outcomes:
            outcomes[msg["i"]] = (status_reason[msg["status"]], str(msg.get("error", "")))
    total = outcomes.get("total", len(plan.tests))
    missing = [i for i in range(total) if i not in outcomes]
    if missing:  # the process ended before reporting: its end says why
        reason = _process_reason(res, plan.time_limit_s) or "runtime_error"
        why = (reason == "time_limit" and _time_note(res)) or res.error or res.stderr_tail[-500:]
        outcomes[missing[0]] = (reason, why or "exited before reporting")
    outcomes["time"]["tests"][missing[0] if missing else "harness"] = (res.cpu_s, res.limit)  # one process
    return outcomes


def validate_tests(problem: dict, *, mode: Mode = "auto") -> tuple[dict | None, dict]:
    """Keep only the tests the reference solution(s) pass: (problem with those tests or None, report).

    References: python ``solutions`` (stdin problems; a test survives if any of them passes it),
    ``prompt + canonical_solution`` (HumanEval), ``code`` (MBPP). The report is
    ``{kept, dropped: [{index, reason}]}``.
    """
    if isinstance(problem.get("tests"), list):
        golds = [
            s.get("code", "")
            for s in problem.get("solutions") or []
            if str(s.get("language", "")).lower().startswith("py")
        ]
        key = "tests"
    elif problem.get("entry_point") and problem.get("canonical_solution") is not None:
        golds, key = [problem.get("prompt", "") + problem["canonical_solution"]], None
    elif problem.get("test_list"):
        golds, key = [problem.get("code", "")], "test_list"
    else:
        golds, key = [problem.get("code") or problem.get("gold") or ""], None
    if not any(g.strip() for g in golds):
        return None, {"kept": 0, "dropped": [], "error": "no python reference solution"}
    runs = [run_tests(problem, g, mode=mode, stop_on_fail=False) for g in golds]
    plan = runs[0][0]
    if isinstance(plan, str):
        return None, {"kept": 0, "dropped": [], "error": f"reference solution: {plan}"}
    total = runs[0][1].get("total", len(plan.tests))
    passing = {i for _, out in runs for i in range(total) if out.get(i, ("",))[0] == "passed"}
    dropped = [{"index": i, "reason": runs[0][1].get(i, ("not_run",))[0]} for i in range(total) if i not in passing]
    report = {"kept": len(passing), "dropped": dropped}
    if not passing or (key is None and dropped):  # HumanEval's check() / a pytest file is all or nothing
        return None, {**report, "kept": 0}
    if key is None:
        return problem, report
    return {**problem, key: [t for i, t in enumerate(problem[key]) if i in passing]}, report
