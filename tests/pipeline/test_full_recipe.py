"""Every stage of a recipe in one `distill run` (fake teacher): grade, shorten, dedup and select
(two barriers in a row), export with preference pairs; the funnel adds up across stages."""

import json

import pyarrow.parquet as pq
from typer.testing import CliRunner

from helpers import base_recipe, write_recipe
from pipeline.cli import app

runner = CliRunner()


def test_all_stages_in_one_run(tmp_path, problems, fake_teacher):
    recipe = base_recipe(problems)
    recipe.update(
        grade={},
        shorten={"strategy": "first_correct"},
        dedup={},
        select={"target_size": 3},
        export={"include": "verified", "preference_pairs": True},
    )
    run_dir = tmp_path / "run"
    result = runner.invoke(app, ["run", str(write_recipe(tmp_path / "r.yaml", recipe)), "--run-dir", str(run_dir)])
    assert result.exit_code == 0, result.output
    status = json.loads(runner.invoke(app, ["status", str(run_dir), "--json"]).output)
    stages = status["stages"]
    assert list(stages) == ["ingest", "generate", "verify", "grade", "shorten", "dedup", "select", "export"]
    assert status["complete"] is True
    # 5 problems x 2 samples; the truncated problem's traces fail; sample 0 of the others is correct.
    assert stages["verify"]["rows_kept"] == 10
    assert stages["grade"]["counters"]["problems_medium"] == 4
    assert stages["grade"]["counters"]["problems_unsolved"] == 1
    # The truncated problem's two traces are identical: dedup keeps one.
    assert stages["dedup"]["rows_rejected"] == 1
    # 4 verified traces; the target keeps 3; the unsolved problem's remaining trace goes too.
    assert stages["select"]["drop_reasons"] == {"target_size": 1, "unsolved": 1}
    assert stages["export"]["rows_kept"] == 3
    for stage in ("grade", "shorten", "dedup", "select"):
        before = list(stages)[list(stages).index(stage) - 1]
        assert stages[stage]["rows_in"] == stages[before]["rows_kept"]
    pairs = [r for p in sorted((run_dir / "pairs").glob("part-*.parquet")) for r in pq.read_table(p).to_pylist()]
    assert len(pairs) == 3 and status["pairs"] == str(run_dir / "dataset" / "pairs")
    assert all(p["chosen"][0]["content"].endswith("$.") and "-12345" in p["rejected"][0]["content"] for p in pairs)
