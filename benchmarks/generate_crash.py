"""Crash test: SIGKILL `distill generate` mid-shard at random points, then resume.

Runs the embedded teacher on bundled problems, kills the generate process (its whole process
group) ``--kills`` times at a random moment after the engine started producing checkpoints,
then lets a final run finish. Prints, per kill, how many requests were checkpointed, and at the
end whether every (problem_id, sample_idx) appears exactly once and every file is readable.

    .venv/bin/python benchmarks/generate_crash.py [--kills 5] [--problems 48] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import yaml

REPO = Path(__file__).resolve().parents[1]
DISTILL = str(Path(sys.executable).with_name("distill"))
ENV = {**os.environ, "HF_HUB_OFFLINE": "1"}


def _checkpointed(chunks: Path) -> int:
    return sum(pq.read_metadata(c).num_rows for c in chunks.glob("chunk-*.parquet"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--problems", type=int, default=48)
    parser.add_argument("--n", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    work = Path(tempfile.mkdtemp(prefix="gen-crash-"))
    run_dir = work / "run"
    recipe = {
        "name": "crash",
        "ingest": {
            "sources": [{"path": str(REPO / "data/problems/gsm8k_train_sample.jsonl"), "limit": args.problems}],
            "rows_per_part": args.problems,
        },
        "generate": {
            "teacher": "embedded:smollm2-135m",
            "n": args.n,
            "reasoning_format": "plain",
            "checkpoint_every": 2,
            "sampling": {"temperature": 0.7, "max_tokens": 384},
        },
    }
    recipe_path = work / "crash.yaml"
    recipe_path.write_text(yaml.safe_dump(recipe))
    subprocess.run(
        [DISTILL, "ingest", str(recipe_path), "--run-dir", str(run_dir), "-q"], check=True, env=ENV, capture_output=True
    )
    chunks = run_dir / "generate" / "part-00000.chunks"
    cmd = [DISTILL, "generate", str(recipe_path), "--run-dir", str(run_dir), "-q"]
    for kill in range(args.kills):
        before = _checkpointed(chunks) if chunks.exists() else 0
        proc = subprocess.Popen(
            cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        while (not chunks.exists() or _checkpointed(chunks) <= before) and proc.poll() is None:
            time.sleep(0.1)  # the engine is up and producing: now pick a random moment
        time.sleep(rng.uniform(0.0, 6.0))
        if proc.poll() is not None:
            print(f"kill {kill + 1}: generate finished before the kill (rows saved {before})")
            break
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        print(
            f"kill {kill + 1}: SIGKILL after {_checkpointed(chunks) - before} new checkpointed rows "
            f"(total {_checkpointed(chunks)}), part done: {(run_dir / 'generate' / 'part-00000.done').exists()}"
        )
    subprocess.run(cmd, check=True, env=ENV, capture_output=True)
    rows = pq.read_table(run_dir / "generate" / "part-00000.parquet").to_pylist()
    keys = Counter((r["problem_id"], r["sample_idx"]) for r in rows)
    problems = [json.loads(line) for line in (REPO / "data/problems/gsm8k_train_sample.jsonl").open()][: args.problems]
    expected = {(str(p["id"]), s) for p in problems for s in range(args.n)}
    readable = all(pq.read_metadata(p) is not None for p in run_dir.rglob("*.parquet"))
    duplicates = sum(1 for c in keys.values() if c > 1)
    print(
        f"rows={len(rows)} expected={args.problems * args.n} unique_keys={len(keys)} duplicates={duplicates} "
        f"all_files_readable={readable} leftover_chunks={chunks.exists()}"
    )
    ok = set(keys) == expected and duplicates == 0 and readable and not chunks.exists()
    print(f"generate_crash_test={'PASS' if ok else 'FAIL'}")


if __name__ == "__main__":
    main()
