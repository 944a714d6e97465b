"""Hostile programs (hostile/*.py beside this file) end with a verdict in time and leave nothing behind."""

import os

import pytest

from helpers import HOSTILE, SECRET, assert_hostile_contained, hostile_cases
from verifiers.sandbox import Limits, bwrap_path, run_python


@pytest.mark.parametrize("path,mode", hostile_cases())
def test_hostile_program_is_contained(path, mode, world):
    assert_hostile_contained(path, mode, world)


def test_corpus_is_large_enough():
    assert len(list(HOSTILE.glob("*.py"))) >= 20


@pytest.mark.parametrize("mode", ["bwrap", "rlimits"])
def test_clean_environment_and_stdin(mode, monkeypatch):
    if mode == "bwrap" and not bwrap_path():
        pytest.skip("bwrap unavailable")
    monkeypatch.setenv("HF_TOKEN", SECRET)
    prog = "import os, sys\nprint(sys.stdin.read().upper(), sorted(os.environ))"
    res = run_python({"main.py": prog}, "main.py", b"abc", Limits(time_s=2), mode=mode)
    assert res.returncode == 0 and res.isolation == mode
    out = res.stdout.decode()
    assert out.startswith("ABC ") and "HF_TOKEN" not in out and SECRET not in out
    assert "'HOME'" in out and "'PATH'" in out


def test_bwrap_runs_as_unprivileged_uid_without_network():
    if not bwrap_path():
        pytest.skip("bwrap unavailable")
    prog = (
        "import os, socket\nprint(os.getuid() != 0, open('/proc/self/status').read().split('CapEff:')[1].split()[0])\n"
        "print(socket.if_nameindex())"
    )
    res = run_python({"main.py": prog}, "main.py", mode="bwrap")
    lines = res.stdout.decode().splitlines()
    assert res.returncode == 0, res.stderr_tail
    assert lines[0] == f"{os.geteuid() == 0} 0000000000000000"
    assert "eth" not in lines[1] and "ens" not in lines[1]  # only loopback (down) in the new netns


def test_timeout_kill_reports_time_limit_and_exit_codes():
    res = run_python({"main.py": "import sys; sys.exit(3)"}, "main.py")
    assert res.returncode == 3 and not res.timed_out
    res = run_python({"main.py": "import time; time.sleep(30)"}, "main.py", limits=Limits(time_s=0.5))
    assert res.timed_out
