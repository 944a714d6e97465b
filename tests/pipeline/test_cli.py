import json
import os
import subprocess

import pytest
from typer.testing import CliRunner

from fakes import FakeTeacherBackend
from helpers import DISTILL, TEACHER, base_recipe, write_recipe
from pipeline.cli import app
from pipeline.recipe import parse_recipe
from pipeline.runner import run_stage
from pipeline.stages.generate import GenerateStage
from pipeline.stages.ingest import IngestStage

runner = CliRunner()


@pytest.mark.parametrize(
    "command", ["ingest", "generate", "verify", "grade", "shorten", "select", "export", "run", "status"]
)
def test_every_command_explains_itself(command):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert len(result.output.split()) > 20


def test_bad_recipe_is_one_line_and_exit_2(tmp_path, problems):
    recipe = base_recipe(problems)
    recipe["generate"]["n"] = -1
    result = runner.invoke(app, ["run", str(write_recipe(tmp_path / "r.yaml", recipe))])
    assert result.exit_code == 2
    assert "Error:" in result.output and "generate.n:" in result.output
    assert "Traceback" not in result.output


def test_ingest_command_records_bad_rows(tmp_path, problems):
    with problems.open("a") as f:
        f.write("{not json\n")
    recipe = write_recipe(tmp_path / "r.yaml", base_recipe(problems))
    result = runner.invoke(app, ["ingest", str(recipe), "--run-dir", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    status = runner.invoke(app, ["status", str(tmp_path / "run"), "--json"])
    data = json.loads(status.output)
    assert data["stages"]["ingest"]["rows_kept"] == 5
    assert data["stages"]["ingest"]["drop_reasons"] == {"invalid_json": 1}
    assert data["stages"]["generate"]["parts_done"] == 0 and data["stages"]["generate"]["parts_total"] == 3
    assert data["complete"] is False


def test_run_dir_refuses_a_different_recipe(tmp_path, problems):
    first = write_recipe(tmp_path / "a.yaml", base_recipe(problems))
    second = write_recipe(tmp_path / "b.yaml", {**base_recipe(problems), "seed": 7})
    assert runner.invoke(app, ["ingest", str(first), "--run-dir", str(tmp_path / "run")]).exit_code == 0
    result = runner.invoke(app, ["ingest", str(second), "--run-dir", str(tmp_path / "run")])
    assert result.exit_code == 2 and "different recipe" in result.output


def test_a_recipe_fixed_after_a_bad_input_error_reuses_the_run_dir(tmp_path, problems):
    broken = base_recipe(problems)
    broken["ingest"]["sources"][0]["columns"] = {"reference_answer": "answr"}
    result = runner.invoke(
        app, ["ingest", str(write_recipe(tmp_path / "r.yaml", broken)), "--run-dir", str(tmp_path / "run")]
    )
    assert result.exit_code == 2 and "columns.reference_answer: no column 'answr'" in result.output
    fixed = write_recipe(tmp_path / "r.yaml", base_recipe(problems))
    result = runner.invoke(app, ["ingest", str(fixed), "--run-dir", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output  # nothing was made with the broken one: no "different recipe"


def test_bad_shard_flag(tmp_path, problems):
    recipe = write_recipe(tmp_path / "r.yaml", base_recipe(problems))
    result = runner.invoke(app, ["ingest", str(recipe), "--shard", "3", "--num-shards", "2"])
    assert result.exit_code == 2 and "--shard" in result.output


def test_status_of_missing_dir(tmp_path):
    result = runner.invoke(app, ["status", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "run directory not found" in result.output


def test_real_subprocess_status_json_and_error_exit(tmp_path, problems):
    recipe = parse_recipe(base_recipe(problems))
    run_stage(IngestStage(recipe), tmp_path / "run")
    run_stage(GenerateStage(recipe, backends={TEACHER: FakeTeacherBackend({})}), tmp_path / "run")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    out = subprocess.run(
        [DISTILL, "status", str(tmp_path / "run"), "--json"], capture_output=True, text=True, env=env, check=True
    )
    data = json.loads(out.stdout)
    assert data["stages"]["generate"]["rows_kept"] == 10
    assert data["stages"]["generate"]["counters"]["finish_length"] == 2
    bad = subprocess.run([DISTILL, "run", str(tmp_path / "missing.yaml")], capture_output=True, text=True, env=env)
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and "recipe file not found" in bad.stderr


def test_check_math_and_choice_print_json_verdicts():
    out = runner.invoke(
        app,
        ["check", "math", "--gold", "\\frac{1}{2}", "--completion", "<think>\nhalf\n</think>\n\nSo $\\boxed{0.5}$."],
    )
    assert out.exit_code == 0, out.output
    verdict = json.loads(out.output)
    assert (verdict["ok"], verdict["reason"]) == (True, "correct")
    out = runner.invoke(app, ["check", "math", "--gold", "2", "--completion", "<think>\nnever closed"])
    assert json.loads(out.output)["reason"] == "truncated"
    out = runner.invoke(app, ["check", "choice", "--gold", "C"], input="<think>x</think>\nThe answer is (D).")
    assert json.loads(out.output)["reason"] == "wrong_answer"


def test_check_with_missing_files_is_exit_2(tmp_path):
    out = runner.invoke(app, ["check", "math", "--gold", "1", "--completion-file", str(tmp_path / "none.txt")])
    assert out.exit_code == 2 and "completion file not found" in out.output
    out = runner.invoke(app, ["check", "code", "--problem", str(tmp_path / "p.json"), "--completion", "x"])
    assert out.exit_code == 2 and "problem file not found" in out.output


def _recipe_file(tmp_path, problems, **extra):
    return str(write_recipe(tmp_path / "r.yaml", {**base_recipe(problems), **extra}))


def test_error_text_is_never_markup(tmp_path):
    path = tmp_path / "[bold]recipe:smile:.yaml"
    result = runner.invoke(app, ["run", str(path)])
    assert result.exit_code == 2
    assert f"Error: {path}: recipe file not found" in result.stderr


def test_validation_error_names_the_field_without_dumping_the_section(tmp_path, problems):
    recipe = base_recipe(problems)
    recipe["generate"]["teachers"] = [{"model": "embedded:smollm2-135m"}]
    result = runner.invoke(app, ["run", str(write_recipe(tmp_path / "r.yaml", recipe))])
    assert result.exit_code == 2
    line = result.stderr.strip()
    assert line.endswith("generate: give either 'teacher' (one model) or 'teachers' (a list), not both or neither")
    assert "prompt_template" not in line and "{" not in line


def test_single_stage_command_reports_that_stage_only(tmp_path, problems, monkeypatch):
    monkeypatch.setenv("COTDISTILL_PROGRESS_INTERVAL", "3600")
    run_dir = tmp_path / "run"
    result = runner.invoke(app, ["ingest", _recipe_file(tmp_path, problems), "--run-dir", str(run_dir)])
    assert result.exit_code == 0, result.output
    assert "5 records" in result.stdout and "5 problems" in result.stdout
    assert "generate" not in result.stdout and "not complete" not in result.stdout
    assert result.stderr.strip().startswith("ingest: 5/5 records · took ")  # the plain progress line
    logs = list((run_dir / "logs").glob("ingest-*.log"))
    assert len(logs) == 1 and "pipeline.runner: ingest part 2: 1 in, 1 kept" in logs[0].read_text()
    status = runner.invoke(app, ["status", str(run_dir)])
    assert "not complete" in status.stdout  # the run as a whole is not


def test_run_prints_an_honest_funnel(tmp_path, problems, fake_teacher, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # one table line per stage
    result = runner.invoke(app, ["run", _recipe_file(tmp_path, problems), "--run-dir", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    out = " ".join(result.stdout.split())
    assert "5 problems │ 10 traces" in out
    assert "verdicts: correct 4 · wrong_answer 4 · truncated 2" in out
    assert "10 traces │ 4 rows │ 6 not verified: wrong_answer 4 · truncated 2" in out
    assert "not complete" not in out


def test_skipped_optional_stage_fails_the_next_one_clearly(tmp_path, problems, fake_teacher):
    recipe = _recipe_file(tmp_path, problems, decontaminate={"benchmarks": ["math500"]})
    assert runner.invoke(app, ["ingest", recipe, "--run-dir", str(tmp_path / "run")]).exit_code == 0
    result = runner.invoke(app, ["generate", recipe, "--run-dir", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert (
        "generate: 3 of this worker's parts wait for decontaminate (0/3 decontaminate parts done); "
        "run `distill run` first"
    ) in result.stderr


def test_generate_before_ingest_says_so(tmp_path, problems, fake_teacher):
    result = runner.invoke(app, ["generate", _recipe_file(tmp_path, problems), "--run-dir", str(tmp_path / "run")])
    assert result.exit_code == 2 and "ingest has not run" in result.stderr


def test_validate_tests_flag_leaves_the_pinned_recipe_alone(tmp_path, problems, fake_teacher):
    recipe, run_dir = _recipe_file(tmp_path, problems), str(tmp_path / "run")
    for args in (["ingest"], ["generate"], ["verify", "--validate-tests"]):
        result = runner.invoke(app, [args[0], recipe, "--run-dir", run_dir, *args[1:]])
        assert result.exit_code == 0, result.output
    assert "validate_tests: false" in (tmp_path / "run" / "recipe.yaml").read_text()
    stats = json.loads((tmp_path / "run" / "verify" / "part-00000.stats.json").read_text())
    assert stats["overrides"] == {"verify.validate_tests": True}
    result = runner.invoke(app, ["run", recipe, "--run-dir", run_dir])
    assert result.exit_code == 0, result.output


def test_a_failed_run_is_exit_1_with_the_log_path(tmp_path, problems, monkeypatch):
    from pipeline.errors import RunFailed
    from pipeline.executors.local import LocalExecutor

    def crash(self, job):
        raise RunFailed("generate worker 1 (shard 1 of 2) failed with exit code 1")

    monkeypatch.setattr(LocalExecutor, "run", crash)
    result = runner.invoke(app, ["run", _recipe_file(tmp_path, problems), "--run-dir", str(tmp_path / "run")])
    assert result.exit_code == 1
    assert "Error: generate worker 1 (shard 1 of 2) failed with exit code 1" in result.stderr
    assert "run log: " + str(tmp_path / "run" / "logs") in result.stderr

    def bug(self, job):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(LocalExecutor, "run", bug)
    result = runner.invoke(app, ["run", _recipe_file(tmp_path, problems), "--run-dir", str(tmp_path / "run")])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "Error: ZeroDivisionError: division by zero" in result.stderr
    log = max((tmp_path / "run" / "logs").glob("run-*.log"), key=lambda p: p.stat().st_mtime)
    assert "Traceback" in log.read_text() and "ZeroDivisionError" in log.read_text()
