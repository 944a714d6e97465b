"""The Ray executor on a local Ray instance (CPU only), on real R1 traces (no model): the same
rows as the local executor, a shard that fails on an unreadable part, and a rerun that resumes.

One Ray instance serves the module (starting one takes ~15 s on 2 cores); the executor uses a
Ray already running in its process and leaves it running. Starting and stopping its own instance
is covered in tests/pipeline/executors/test_ray_plan.py.
"""

import json
import logging
import os

import pyarrow.parquet as pq
import pytest
import ray

from helpers import REPO, write_jsonl, write_recipe
from pipeline.errors import RunFailed
from pipeline.executors import Job, get_executor
from pipeline.executors.ray_executor import RayExecutor
from pipeline.preflight import load_checked_recipe
from pipeline.progress import PlainProgress
from pipeline.stages import active_stages
from pipeline.status import run_status

pytestmark = pytest.mark.slow

# Math-verify on these two problems' traces runs close to verify's 10 s limit on 2 cores, so
# their verdicts depend on the machine's load; the other four problems' checks take < 3 s.
SLOW_PROBLEMS = ("A mother purchases", "If $x$ is a real number")


class Lines(PlainProgress):
    def __init__(self):
        super().__init__(open(os.devnull, "w"), interval=3600)
        self.lines = []

    def note(self, text):
        self.lines.append(text)


@pytest.fixture(scope="module")
def recipe_path(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ray")
    source = REPO / "data" / "traces" / "thought_anchors_math_sample.jsonl"
    rows = [json.loads(line) for line in source.read_text().splitlines()]
    traces = write_jsonl(folder / "traces.jsonl", [r for r in rows if not r["problem"].startswith(SLOW_PROBLEMS)])
    columns = {"problem": "problem", "reference_answer": "gold", "response": "completion", "teacher": "teacher"}
    recipe = {
        "name": "ray",
        "ingest": {"sources": [{"path": str(traces), "kind": "traces", "columns": columns}], "rows_per_part": 4},
        "grade": {},
        "shorten": {"strategy": "first_correct"},
        "dedup": {},  # two barriers in a row: dedup, then select
        "select": {},
        "export": {"include": "verified", "preference_pairs": True},
    }
    return write_recipe(folder / "recipe.yaml", recipe)


def _job(recipe_path, run_dir, stages=None, progress=None):
    recipe = load_checked_recipe(recipe_path)
    return Job(
        recipe=recipe,
        recipe_path=recipe_path,
        run_dir=run_dir,
        stages=tuple(stages or active_stages(recipe)),
        progress=progress or PlainProgress(open(os.devnull, "w")),
    )


@pytest.fixture(scope="module")
def local_run(recipe_path, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("local") / "run"
    get_executor("local").run(_job(recipe_path, run_dir))
    return run_dir


@pytest.fixture(scope="module")
def ray_instance():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
    yield
    ray.shutdown()


def _rows(run_dir, folder):
    return [r for p in sorted((run_dir / folder).glob("**/*.parquet")) for r in pq.read_table(p).to_pylist()]


def _same_dataset(run_dir, reference):
    for folder in ("export", "pairs", "dataset/data", "dataset/pairs"):
        assert _rows(run_dir, folder) == _rows(reference, folder), folder
    assert len(_rows(reference, "dataset/data")) == 8  # the 8 verified traces of the four problems


def _done(run_dir, stage):
    return {p.name: p.stat().st_mtime_ns for p in sorted((run_dir / stage).glob("part-*.done"))}


def test_ray_run_gives_the_local_runs_rows(recipe_path, local_run, ray_instance, tmp_path):
    run_dir = tmp_path / "run"
    progress = Lines()
    outcome = RayExecutor().run(_job(recipe_path, run_dir, progress=progress))
    assert outcome.waiting is None and run_status(run_dir)["complete"]
    _same_dataset(run_dir, local_run)
    # 4 parts on 2 CPUs: each sharded stage is two tasks, each barrier one.
    finished = [line for line in progress.lines if "took" in line]
    assert [line.split(" · ")[0] for line in finished] == [
        "ingest on Ray: 2/2 tasks",
        "verify on Ray: 2/2 tasks",
        "grade on Ray: 2/2 tasks",
        "shorten on Ray: 2/2 tasks",
        "dedup on Ray: 1/1 tasks",
        "select on Ray: 1/1 tasks",
        "export on Ray: 2/2 tasks",
    ]
    log = (run_dir / "logs" / "ray-verify-1-of-2.log").read_text()
    assert "verify part 1: 4 in, 4 kept" in log and "verify part 3: 4 in, 4 kept" in log
    assert not list((run_dir / ".locks").glob("*.json"))  # the run dir's lock was released
    assert ray.is_initialized()  # the caller's Ray stays up


def test_a_failing_shard_fails_the_run_and_a_rerun_resumes(recipe_path, local_run, ray_instance, tmp_path):
    run_dir = tmp_path / "run"
    RayExecutor().run(_job(recipe_path, run_dir, stages=("ingest", "verify")))
    # A part damaged on the shared storage: still marked done, no longer Parquet.
    (run_dir / "verify" / "part-00002.parquet").write_bytes(b"not parquet")
    kept = {stage: _done(run_dir, stage) for stage in ("ingest", "verify")}
    with pytest.raises(RunFailed) as failure:
        RayExecutor().run(_job(recipe_path, run_dir))
    message = str(failure.value)
    assert message.startswith("grade shard 0 of 2 failed: ArrowInvalid: Parquet magic bytes not found")
    assert "Finished parts are kept: rerun to resume." in message
    log = run_dir / "logs" / "ray-grade-0-of-2.log"
    assert f"Last lines of {log}:" in message
    assert "grade shard 0 of 2 failed" in log.read_text() and "Traceback" in log.read_text()
    assert "part-00002.done" not in _done(run_dir, "grade")
    assert {stage: _done(run_dir, stage) for stage in kept} == kept  # nothing finished was touched

    (run_dir / "verify" / "part-00002.done").unlink()  # redo the damaged part (and what follows from it)
    RayExecutor().run(_job(recipe_path, run_dir))
    assert _done(run_dir, "ingest") == kept["ingest"]
    redone = _done(run_dir, "verify")
    assert {k: v for k, v in redone.items() if k != "part-00002.done"} == {
        k: v for k, v in kept["verify"].items() if k != "part-00002.done"
    }
    assert redone["part-00002.done"] > kept["verify"]["part-00002.done"]
    _same_dataset(run_dir, local_run)
