import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import base_recipe, write_recipe
from fakes import FakeTeacherBackend

TEACHER = "embedded:smollm2-135m"
from pipeline.cli import app
from pipeline.recipe import parse_recipe
from pipeline.stage import run_stage
from pipeline.stages.generate import GenerateStage
from pipeline.stages.ingest import IngestStage

runner = CliRunner()
DISTILL = str(Path(sys.executable).with_name("distill"))


@pytest.mark.parametrize("command", ["ingest", "generate", "verify", "export", "run", "status"])
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
    out = subprocess.run([DISTILL, "status", str(tmp_path / "run"), "--json"], capture_output=True, text=True,
                         env=env, check=True)
    data = json.loads(out.stdout)
    assert data["stages"]["generate"]["rows_kept"] == 10
    assert data["stages"]["generate"]["counters"]["finish_length"] == 2
    bad = subprocess.run([DISTILL, "run", str(tmp_path / "missing.yaml")], capture_output=True, text=True, env=env)
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and "recipe file not found" in bad.stderr


def test_check_math_and_choice_print_json_verdicts():
    out = runner.invoke(app, ["check", "math", "--gold", "\\frac{1}{2}", "--completion",
                              "<think>\nhalf\n</think>\n\nSo $\\boxed{0.5}$."])
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
