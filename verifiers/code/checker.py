"""Judge one stdin test's output: compare it (``compare``), or ask the problem's checker program.

Spec keys read here (kept through ingest, see ``pipeline.stages.ingest.TEST_SPEC_KEYS``):

- ``validation``: ``"default"`` (Kattis default output validator) or ``"custom"`` (a problem
  whose outputs need a checker: several answers can be right). Absent: the line judge.
- ``validator_flags``: Kattis default-validator flags (``float_tolerance 1e-4``,
  ``case_sensitive``, ``space_change_sensitive`` ...), string or list of words.
- ``checker``: ``{"code": <python source>, "language": "python", "convention": "kattis" |
  "testlib", "time_limit_s": 10}``. Jury code, but it runs in the sandbox like a submission:
  it reads the contestant's output, which the model wrote. ``kattis``: ``checker.py input
  answer feedback_dir/ < output``, exit 42 accepted, 43 wrong. ``testlib`` (Codeforces):
  ``checker.py input output answer``, exit 0 ok, 1 wrong, 2 presentation error (wrong).
  Any other exit, or a crash, is ``checker_error`` (the jury's problem, not the model's).

A ``custom`` problem without a checker cannot say "wrong": its ``tests[].output`` is one valid
answer among several. An output equal to it (under the flags' comparison) is ``passed``; any
other output that ran cleanly is ``no_checker`` (not verified, not wrong). Crashes, time and
memory limits stay real failures: they need no checker.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from verifiers.code.compare import Comparison, compare_output, kattis_comparison
from verifiers.sandbox import Limits, Mode, run_python

CHECKER_ACCEPT = {"kattis": 42, "testlib": 0}
CHECKER_WRONG = {"kattis": {43}, "testlib": {1, 2}}

# Runs the jury's checker.py with the argv its convention expects; the box files are read-only,
# the feedback directory goes in the (writable) working directory.
_LAUNCH = """\
import os, runpy, sys
here = os.path.dirname(os.path.abspath(sys.argv[0]))
os.makedirs("feedback", exist_ok=True)
if {testlib!r}:
    sys.argv = [here + "/checker.py", here + "/input", here + "/output", here + "/answer"]
else:
    sys.argv = [here + "/checker.py", here + "/input", here + "/answer", os.path.abspath("feedback") + "/"]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


@dataclass(frozen=True)
class Judge:
    """How to judge one stdin test: a comparison, and maybe a checker program."""

    comparison: Comparison = field(default_factory=Comparison)
    custom: bool = False  # outputs need a checker (``validation: custom``)
    checker: dict | None = None
    mode: Mode = "auto"

    def describe(self) -> str:
        if self.checker is not None:
            return f"checker program ({self.checker.get('convention', 'kattis')} convention)"
        if self.custom:
            return f"custom validation, no checker: only the reference answer counts ({self.comparison.describe()})"
        return self.comparison.describe()


def judge_for(problem: dict, mode: Mode = "auto") -> Judge:
    """The judge a spec asks for (module docstring); a malformed ``checker`` is kept and fails as checker_error."""
    flags, validation = problem.get("validator_flags"), str(problem.get("validation") or "").lower()
    kattis = bool(validation) or flags not in (None, "", [])
    comparison = kattis_comparison(flags) if kattis else Comparison()
    checker = problem.get("checker")
    if checker is not None and not isinstance(checker, dict):
        checker = {"code": checker} if isinstance(checker, str) else {"invalid": repr(checker)[:200]}
    return Judge(comparison, custom=validation.startswith("custom"), checker=checker, mode=mode)


def judge_output(judge: Judge, test: dict, output: bytes) -> tuple[str, str]:
    """(reason, why) for a program's ``output`` on ``test`` ({input, output}): passed, wrong_answer,
    no_checker or checker_error."""
    got, want = output.decode("utf-8", "replace"), str(test.get("output", ""))
    if judge.checker is not None:
        return run_checker(judge.checker, str(test.get("input", "")), want, got, judge.mode)
    ok, why = compare_output(got, want, comparison=judge.comparison)
    if ok:
        return "passed", ""
    if judge.custom:
        return "no_checker", f"custom validation, no checker; differs from the reference answer: {why}"
    return "wrong_answer", why


def run_checker(checker: dict, test_input: str, answer: str, output: str, mode: Mode = "auto") -> tuple[str, str]:
    """Run a checker program in the sandbox on one test: (passed | wrong_answer | checker_error, why)."""
    convention = str(checker.get("convention", "kattis")).lower()
    language = str(checker.get("language", "python")).lower()
    code = checker.get("code")
    if convention not in CHECKER_ACCEPT or not language.startswith("py") or not isinstance(code, str):
        return "checker_error", f"unsupported checker (language {language!r}, convention {convention!r}; python only)"
    files = {
        "main.py": _LAUNCH.format(testlib=convention == "testlib"),
        "checker.py": code,
        "input": test_input,
        "answer": answer,
        "output": output,
    }
    try:
        limit = float(checker.get("time_limit_s", 10.0))
    except (TypeError, ValueError):
        limit = 10.0
    stdin = output.encode() if convention == "kattis" else b""
    res = run_python(files, "main.py", stdin, Limits(time_s=limit), mode)
    said = (res.stdout.decode("utf-8", "replace") + res.stderr_tail).strip()[-300:]
    if res.error or res.timed_out:
        return "checker_error", res.error or "checker timed out"
    if res.returncode == CHECKER_ACCEPT[convention]:
        return "passed", ""
    if res.returncode in CHECKER_WRONG[convention]:
        return "wrong_answer", f"checker: {said}" if said else "checker: wrong answer"
    return "checker_error", f"checker exited {res.returncode}: {said}"
