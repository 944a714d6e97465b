"""The offline engine on a GPU (skipped without CUDA): the same generate code path as the CPU
tests, with long outputs so the checkpoint/stream logic sees staggered finishes."""

import json

import pytest

from helpers import REPO, base_recipe
from pipeline.recipe import parse_recipe
from pipeline.runner import run_stage
from pipeline.stages.generate import GenerateStage
from pipeline.stages.ingest import IngestStage
from pipeline.store import StageStore

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]


def test_long_outputs_on_gpu(tmp_path):
    problems = tmp_path / "p.jsonl"
    rows = [json.loads(line) for line in (REPO / "data/problems/quickstart_math.jsonl").open()]
    problems.write_text("".join(json.dumps(r) + "\n" for r in rows))
    recipe = parse_recipe(
        base_recipe(
            problems,
            n=8,
            checkpoint_every=16,
            reasoning_format="think",
            engine={"max_model_len": 8192, "gpu_memory_utilization": 0.5},
            sampling={"temperature": 0.8, "max_tokens": 6144},
            allow_short_max_tokens=True,
        )
    )
    run_stage(IngestStage(recipe), tmp_path)
    report = run_stage(GenerateStage(recipe), tmp_path)
    assert report.rows_out == 8 * len(rows)
    out = [
        r
        for i in StageStore(tmp_path, "generate").done_parts()
        for r in StageStore(tmp_path, "generate").read_part(i).to_pylist()
    ]
    assert len({(r["problem_id"], r["sample_idx"]) for r in out}) == len(out)
    assert max(r["n_output_tokens"] for r in out) > 1000  # long generations did happen
    assert {r["finish_reason"] for r in out} <= {"stop", "length"}
