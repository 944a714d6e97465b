"""Warm sandboxes (long-lived servers, a forked process per test): tests cannot see each other,
neither within a submission nor across submissions on one server, verdicts match the per-test
path, and the hostile corpus runs on the cold path too."""

import pytest

from helpers import assert_hostile_contained, hostile_cases
from verifiers.code import check_code
from verifiers.sandbox import warm, warm_available

pytestmark = pytest.mark.skipif(not warm_available("bwrap"), reason="warm runner needs bwrap and root")

# Test "0" leaves state behind in every way it can; test "1" reports what it finds of it.
LEAKY = r"""
import os, sys, time
k = sys.stdin.read().strip()
if k == "0":
    open("/tmp/state", "w").write("secret")
    try:
        open("/dev/shm/x", "w").write("secret")
    except OSError:
        pass  # not writable in bwrap's /dev
    import ctypes
    ctypes.CDLL(None).shmget(0, 4096, 0o1666)  # IPC_PRIVATE | IPC_CREAT: a SysV segment left behind
    os.makedirs("/tmp/d/e", exist_ok=True); os.chmod("/tmp/d", 0)
    if os.fork() == 0:
        os.setsid()
        time.sleep(30)
        os._exit(0)
    import csv  # an import only this test did
    end = time.process_time() + 0.7
    while time.process_time() < end: pass
    print("started")
else:
    end = time.process_time() + 0.7  # fresh CPU limit: 0.7 + 0.7 > 1 s
    while time.process_time() < end: pass
    mine = [p for p in os.listdir("/proc") if p.isdigit() and os.stat("/proc/" + p).st_uid == os.getuid()]
    seen = []
    import glob
    for path in ["/tmp/state", "/tmp/d", "/dev/shm/x", *glob.glob("/box/jobs/*/in/*"), *glob.glob("/out/*/*")]:
        try:
            open(path).read() if not path.endswith("d") else os.listdir(path)
            seen.append(path)
        except OSError:
            pass
    if os.path.exists("/box/jobs"):  # a server's box: only this job's dir is left
        seen += [d for d in os.listdir("/box/jobs") if not sys.argv[0].startswith("/box/jobs/" + d)]
    shm = open("/proc/sysvipc/shm").read().splitlines()[1:]
    clean = len(mine) == 1 and not seen and not shm and "csv" not in sys.modules
    print("clean" if clean else f"leak {mine} {seen} {shm}")
"""


def test_tests_do_not_see_each_other():
    problem = {"tests": [{"input": "0", "output": "started"}, {"input": "1", "output": "clean"}], "time_limit_s": 1}
    v = check_code(problem, LEAKY, mode="bwrap", stop_on_fail=False)
    assert v.ok, v


def test_submissions_on_one_server_do_not_see_each_other(monkeypatch):
    """Submission 0 leaves state behind; a later submission, on the same server, finds none."""
    monkeypatch.setattr(warm, "_IDLE", {})
    plant = {"tests": [{"input": "0", "output": "started"}], "time_limit_s": 1}
    look = {"tests": [{"input": "1", "output": "clean"}], "time_limit_s": 1}
    assert check_code(plant, LEAKY, mode="bwrap").ok
    (server,) = [s for servers in warm._IDLE.values() for s in servers]
    v = check_code(look, LEAKY, mode="bwrap")
    assert v.ok, v
    assert [s for servers in warm._IDLE.values() for s in servers] == [server]  # the same one


def test_stopped_job_leaves_the_server_usable():
    tests = [{"input": "0", "output": "x"}] + [{"input": "1", "output": "ok"}] * 5
    prog = "import time\nif input() == '1': time.sleep(0.05)\nprint('ok')"
    assert check_code({"tests": tests}, prog, mode="bwrap").reason == "wrong_answer"
    assert check_code({"tests": tests[1:]}, prog, mode="bwrap").ok


def test_first_failure_index_exact_across_chunks():
    tests = [{"input": str(i), "output": str(i)} for i in range(24)]
    prog = "n = int(input())\nif n in (13, 17): raise SystemExit(3)\nprint(n if n != 5 else -1)"
    v = check_code({"tests": tests}, prog, mode="bwrap")
    assert (v.reason, v.detail["first_failed_test"]) == ("wrong_answer", 5)
    v = check_code({"tests": tests}, prog.replace("n != 5", "True"), mode="bwrap", stop_on_fail=False)
    assert (v.reason, v.detail["first_failed_test"], v.detail["tests_passed"]) == ("runtime_error", 13, 22)


def test_time_limit_then_more_tests():
    tests = [{"input": "go", "output": "ok"}, {"input": "loop", "output": "ok"}, {"input": "go", "output": "ok"}]
    prog = "import sys\nif sys.stdin.read().strip() == 'loop':\n    while True: pass\nprint('ok')"
    v = check_code({"tests": tests, "time_limit_s": 0.5}, prog, mode="bwrap", stop_on_fail=False)
    assert (v.reason, v.detail["first_failed_test"], v.detail["tests_passed"]) == ("time_limit", 1, 2)


def test_main_module_behaves_like_python():
    prog = (
        "import sys, threading, atexit, dataclasses\n@dataclasses.dataclass\nclass P:\n    x: 'int'\n"
        "atexit.register(lambda: print('bye'))\n"
        "threading.Thread(target=lambda: print(__name__, P(1).x, sys.argv[0].endswith('main.py'))).start()\n"
    )
    v = check_code({"tests": [{"input": "", "output": "__main__ 1 True\nbye"}]}, prog, mode="bwrap")
    assert v.ok, v
    assert check_code({"tests": [{"input": "", "output": ""}]}, "exit(4)", mode="bwrap").reason == "runtime_error"


@pytest.mark.parametrize("path,mode", [c for c in hostile_cases() if c.values[1] == "bwrap"])
def test_hostile_program_is_contained_cold(path, mode, world, monkeypatch):
    monkeypatch.setenv("COTDISTILL_SANDBOX_RUNNER", "cold")
    assert_hostile_contained(path, mode, world)
