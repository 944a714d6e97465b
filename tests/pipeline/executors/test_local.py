"""The local executor: steps and barriers, externally launched shards, supervised --dp workers.

Generation uses FakeTeacherBackend (patched in where the generate stage loads its backend):
these tests are about orchestration; the real engine runs in tests/e2e/.
"""

import os
import sys
import time
from dataclasses import dataclass

import pytest

from helpers import base_recipe, write_recipe
from pipeline.errors import RunFailed
from pipeline.executors import Job, get_executor, plan_steps
from pipeline.executors.processes import WorkerSpec, supervise
from pipeline.progress import PlainProgress
from pipeline.recipe import parse_recipe
from pipeline.stages import active_stages
from pipeline.stages.dedup import DedupStage
from pipeline.status import run_status


@pytest.fixture
def dedup_calls(monkeypatch):
    calls = []
    original = DedupStage.before_parts

    def counting(self, run_dir, parts):
        calls.append(sorted(p.index for p in parts))
        return original(self, run_dir, parts)

    monkeypatch.setattr(DedupStage, "before_parts", counting)
    return calls


def _job(tmp_path, problems, sections=None, **kw):
    data = {**base_recipe(problems), "dedup": {}, **(sections or {})}
    path = write_recipe(tmp_path / "r.yaml", data)
    recipe = parse_recipe(data)
    return Job(recipe=recipe, recipe_path=path, run_dir=tmp_path / "run", stages=tuple(active_stages(recipe)), **kw)


def test_steps_put_each_barrier_on_its_own():
    steps = plan_steps(["ingest", "decontaminate", "generate", "verify", "dedup", "export"])
    assert [(s.stages, s.barrier) for s in steps] == [
        (("ingest", "decontaminate", "generate", "verify"), False),
        (("dedup",), True),
        (("export",), False),
    ]
    assert [s.barrier for s in plan_steps(["dedup"])] == [True]


def test_in_process_run_does_the_barrier_once_over_all_parts(tmp_path, problems, fake_teacher, dedup_calls):
    outcome = get_executor("local").run(_job(tmp_path, problems))
    assert outcome.waiting is None
    assert dedup_calls == [[0, 1, 2]]
    assert run_status(tmp_path / "run")["complete"]


def test_external_shards_wait_at_the_barrier_and_the_last_one_runs_it(tmp_path, problems, fake_teacher, dedup_calls):
    first = get_executor("local").run(_job(tmp_path, problems, shard=0, num_shards=2))
    assert "dedup runs once every shard has finished verify (2/3 verify parts done)" in first.waiting
    assert dedup_calls == [] and not run_status(tmp_path / "run")["complete"]
    last = get_executor("local").run(_job(tmp_path, problems, shard=1, num_shards=2))
    assert last.waiting is None and dedup_calls == [[0, 1, 2]]
    status = run_status(tmp_path / "run")
    assert status["complete"] and status["stages"]["export"]["parts_done"] == 3
    again = get_executor("local").run(_job(tmp_path, problems, shard=0, num_shards=2))  # a late rerun: nothing left
    assert again.waiting is None and dedup_calls == [[0, 1, 2]]


def _rows(run_dir, stage):
    import pyarrow.parquet as pq

    return [r for p in sorted((run_dir / stage).glob("part-*.parquet")) for r in pq.read_table(p).to_pylist()]


def test_external_shards_pass_two_barriers_in_a_row_like_one_process(tmp_path, problems, fake_teacher):
    # grade and shorten shard like verify; dedup and select are barriers, one after the other.
    sections = {"grade": {}, "shorten": {"strategy": "shortest_correct"}, "select": {"target_size": 2}}
    whole = tmp_path / "whole"
    whole.mkdir()
    get_executor("local").run(_job(whole, problems, sections))
    first = get_executor("local").run(_job(tmp_path, problems, sections, shard=0, num_shards=2))
    assert "dedup runs once every shard has finished shorten" in first.waiting
    assert get_executor("local").run(_job(tmp_path, problems, sections, shard=1, num_shards=2)).waiting is None
    assert run_status(tmp_path / "run")["complete"]
    assert _rows(tmp_path / "run", "export") == _rows(whole / "run", "export")
    assert len(_rows(tmp_path / "run", "export")) == 2


@dataclass(frozen=True)
class ScriptWorker(WorkerSpec):
    """A worker that runs a small script instead of pipeline stages (supervision logic only)."""

    script: str = ""

    def argv(self, progress_interval: float) -> list[str]:
        return [sys.executable, "-c", self.script, str(self.progress_file)]


def _worker(tmp_path, name, script):
    return ScriptWorker(
        name=name,
        recipe_path=tmp_path / "r.yaml",
        run_dir=tmp_path,
        stages=("generate",),
        shard=0,
        num_shards=2,
        log=tmp_path / "logs" / f"{name}.log",
        script=script,
    )


def test_one_failing_worker_stops_the_others_and_fails_the_run(tmp_path):
    pidfile = tmp_path / "sleeper.pid"
    sleeper = _worker(
        tmp_path, "sleeper", f"import os, time; open({str(pidfile)!r}, 'w').write(str(os.getpid())); time.sleep(300)"
    )
    crasher = _worker(
        tmp_path, "crasher", "import sys, time; time.sleep(1); print('engine died: CUDA error'); sys.exit(3)"
    )
    started = time.monotonic()
    with pytest.raises(RunFailed) as failure:
        supervise([sleeper, crasher], PlainProgress(open(os.devnull, "w")))
    message = str(failure.value)
    assert "crasher (shard 0 of 2) failed with exit code 3; stopped sleeper" in message
    assert "engine died: CUDA error" in message and str(crasher.log) in message
    assert time.monotonic() - started < 60  # the sleeper was stopped, not waited for
    pid = int(pidfile.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_worker_progress_lines_are_relayed(tmp_path):
    lines = []

    class Collect(PlainProgress):
        def note(self, text):
            lines.append(text)

    script = "import sys; f = open(sys.argv[1], 'a'); f.write('generate t: 3/4 requests\\n'); f.close()"
    supervise([_worker(tmp_path, "w0", script), _worker(tmp_path, "w1", script)], Collect(open(os.devnull, "w")))
    assert sorted(lines) == ["w0: generate t: 3/4 requests", "w1: generate t: 3/4 requests"]
