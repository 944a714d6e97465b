"""Stage runner logic (resume, sharding, force, invalidation, accounting) on FakeTeacherBackend.

Real generation is covered by test_e2e_embedded.py; here only the orchestration is under test.
"""

import pytest

from fakes import FakeTeacherBackend
from helpers import GOLD, REPO, TEACHER, base_recipe, write_jsonl
from pipeline.errors import UserError
from pipeline.recipe import parse_recipe
from pipeline.runner import run_stage
from pipeline.stages.export import ExportStage
from pipeline.stages.generate import GenerateStage
from pipeline.stages.ingest import IngestStage
from pipeline.stages.verify import VerifyStage
from pipeline.status import run_status
from pipeline.store import StageStore


def _pipeline(recipe, backend, run_dir, later=("verify", "export"), **kw):
    stages = [
        IngestStage(recipe),
        GenerateStage(recipe, backends={TEACHER: backend}),
        VerifyStage(recipe),
        ExportStage(recipe),
    ]
    order = [s.name for s in stages]
    return [run_stage(s, run_dir, invalidates=tuple(order[order.index(s.name) + 1 :]), **kw) for s in stages]


@pytest.fixture
def recipe(problems):
    return parse_recipe(base_recipe(problems))


def _mtimes(run_dir):
    return {p: p.stat().st_mtime_ns for p in run_dir.rglob("*") if p.is_file()}


def test_full_funnel_accounting(recipe, tmp_path):
    backend = FakeTeacherBackend(GOLD)
    reports = _pipeline(recipe, backend, tmp_path)
    ingest, generate, verify, export = reports
    assert (ingest.rows_in, ingest.rows_out, ingest.parts_done) == (5, 5, 3)
    assert generate.rows_out == 2 * 5 and backend.calls == [5]  # one engine queue for all pending parts
    assert verify.rows_out == verify.rows_in == 10
    # sample 0 is right for the 4 normal problems; p4 truncates; samples 1 are wrong
    assert (export.rows_out, export.rows_rejected) == (4, 6)
    assert export.drop_reasons == {"verdict_wrong_answer": 4, "verdict_truncated": 2}
    status = run_status(tmp_path)
    for name, st in status["stages"].items():
        assert st["parts_done"] == st["parts_total"] == 3, name
    assert status["complete"]
    assert status["teachers"]["embedded:smollm2-135m"]["pass_rate"] == 0.4  # from the verdicts
    rows = [r for i in range(3) for r in StageStore(tmp_path, "export").read_part(i).to_pylist()]
    assert {r["problem_id"] for r in rows} == {"p1", "p2", "p3", "p5"}
    assert rows[0]["messages"][1]["content"].startswith("<think>\nreasoning 0\n</think>\n\n")


def test_rerun_does_no_work_and_deleted_marker_redoes_only_that_part(recipe, tmp_path):
    _pipeline(recipe, FakeTeacherBackend(GOLD), tmp_path)
    before = _mtimes(tmp_path)
    backend = FakeTeacherBackend(GOLD)
    reports = _pipeline(recipe, backend, tmp_path)
    assert backend.calls == [] and all(r.parts_done == 0 for r in reports)
    assert _mtimes(tmp_path) == before

    (tmp_path / "generate" / "part-00001.done").unlink()
    reports = _pipeline(recipe, backend, tmp_path)
    assert [r.parts_done for r in reports] == [0, 1, 1, 1]  # generate, then its stale downstream parts
    assert backend.calls == [2]
    after = _mtimes(tmp_path)
    changed = sorted(str(p.relative_to(tmp_path)) for p in after if after[p] != before.get(p))
    assert changed and all("part-00001" in c for c in changed)


def test_shards_split_parts_without_overlap(recipe, tmp_path):
    done = []
    for shard in (0, 1):
        reports = _pipeline(recipe, FakeTeacherBackend(GOLD), tmp_path, shard=shard, num_shards=2)
        done.append(reports[1].parts_done)
    assert done == [2, 1]
    assert run_status(tmp_path)["complete"]


def test_force_redoes_done_parts(recipe, tmp_path):
    _pipeline(recipe, FakeTeacherBackend(GOLD), tmp_path)
    backend = FakeTeacherBackend(GOLD)
    run_stage(GenerateStage(recipe, backends={TEACHER: backend}), tmp_path, force=True)
    assert backend.calls == [5]


def test_prompt_over_budget_is_a_rejected_row_not_a_crash(tmp_path):
    long_problem = "Consider " + "a very long statement " * 50 + "What is $1+1$?"
    path = write_jsonl(
        tmp_path / "p.jsonl",
        [
            {"id": "short", "problem": "What is $2+3$?", "answer": "5"},
            {"id": "long", "problem": long_problem, "answer": "2"},
        ],
    )
    recipe = parse_recipe(base_recipe(path, sampling={"max_tokens": 60}))
    run_stage(IngestStage(recipe), tmp_path)
    # FakeTeacherBackend counts words: ~24 for the short prompt, ~220 for the long one.
    report = run_stage(GenerateStage(recipe, backends={TEACHER: FakeTeacherBackend(GOLD, max_model_len=200)}), tmp_path)
    assert (report.rows_in, report.rows_out, report.rows_rejected) == (2, 2, 1)
    assert report.drop_reasons == {"prompt_too_long": 1}
    rejected = StageStore(tmp_path, "generate").read_rejected(0).to_pylist()
    assert rejected[0]["problem_id"] == "long"
    assert "> 140 (max_model_len 200 - max_tokens 60)" in rejected[0]["drop_reason"]


def test_max_tokens_must_fit_the_context(problems, tmp_path):
    recipe = parse_recipe(base_recipe(problems, sampling={"max_tokens": 4096}))
    run_stage(IngestStage(recipe), tmp_path)
    with pytest.raises(UserError, match="generate.sampling.max_tokens"):
        run_stage(GenerateStage(recipe, backends={TEACHER: FakeTeacherBackend(GOLD, max_model_len=2048)}), tmp_path)


def test_optional_decontaminate_and_dedup_stages(problems, tmp_path):
    """decontaminate drops a planted MATH-500 problem before generation; dedup drops the
    duplicated problem's traces after verify, keeping the verified ones."""
    import json

    from pipeline.stages import active_stages, build_stage

    math500 = json.loads((REPO / "data/benchmarks/math500.jsonl").open().readline())
    with problems.open("a") as f:
        f.write(json.dumps({"id": "planted", "problem": math500["problem"], "answer": math500["answer"]}) + "\n")
        f.write(json.dumps({"id": "p1-copy", "problem": "What is  $2+3$ ?", "answer": "5"}) + "\n")
    recipe = parse_recipe(
        {**base_recipe(problems), "decontaminate": {"benchmarks": ["math500"]}, "dedup": {"keep": "best_trace"}}
    )
    assert active_stages(recipe) == ["ingest", "decontaminate", "generate", "verify", "dedup", "export"]
    backend = FakeTeacherBackend(GOLD)
    for name in active_stages(recipe):
        stage = build_stage(name, recipe)
        if name == "generate":
            stage.backends[TEACHER] = backend
        run_stage(stage, tmp_path)
    status = run_status(tmp_path)
    assert status["complete"]
    decon = status["stages"]["decontaminate"]
    assert decon["drop_reasons"] == {"contaminated": 1} and decon["counters"]["contaminated_by:math500"] == 1
    all_rejected = [r for i in range(4) for r in StageStore(tmp_path, "decontaminate").read_rejected(i).to_pylist()]
    assert [(r["problem_id"], r["contamination_benchmark"], r["contamination_item"]) for r in all_rejected] == [
        ("planted", "math500", math500["id"])
    ]
    dups = [r for i in range(4) for r in StageStore(tmp_path, "dedup").read_rejected(i).to_pylist()]
    # p1-copy normalises to p1's problem and the fake teacher wrote the same reasoning per
    # sample, so each of its traces repeats one of p1's; p4's two samples are the same truncated
    # text. The first of each pair stays.
    assert sorted((r["problem_id"], r["sample_idx"], r["duplicate_of"]) for r in dups) == [
        ("p1-copy", 0, f"p1#{TEACHER}#0"),
        ("p1-copy", 1, f"p1#{TEACHER}#1"),
        ("p4", 1, f"p4#{TEACHER}#0"),
    ]
    assert {r["drop_reason"].split(":")[0] for r in dups} == {"duplicate_trace"}
