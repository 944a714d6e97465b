"""Hostile programs (tests/hostile/*.py) end with a verdict in time and leave nothing behind."""

import os
import re
import socket
import time
import uuid
from pathlib import Path

import psutil
import pytest

from verifiers import code as code_verifier
from verifiers.sandbox import Limits, _slot_uid, bwrap_path, run_python

HOSTILE = Path(__file__).resolve().parent / "hostile"
SECRET = "hf_FAKE_secret_" + uuid.uuid4().hex
TIME_LIMIT = 1.0


def _header(path: Path, key: str) -> set[str]:
    m = re.search(rf"^# {key}: (.*)$", path.read_text(), re.M)
    return set(m.group(1).split()) if m else set()


def _cases() -> list:
    cases = []
    for path in sorted(HOSTILE.glob("*.py")):
        for mode in sorted(_header(path, "modes")):
            marks = [pytest.mark.skipif(mode == "bwrap" and not bwrap_path(), reason="bwrap unavailable")]
            cases.append(pytest.param(path, mode, id=f"{path.stem}-{mode}", marks=marks))
    return cases


def _leftovers(marker: str) -> list[psutil.Process]:
    """Processes of this test's sandboxes: our slot uids, or the marker on their command line."""
    uids = {_slot_uid(s) for s in range(64)}
    found = []
    for proc in psutil.process_iter(["uids", "cmdline"]):
        try:
            if proc.info["uids"].real in uids or marker in " ".join(proc.info["cmdline"] or []):
                found.append(proc)
        except (psutil.Error, TypeError):
            pass
    return found


@pytest.fixture
def world(tmp_path, monkeypatch):
    """A loopback listener, a canary file outside the sandbox, a fake secret in our environment."""
    monkeypatch.setenv("HF_TOKEN", SECRET)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.setblocking(False)
    canary = tmp_path / "canary.txt"
    canary.write_text("untouched")
    os.chmod(tmp_path, 0o777)  # even writable to anyone: isolation, not permissions, protects it
    os.chmod(canary, 0o666)
    yield listener, canary
    listener.close()


@pytest.mark.parametrize("path,mode", _cases())
def test_hostile_program_is_contained(path, mode, world):
    listener, canary = world
    marker = "cotdistill-hostile-" + uuid.uuid4().hex
    problem = {"tests": [{"input": f"{listener.getsockname()[1]}\n{canary}\n{marker}\n",
                          "output": "no program prints this"}], "time_limit_s": TIME_LIMIT}
    start = time.monotonic()
    verdict = code_verifier.check(problem, f"```python\n{path.read_text()}\n```", mode=mode)
    elapsed = time.monotonic() - start

    assert verdict.reason in _header(path, "expect"), verdict
    assert verdict.detail["isolation"] == mode
    assert elapsed <= TIME_LIMIT + 2
    assert SECRET not in repr(verdict)
    assert canary.read_text() == "untouched"
    with pytest.raises(BlockingIOError):
        listener.accept()
    deadline = time.monotonic() + 2  # a PID namespace is torn down right after its init dies
    while _leftovers(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _leftovers(marker) == []


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
    prog = ("import os, socket\nprint(os.getuid() != 0, open('/proc/self/status').read().split('CapEff:')[1].split()[0])\n"
            "print(socket.if_nameindex())")
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
