"""Real engine, real processes: SIGKILL mid-part and data-parallel workers (embedded teacher)."""

import json
import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from helpers import DISTILL, REPO, base_recipe, write_jsonl, write_recipe
from pipeline.store import StageStore

pytestmark = pytest.mark.slow
ENV = {**os.environ, "HF_HUB_OFFLINE": "1"}


def _recipe(tmp_path, count, **generate):
    bundled = [json.loads(line) for line in (REPO / "data/problems/quickstart_math.jsonl").open()][:count]
    problems = write_jsonl(tmp_path / "p.jsonl", bundled)
    recipe = base_recipe(
        problems,
        reasoning_format="plain",
        engine={"max_model_len": 1024},
        sampling={"temperature": 0.7, "max_tokens": 96},
        **generate,
    )
    return write_recipe(tmp_path / "r.yaml", recipe), [p["id"] for p in bundled]


def _keys(run_dir: Path) -> Counter:
    store = StageStore(run_dir, "generate")
    return Counter(
        (r["problem_id"], r["sample_idx"]) for i in store.done_parts() for r in store.read_part(i).to_pylist()
    )


def test_sigkill_mid_part_then_resume_loses_and_duplicates_nothing(tmp_path):
    # 24 requests whose samples end at different steps (stop or max_tokens): the kill lands
    # while some are checkpointed and others are still in the engine.
    recipe, ids = _recipe(tmp_path, 24, checkpoint_every=1)
    run_dir = tmp_path / "run"
    recipe_dict = __import__("yaml").safe_load(recipe.read_text())
    recipe_dict["ingest"]["rows_per_part"] = 24
    recipe_dict["generate"]["sampling"]["max_tokens"] = 384
    recipe.write_text(__import__("yaml").safe_dump(recipe_dict))
    subprocess.run(
        [DISTILL, "ingest", str(recipe), "--run-dir", str(run_dir)], check=True, env=ENV, capture_output=True
    )
    proc = subprocess.Popen(
        [DISTILL, "generate", str(recipe), "--run-dir", str(run_dir), "--quiet"],
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    chunks = run_dir / "generate" / "part-00000.chunks"
    deadline = time.monotonic() + 300
    while not list(chunks.glob("chunk-*.parquet")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "generate finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    saved = sorted(chunks.glob("chunk-*.parquet"))
    assert saved, "no checkpoint was written before the kill"
    assert not (run_dir / "generate" / "part-00000.done").exists()
    saved_rows = [r for chunk in saved for r in pq.read_table(chunk).to_pylist()]  # every chunk is readable
    assert 0 < len(saved_rows) < 48

    subprocess.run(
        [DISTILL, "generate", str(recipe), "--run-dir", str(run_dir), "--quiet"],
        check=True,
        env=ENV,
        capture_output=True,
    )
    keys = _keys(run_dir)
    assert set(keys.values()) == {1} and set(keys) == {(i, s) for i in ids for s in (0, 1)}
    final = {
        (r["problem_id"], r["sample_idx"]): r["reasoning"] + r["answer_text"]
        for r in StageStore(run_dir, "generate").read_part(0).to_pylist()
    }
    for row in saved_rows:  # checkpointed traces are kept as they were, not regenerated
        assert final[(row["problem_id"], row["sample_idx"])] == row["reasoning"] + row["answer_text"]
    assert not chunks.exists()


def test_data_parallel_workers_split_the_parts(tmp_path):
    recipe, ids = _recipe(tmp_path, 4)
    run_dir = tmp_path / "run"
    recipe_dict = __import__("yaml").safe_load(recipe.read_text())
    recipe_dict["ingest"]["rows_per_part"] = 1
    recipe.write_text(__import__("yaml").safe_dump(recipe_dict))
    proc = subprocess.run(
        [DISTILL, "run", str(recipe), "--run-dir", str(run_dir), "--dp", "2"],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    keys = _keys(run_dir)
    assert set(keys.values()) == {1} and set(keys) == {(i, s) for i in ids for s in (0, 1)}
    status = json.loads(
        subprocess.run(
            [DISTILL, "status", str(run_dir), "--json"], capture_output=True, text=True, env=ENV, check=True
        ).stdout
    )
    assert status["complete"] and status["stages"]["export"]["rows_in"] == 8
    # each worker has its own log; the parent relays their progress lines
    assert sorted(p.name for p in (run_dir / "logs").glob("generate-worker-*.log")) == [
        "generate-worker-0.log",
        "generate-worker-1.log",
    ]
    for worker in (0, 1):
        assert f"generate worker {worker}: generate embedded:smollm2-135m: 2/2 requests" in proc.stderr
