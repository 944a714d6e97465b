"""The Slurm executor without Slurm: scripts, the afterok chain, array ranges, dry-run output,
what a resubmission runs, and the status of failed tasks. sbatch and squeue are stand-in shell
scripts on PATH; tests/e2e/test_slurm.py runs a real cluster."""

import json
import os
import sys
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from helpers import REPO
from pipeline.cli import app
from pipeline.executors import Job, get_executor, plan_steps
from pipeline.executors.slurm_jobs import parse_array, read_jobs, remaining
from pipeline.executors.slurm_script import array_spec
from pipeline.recipe import load_recipe
from pipeline.stages import active_stages
from pipeline.status.slurm import print_slurm, slurm_status
from pipeline.store import StageStore

RECIPE = REPO / "recipes" / "byo_traces.yaml"  # steps: ingest..shorten (sharded), select (barrier), export
STEP1 = "step-1-ingest-verify-grade-shorten.sbatch"
runner = CliRunner()


@pytest.fixture
def fake_slurm(tmp_path, monkeypatch):
    """sbatch prints job ids 101, 102, ... and logs its arguments; squeue prints $FAKE_SQUEUE."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "sbatch-calls.txt"
    scripts = {
        "sbatch": f'echo "$*" >> {calls}\necho $((100 + $(wc -l < {calls})))',
        "squeue": 'cat "$FAKE_SQUEUE" 2>/dev/null; exit 0',
        "scancel": "exit 0",
    }
    for name, body in scripts.items():
        (bin_dir / name).write_text(f"#!/bin/bash\n{body}\n")
        (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_SQUEUE", str(tmp_path / "squeue.txt"))
    return calls


def _run(tmp_path, *args):
    return runner.invoke(app, ["run", str(RECIPE), "--run-dir", str(tmp_path / "run"), *args])


def _fake_progress(run_dir: Path, done: dict[str, list[int]], parts: int = 3) -> None:
    """A run dir whose ingest plan has ``parts`` parts and whose stages finished ``done``."""
    StageStore(run_dir, "ingest").write_plan({"num_parts": parts})
    for stage, indices in done.items():
        for i in indices:
            path = StageStore(run_dir, stage).done_path(i)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()


@pytest.mark.parametrize(
    ("indices", "spec"), [([0], "0"), ([0, 1], "0-1"), ([3, 0, 1, 2], "0-3"), ([1, 3, 4, 5, 9], "1,3-5,9")]
)
def test_array_ranges_round_trip(indices, spec):
    assert array_spec(indices) == spec
    assert parse_array(spec) == sorted(indices)


def test_squeue_ranges_with_a_throttle_parse():
    assert parse_array("[0-2%1]") == [0, 1, 2]


def test_each_step_gets_a_script_that_runs_its_stages_for_its_shard(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_SECRETvalue123456789")
    recipe = load_recipe(RECIPE)
    job = Job(recipe=recipe, recipe_path=RECIPE, run_dir=tmp_path / "run", stages=tuple(active_stages(recipe)))
    options = {"partition": "gpu", "gpus_per_task": 1, "time": "02:00:00", "sbatch_args": ["--mem=8G"]}
    outcome = get_executor("slurm", array=2, submit=False, **options).run(job)
    folder = tmp_path / "run" / "slurm"
    assert sorted(p.name for p in folder.iterdir()) == [STEP1, "step-2-select.sbatch", "step-3-export.sbatch"]
    first = (folder / STEP1).read_text().splitlines()
    python = f"{sys.executable} -m pipeline.cli run {RECIPE} --run-dir {tmp_path / 'run'}"
    assert first[:11] == [
        "#!/bin/bash",
        "#SBATCH --job-name=distill-byo_traces-ingest",
        f"#SBATCH --output={tmp_path}/run/logs/slurm-%A_%a.log",
        "#SBATCH --open-mode=append",
        "#SBATCH --requeue",
        "#SBATCH --export=ALL",
        "#SBATCH --ntasks=1",
        "#SBATCH --partition=gpu",
        "#SBATCH --gpus-per-task=1",
        "#SBATCH --time=02:00:00",
        "#SBATCH --mem=8G",
    ]
    assert first[-1] == (
        f'exec {python} --stages ingest,verify,grade,shorten --shard "$SLURM_ARRAY_TASK_ID" --num-shards 2'
    )
    select = (folder / "step-2-select.sbatch").read_text()
    assert "--gpus-per-task" not in select  # a barrier compares rows: no GPU held for it
    assert select.splitlines()[-1] == f"exec {python} --stages select --shard 0 --num-shards 1"
    assert (tmp_path / "run" / "logs").is_dir()  # sbatch does not create the --output folder
    for script in folder.iterdir():
        assert "hf_SECRET" not in script.read_text() and os.access(script, os.X_OK)
    assert outcome.job_ids == [] and "--dry-run" in outcome.text


def test_dry_run_prints_the_chain_and_submits_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no sbatch anywhere: a dry run does not need it
    result = _run(tmp_path, "--executor", "slurm", "--array", "2", "--dry-run")
    assert result.exit_code == 0, result.output
    folder = tmp_path / "run" / "slurm"
    assert result.output.splitlines() == [
        f"# not submitted (--dry-run); scripts in {folder}, submit with:",
        f"j1=$(sbatch --parsable --array=0-1 {folder / STEP1})",
        f"j2=$(sbatch --parsable --array=0 --dependency=afterok:$j1 --kill-on-invalid-dep=yes "
        f"{folder / 'step-2-select.sbatch'})",
        f"j3=$(sbatch --parsable --array=0-1 --dependency=afterok:$j2 --kill-on-invalid-dep=yes "
        f"{folder / 'step-3-export.sbatch'})",
    ]
    assert read_jobs(tmp_path / "run") is None


def test_submit_chains_the_steps_and_records_the_jobs(tmp_path, fake_slurm):
    result = _run(tmp_path, "--executor", "slurm", "--array", "2", "--time", "00:30:00")
    assert result.exit_code == 0, result.output
    folder = tmp_path / "run" / "slurm"
    assert fake_slurm.read_text().splitlines() == [
        f"--parsable --array=0-1 {folder / STEP1}",
        f"--parsable --array=0 --dependency=afterok:101 --kill-on-invalid-dep=yes {folder / 'step-2-select.sbatch'}",
        f"--parsable --array=0-1 --dependency=afterok:102 --kill-on-invalid-dep=yes {folder / 'step-3-export.sbatch'}",
    ]
    assert "job 101: step 1, ingest, verify, grade, shorten (tasks 0-1)" in result.output
    assert "job 102: step 2, select (once)" in result.output
    assert f"follow: squeue -j 101,102,103   or   distill status {tmp_path / 'run'}" in result.output
    record = read_jobs(tmp_path / "run")
    assert record["command"] == (
        f"distill run {RECIPE} --run-dir {tmp_path / 'run'} --executor slurm --array 2 --time 00:30:00"
    )
    assert [(j["job_id"], j["step"], j["array"]) for j in record["submissions"][0]["jobs"]] == [
        ("101", 1, "0-1"),
        ("102", 2, "0"),
        ("103", 3, "0-1"),
    ]
    assert (tmp_path / "run" / "recipe.yaml").is_file()  # pinned before any task starts


def test_a_second_submission_is_refused_while_jobs_run(tmp_path, fake_slurm):
    assert _run(tmp_path, "--executor", "slurm", "--array", "2").exit_code == 0
    Path(os.environ["FAKE_SQUEUE"]).write_text("101|0|COMPLETED|None\n101|1|RUNNING|None\n102|0|PENDING|Dependency\n")
    result = _run(tmp_path, "--executor", "slurm", "--array", "2")
    assert result.exit_code == 2
    assert "jobs 101, 102 of this run are still queued or running" in result.output
    assert len(fake_slurm.read_text().splitlines()) == 3  # nothing more was submitted


def test_what_is_left_is_the_unfinished_tasks_then_every_later_step(tmp_path):
    steps = plan_steps(["ingest", "verify", "grade", "shorten", "select", "export"])
    run_dir = tmp_path / "run"
    assert remaining(run_dir, steps, 2) == [(0, [0, 1]), (1, [0]), (2, [0, 1])]  # nothing ran yet
    # task 1 (part 1) died in verify; task 0 did parts 0 and 2
    _fake_progress(run_dir, {"ingest": [0, 1, 2], "verify": [0, 2], "grade": [0, 2], "shorten": [0, 2]})
    assert remaining(run_dir, steps, 2) == [(0, [1]), (1, [0]), (2, [0, 1])]
    assert remaining(run_dir, steps, 3) == [(0, [1]), (1, [0]), (2, [0, 1, 2])]  # another --array: same rule
    _fake_progress(run_dir, {s: [0, 1, 2] for s in ("verify", "grade", "shorten", "select")} | {"export": [1]})
    assert remaining(run_dir, steps, 2) == [(2, [0])]  # export parts 0 and 2 belong to task 0
    _fake_progress(run_dir, {"export": [0, 2]})
    assert remaining(run_dir, steps, 2) == [(2, [0])]  # every part done, but the dataset was never built
    (run_dir / "dataset.manifest.json").write_text("{}")
    assert remaining(run_dir, steps, 2) == []


def test_a_resubmission_runs_only_the_failed_task_and_the_steps_after_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    _fake_progress(tmp_path / "run", {"ingest": [0, 1, 2], "verify": [0, 2], "grade": [0, 2], "shorten": [0, 2]})
    result = _run(tmp_path, "--executor", "slurm", "--array", "2", "--dry-run")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1].startswith("j1=$(sbatch --parsable --array=1 ") and lines[1].endswith(f"{STEP1})")
    assert "--array=0 --dependency=afterok:$j1" in lines[2] and "--array=0-1 --dependency=afterok:$j2" in lines[3]


def test_status_names_failed_tasks_their_logs_and_the_resubmit_command(tmp_path, fake_slurm, monkeypatch):
    assert _run(tmp_path, "--executor", "slurm", "--array", "2").exit_code == 0
    run_dir = tmp_path / "run"
    Path(os.environ["FAKE_SQUEUE"]).write_text(
        "101|0|COMPLETED|None\n101|1|FAILED|NonZeroExitCode\n102|0|CANCELLED|DependencyNeverSatisfied\n"
        "103|0|CANCELLED|DependencyNeverSatisfied\n103|1|CANCELLED|DependencyNeverSatisfied\n"
    )
    command = f"distill run {RECIPE} --run-dir {run_dir} --executor slurm --array 2"
    shown = runner.invoke(app, ["status", str(run_dir), "--json"])
    assert json.loads(shown.output)["slurm"]["resubmit"] == command
    _fake_progress(run_dir, {"ingest": [0, 1, 2], "verify": [0, 2], "grade": [0, 2], "shorten": [0, 2]})
    (run_dir / "logs" / "slurm-101_1.log").write_text(
        "verify: 1/8\nError: IsADirectoryError: [Errno 21] Is a directory\nthe traceback is in run.log\n"
    )
    info = slurm_status(run_dir)
    assert info["failed"] == [
        {
            "job_id": "101",
            "task": 1,
            "state": "FAILED",
            "reason": "NonZeroExitCode",
            "stages": ["ingest", "verify", "grade", "shorten"],
            "log": str(run_dir / "logs" / "slurm-101_1.log"),
            "log_tail": ["Error: IsADirectoryError: [Errno 21] Is a directory", "the traceback is in run.log"],
        }
    ]
    assert info["resubmit"] == command and not info["active"]
    console = Console(record=True, width=100)
    print_slurm(console, info)
    text = console.export_text()
    assert "COMPLETED 1 · FAILED 1 (task 1: NonZeroExitCode)" in text
    assert "CANCELLED 2 (tasks 0-1: DependencyNeverSatisfied)" in text
    assert f"failed: job 101 task 1 (ingest, verify, grade, shorten): FAILED NonZeroExitCode; log: {run_dir}" in text
    assert "\n  | Error: IsADirectoryError: [Errno 21] Is a directory\n" in text
    assert "resubmit what is left (step 1 (ingest, verify, grade, shorten) tasks 1, then steps 2, 3):" in text
    assert f"\n  {command}\n" in text


def test_status_without_slurm_jobs_has_no_slurm_section(tmp_path):
    _fake_progress(tmp_path, {"ingest": [0]})
    assert slurm_status(tmp_path) is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--array", "2"], "--array applies to --executor slurm only (got --executor local)"),
        (["--dry-run"], "--dry-run applies to --executor slurm only"),
        (["--executor", "slurm"], "--executor slurm needs --array N"),
        (["--executor", "slurm", "--array", "2"], "sbatch not found on PATH"),
        (["--executor", "slurm", "--array", "2", "--dry-run", "--sbatch-arg=--comment=a b"], "cannot hold spaces"),
        (["--executor", "nomad"], "unknown executor 'nomad' (available: local, slurm"),
        (["--stages", "generate"], "stage 'generate' is off in this recipe"),
    ],
)
def test_bad_slurm_options_are_exit_2(tmp_path, monkeypatch, args, message):
    monkeypatch.setenv("PATH", str(tmp_path))  # no sbatch
    result = _run(tmp_path, *args)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
