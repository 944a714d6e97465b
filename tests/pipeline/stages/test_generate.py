"""generate: checkpoints and resume, several teachers, prefill, provenance (FakeTeacherBackend).

These test the stage's bookkeeping; the real engine path is in test_e2e_embedded.py and
benchmarks/generate_crash.py.
"""

import json
from collections import Counter

import pytest

from fakes import FakeTeacherBackend
from helpers import GOLD, TEACHER, base_recipe
from pipeline.recipe import parse_recipe
from pipeline.runner import run_stage
from pipeline.stages.generate import GenerateStage
from pipeline.stages.ingest import IngestStage
from pipeline.store import StageStore


def _rows(run_dir):
    store = StageStore(run_dir, "generate")
    return [r for i in store.done_parts() for r in store.read_part(i).to_pylist()]


def test_crash_mid_stream_resumes_at_the_missing_requests(problems, tmp_path):
    recipe = parse_recipe(base_recipe(problems, checkpoint_every=2))
    run_stage(IngestStage(recipe), tmp_path)
    crashing = FakeTeacherBackend(GOLD, fail_after=3)
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_stage(GenerateStage(recipe, backends={TEACHER: crashing}), tmp_path)
    store = StageStore(tmp_path, "generate")
    assert store.done_parts() == []
    saved = [r for i in range(3) for r in store.read_checkpoint(i)]
    assert len(saved) == 2 * 2  # one flush of 2 requests x n=2 samples; the third was lost

    resumed = FakeTeacherBackend(GOLD)
    report = run_stage(GenerateStage(recipe, backends={TEACHER: resumed}), tmp_path)
    assert resumed.calls == [3]  # only the requests not checkpointed
    assert report.parts_done == 3 and report.rows_out == 10
    keys = Counter((r["problem_id"], r["sample_idx"]) for r in _rows(tmp_path))
    assert set(keys.values()) == {1} and len(keys) == 10
    assert not any(store.checkpoint_dir(i).exists() for i in range(3))


def test_several_teachers_one_engine_at_a_time(problems, tmp_path):
    recipe = parse_recipe(
        base_recipe(
            problems,
            teacher=None,
            teachers=[
                {"model": "embedded:smollm2-135m", "label": "small"},
                {"model": "embedded:smollm2-135m", "label": "small-prefilled", "prefill": "<think>\n"},
            ],
        )
    )
    run_stage(IngestStage(recipe), tmp_path)
    first, second = FakeTeacherBackend(GOLD), FakeTeacherBackend(GOLD)
    report = run_stage(GenerateStage(recipe, backends={"small": first, "small-prefilled": second}), tmp_path)
    assert report.rows_out == 2 * 5 * 2
    assert first.closed and not second.closed  # released before the second teacher ran
    rows = _rows(tmp_path)
    assert Counter(r["teacher"] for r in rows) == {"small": 10, "small-prefilled": 10}
    prefilled = [r for r in rows if r["teacher"] == "small-prefilled" and r["problem_id"] == "p1"]
    assert prefilled[0]["reasoning"] == "reasoning 0" and prefilled[0]["think_closed"]
    assert json.loads(prefilled[0]["generation_params"])["prefill"] == "<think>\n"
    from pipeline.status import compare_teachers

    report = compare_teachers(tmp_path)
    assert set(report) == {"small", "small-prefilled"}
    assert report["small"]["traces"] == 10 and report["small"]["pass_rate"] is None  # not verified yet
    assert report["small"]["mean_output_tokens"] == 26.4 and report["small"]["truncation_rate"] == 0.2
    # rows come in input order, then teacher order, then sample order
    assert [(r["problem_id"], r["teacher"], r["sample_idx"]) for r in rows[:4]] == [
        ("p1", "small", 0),
        ("p1", "small", 1),
        ("p1", "small-prefilled", 0),
        ("p1", "small-prefilled", 1),
    ]


def test_provenance_on_every_row(problems, tmp_path):
    recipe = parse_recipe(base_recipe(problems))
    run_stage(IngestStage(recipe), tmp_path)
    run_stage(GenerateStage(recipe, backends={TEACHER: FakeTeacherBackend(GOLD)}), tmp_path)
    row = _rows(tmp_path)[0]
    assert (row["teacher_model"], row["teacher_revision"]) == ("fake-teacher", "fake-revision")
    params = json.loads(row["generation_params"])
    assert params["n"] == 2 and params["seed"] == 0 and params["engine"] == "fake 0"
    assert params["sampling"] == {"temperature": 0.7, "max_tokens": 64}
    assert len(params["prompt_template_hash"]) == 16


def test_teachers_need_unique_labels(problems):
    from pipeline.errors import UserError

    with pytest.raises(UserError, match="teacher labels must be unique"):
        parse_recipe(base_recipe(problems, teacher=None, teachers=[{"model": "embedded:smollm2-135m"}] * 2))
