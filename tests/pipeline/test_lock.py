"""One writer per run dir: shards of one run side by side, anything else refused; stale locks
(dead process on this host, expired lease) reclaimed with a message."""

import json
import os
import subprocess
import sys
import time

import pytest
from typer.testing import CliRunner

from helpers import base_recipe, write_recipe
from pipeline.cli import app
from pipeline.errors import UserError
from pipeline.lock import ENV, LOCK_DIR, live_locks, run_lock

HOLD = """
import sys, time
from pipeline.lock import run_lock
with run_lock(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])):
    print("held", flush=True)
    time.sleep(60)
"""


@pytest.fixture
def holder(tmp_path):
    """Another process holding a lock of the run dir (shard, num_shards)."""
    procs = []

    def start(shard: int = 0, num_shards: int = 1):
        proc = subprocess.Popen(
            [sys.executable, "-c", HOLD, str(tmp_path / "run"), str(shard), str(num_shards)],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )
        assert proc.stdout.readline().strip() == "held"
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        proc.kill()
        proc.wait()


def test_a_second_writer_is_refused_and_shards_of_one_run_are_not(tmp_path, holder):
    run_dir = tmp_path / "run"
    proc = holder(0, 2)
    with run_lock(run_dir, 1, 2):  # the other shard of the same run
        assert len(live_locks(run_dir)) == 2
    for shard, num in ((0, 2), (0, 1), (1, 3)):
        with pytest.raises(UserError, match=f"is in use: shard 0 of 2 held by pid {proc.pid}"):
            with run_lock(run_dir, shard, num):
                pass


def test_a_dead_holder_is_reclaimed_with_a_message(tmp_path, holder, capsys):
    run_dir = tmp_path / "run"
    proc = holder()
    proc.kill()
    proc.wait()
    with run_lock(run_dir):
        assert [info["pid"] for info in live_locks(run_dir)] == [os.getpid()]
    assert "reclaimed a stale run-dir lock" in capsys.readouterr().out
    assert list((run_dir / LOCK_DIR).glob("*.json")) == []  # released at the end


def test_an_expired_lease_of_another_host_is_reclaimed(tmp_path):
    run_dir = tmp_path / "run"
    (run_dir / LOCK_DIR).mkdir(parents=True)
    info = {"pid": 1, "host": "node-that-died", "shard": 0, "num_shards": 1, "started": 0}
    info["lease_until"] = time.time() - 1
    (run_dir / LOCK_DIR / "shard-0-of-1.json").write_text(json.dumps(info))
    with run_lock(run_dir):
        pass
    info["lease_until"] = time.time() + 600  # a live lease on another host is respected
    (run_dir / LOCK_DIR / "shard-0-of-1.json").write_text(json.dumps(info))
    with pytest.raises(UserError, match="on node-that-died"):
        with run_lock(run_dir):
            pass


def test_nested_calls_and_child_processes_share_the_lock(tmp_path):
    run_dir = tmp_path / "run"
    with run_lock(run_dir, 0, 1):
        with run_lock(run_dir, 0, 4):  # a barrier run inside a shard's job, same process
            pass
        assert os.environ[ENV].startswith(str(run_dir.resolve()))
        child = subprocess.run(
            [sys.executable, "-c", HOLD.replace("time.sleep(60)", "pass"), str(run_dir), "3", "4"],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )
        assert child.returncode == 0, child.stderr  # a --dp worker of this run
    assert ENV not in os.environ


def test_distill_run_into_a_busy_run_dir_is_a_one_line_error(tmp_path, problems, holder, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write_recipe(tmp_path / "r.yaml", base_recipe(problems))
    (tmp_path / "run").mkdir()
    holder()
    result = CliRunner().invoke(app, ["ingest", str(path), "--run-dir", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert "is in use: shard 0 of 1 held by pid" in result.stderr
    assert not (tmp_path / "run" / "ingest").exists()
