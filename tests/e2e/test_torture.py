"""Crash torture, small: SIGKILL `distill run` (real subprocesses, whole process group) 12 times at
seeded random moments spread over every stage of a traces recipe, resume after each kill, and
check the run dir after every kill and at the end (benchmarks/torture.py has the checks and the
long version). Assertions are on invariants only, never on time."""

import json
import shutil

import pyarrow.parquet as pq
import pytest

from helpers import load_benchmark

pytestmark = pytest.mark.slow

KILLS = 12


class Killed(BaseException):
    """Stands for SIGKILL inside one process: nothing after the raise runs, no handler catches it."""


torture = load_benchmark("torture")


@pytest.fixture(scope="module")
def tortured(tmp_path_factory) -> dict:
    work = tmp_path_factory.mktemp("torture")
    return {**torture.torture_traces(work, kills=KILLS, rounds=1, seed=0, baselines=1, small=True), "work": work}


def test_every_kill_leaves_a_run_dir_that_reads_and_resumes_to_the_same_dataset(tortured):
    tally = tortured["tally"]
    print("\n".join(torture.summary_lines(tortured)))
    assert tally.failures == []
    assert sum(tally.kills.values()) == KILLS
    assert tally.checks >= KILLS + 1 and tally.parquet_files > 0
    assert (tally.rows_lost, tally.rows_duplicated, tally.stats_mismatches, tally.parts_differing) == (0, 0, 0, 0)
    assert tally.final_equal and all(tally.final_equal)
    # Every kill after the run took its lock left that lock behind; each next run that got as far
    # took it over and said so in its log (the final run always gets that far).
    assert tally.stale_locks >= 1 and 1 <= tally.reclaimed <= tally.stale_locks
    last = sorted((tortured["work"]).glob("round-*"))[-1]
    assert not list((last / ".locks").glob("shard-*.json"))  # the finished run let go of its lock


def test_the_checks_catch_a_damaged_run_dir(tortured, tmp_path):
    """The checks can fail: a truncated part, a lost row, a duplicated row, a stray visible file."""
    stages, baseline = tortured["stages"], tortured["baseline"]
    run_dir = tmp_path / "damaged"
    shutil.copytree(tortured["work"] / "baseline-0", run_dir)
    verify = run_dir / "verify"
    (verify / "part-00000.parquet").write_bytes((verify / "part-00000.parquet").read_bytes()[:-100])
    shorten = pq.read_table(run_dir / "shorten" / "part-00001.parquet")
    pq.write_table(shorten.slice(1), run_dir / "shorten" / "part-00001.parquet")
    grade = run_dir / "grade"
    twice = pq.read_table(grade / "part-00002.parquet")
    pq.write_table(twice.slice(0, 1), grade / "rejected" / "part-00003.parquet")
    (run_dir / "export" / "part-00000.parquet.tmp").write_text("half a file")
    tally = torture.Tally()
    torture.check_run_dir(run_dir, stages, tally, baseline, baseline.volatile)
    found = "\n".join(tally.failures)
    assert "verify/part-00000.parquet does not open" in found
    assert "shorten/part-00001: stats say" in found and tally.rows_lost >= 1
    assert "grade: 1 rows whose key appears more than once" in found and tally.rows_duplicated == 1
    assert "export/part-00000.parquet.tmp: a stray visible file" in found


@pytest.mark.parametrize("dies_at_write", [1, 2])
def test_a_kill_between_the_dataset_files_is_repaired_by_the_rerun(tortured, tmp_path, monkeypatch, dies_at_write):
    """The dataset build ends with two small files (versions, manifest); a process that dies after
    either leaves a state the next run completes, with the version history of the folder it built."""
    from pipeline.dataset import build
    from pipeline.recipe import load_recipe

    run_dir = tmp_path / "run"
    shutil.copytree(tortured["work"] / "baseline-0", run_dir)  # copy2: export parts keep their mtimes
    for name in ("dataset.manifest.json", "dataset.versions.json"):
        (run_dir / name).unlink()
    recipe = load_recipe(tortured["recipe"])
    real_write, calls = build.write_json_atomic, []

    def dying_write(path, obj):
        calls.append(path)
        if len(calls) == dies_at_write:
            raise Killed
        real_write(path, obj)

    monkeypatch.setattr(build, "write_json_atomic", dying_write)
    with pytest.raises(Killed):
        build.build_dataset(run_dir, recipe)
    monkeypatch.setattr(build, "write_json_atomic", real_write)
    manifest = build.build_dataset(run_dir, recipe)  # the rerun
    versions = json.loads((run_dir / "dataset.versions.json").read_text())
    assert json.loads((run_dir / "dataset.manifest.json").read_text()) == manifest
    assert [v["version"] for v in versions] == [1]
    assert versions[-1]["source_fingerprint"] == manifest["source_fingerprint"]
    assert torture.dataset_hash(run_dir, tortured["baseline"].volatile) == tortured["baseline"].dataset_hash
