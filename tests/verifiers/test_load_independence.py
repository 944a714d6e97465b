"""Verdicts do not depend on load: the same submissions verified alone and under a CPU hog
(2 busy processes per core) get the same verdicts. Time limits are CPU time of the process
tree; sleepers end on the idle limit, which time spent waiting for a CPU does not feed."""

import pytest

from helpers import cpu_hogs
from verifiers.code import check_code
from verifiers.code.run import TIME_MULTIPLIER
from verifiers.sandbox import bwrap_path, warm_available

BURN = "import time\nend = time.process_time() + {s}\nwhile time.process_time() < end: pass\n"
FORK_BURN = (
    "import os, time\npids = []\nfor _ in range({n}):\n    pid = os.fork()\n    if pid == 0:\n"
    "        end = time.process_time() + {s}\n        while time.process_time() < end: pass\n        os._exit(0)\n"
    "    pids.append(pid)\nfor pid in pids: os.waitpid(pid, 0)\n"
)
ECHO = "print(int(input()) * 2)\n"
# (name, program, expected verdict); the problem's limit is set so Python gets 1 CPU second.
SUBMISSIONS = [
    ("half_the_cpu_limit", BURN.format(s=0.5) + ECHO, "passed"),
    ("children_share_the_limit", FORK_BURN.format(n=2, s=0.25) + ECHO, "passed"),
    ("children_over_the_limit", FORK_BURN.format(n=3, s=0.45) + ECHO, "time_limit"),
    ("infinite_loop", "while True: pass\n", "time_limit"),
    ("sleeper", "import time\ntime.sleep(60)\n", "time_limit"),
    ("wrong", "print(5)\n", "wrong_answer"),
]
PROBLEM = {"tests": [{"input": "2\n", "output": "4\n"}], "time_limit_s": 1.0 / TIME_MULTIPLIER["python"]}


def _verdicts() -> dict:
    out = {}
    for name, prog, _ in SUBMISSIONS:
        v = check_code(PROBLEM, prog)
        out[name] = (v.reason, v.detail.get("time_limit_by"))
    return out


@pytest.mark.skipif(not bwrap_path(), reason="bwrap unavailable")
@pytest.mark.parametrize("runner", ["warm", "cold"])
def test_same_verdicts_alone_and_under_a_cpu_hog(runner, monkeypatch, tmp_path):
    if runner == "warm" and not warm_available():
        pytest.skip("warm runner needs bwrap and root")
    monkeypatch.setenv("COTDISTILL_SANDBOX_RUNNER", runner)
    monkeypatch.setenv("COTDISTILL_SANDBOX_LOCKS", str(tmp_path / "locks"))  # not queued behind others
    quiet = _verdicts()
    assert {k: r for k, (r, _) in quiet.items()} == {name: want for name, _, want in SUBMISSIONS}
    assert (quiet["infinite_loop"][1], quiet["sleeper"][1]) == ("cpu", "idle")
    with cpu_hogs():
        busy = _verdicts()
    assert busy == quiet
