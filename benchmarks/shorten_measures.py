"""Measures of grade + shorten on real long-CoT math traces (../shared/traces), through the pipeline.

Runs the bring-your-own-traces recipe (ingest kind: traces -> verify -> grade -> shorten ->
select -> export) once per shortening strategy over the R1-distill (thought-anchors,
trace-topology) and Sky-T1 student math traces, then reports per strategy and tier: verified
traces, the share shortened, mean reasoning tokens before -> after (all verified, and only the
shortened ones), and whether every exported trace verifies again from its exported text.

    python benchmarks/shorten_measures.py [--out /tmp/shorten_measures]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
from collections import defaultdict
from pathlib import Path

import pyarrow.parquet as pq

from pipeline.progress import Progress
from pipeline.recipe import parse_recipe
from pipeline.runner import run_stages
from pipeline.stages import active_stages
from pipeline.tokens import count_tokens
from verifiers import check

SHARED = Path(__file__).resolve().parents[2] / "shared" / "traces"
FILES = ("thought_anchors_r1distill_math.jsonl", "trace_topology_math500.jsonl", "skythought_sky_t1_student_math.jsonl")
STRATEGIES = {
    "first_correct": {"strategy": "first_correct"},
    "first_correct+reflection": {"strategy": "first_correct", "keep_reflection": True},
    "shortest_correct": {"strategy": "shortest_correct"},
    "by_tier (easy: shortest_correct, else first_correct)": {
        "strategy": "first_correct",
        "by_tier": {"easy": "shortest_correct"},
    },
}
TOKENIZER = "embedded:smollm2-135m"


def _recipe(shorten: dict) -> dict:
    columns = {"problem": "problem", "reference_answer": "gold", "response": "completion", "teacher": "teacher"}
    return {
        "name": "measures",
        "tokenizer": TOKENIZER,
        "ingest": {
            "sources": [
                {"path": str(SHARED / f), "kind": "traces", "domain": "math", "columns": columns} for f in FILES
            ],
            "rows_per_part": 64,
        },
        "verify": {"timeout_s": 20},
        "grade": {},
        "shorten": shorten,
        "select": {},
        "export": {"include": "verified"},
    }


def _rows(run_dir: Path, stage: str) -> list[dict]:
    return [r for p in sorted((run_dir / stage).glob("part-*.parquet")) for r in pq.read_table(p).to_pylist()]


def _key(row: dict) -> tuple:
    return (row["problem_id"], row["teacher"], row["sample_idx"])


def measure(name: str, shorten: dict, out: Path) -> dict:
    run_dir = out / name.split(" ")[0]
    shutil.rmtree(run_dir, ignore_errors=True)
    recipe = parse_recipe(_recipe(shorten))
    run_stages(recipe, run_dir, active_stages(recipe), progress=Progress())
    graded = {_key(r): r for r in _rows(run_dir, "grade") if r["verdict"]}
    shortened = [r for r in _rows(run_dir, "shorten") if r["verdict"]]
    before = dict(zip(graded, count_tokens(TOKENIZER, [r["reasoning"] for r in graded.values()]), strict=True))
    after = count_tokens(TOKENIZER, [r["reasoning"] for r in shortened])
    tiers: dict[str, dict] = defaultdict(lambda: {"verified": 0, "shortened": 0, "before": [], "after": [], "cut": []})
    for key, row in graded.items():  # before: every verified trace (shortest_correct drops some)
        tiers[row["difficulty"]]["before"].append(before[key])
    for row, n_after in zip(shortened, after, strict=True):
        tier = tiers[row["difficulty"]]
        tier["verified"] += 1
        tier["after"].append(n_after)
        if row["shorten_status"] == "shortened":
            tier["shortened"] += 1
            tier["cut"].append(1 - n_after / before[_key(row)])
    exported = _rows(run_dir, "export")
    reverified = sum(
        check("math", r["reference_answer"], r["messages"][-1]["content"], problem=r["problem"]).ok for r in exported
    )
    dropped = len(graded) - len(shortened)  # shortest_correct drops the longer correct traces
    return {"tiers": dict(tiers), "exported": len(exported), "reverified": reverified, "dropped": dropped}


def _mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else float("nan")


def report(name: str, result: dict) -> None:
    print(f"\n## {name}")
    print(f"exported {result['exported']} traces, {result['reverified']} verify again from the exported text", end="")
    print(f"; {result['dropped']} longer correct traces dropped" if result["dropped"] else "")
    print("| tier | verified kept | shortened | reasoning tokens before -> after (mean) | cut on shortened (mean) |")
    print("|---|---:|---:|---|---:|")
    for tier, t in sorted(result["tiers"].items()):
        share = t["shortened"] / t["verified"] if t["verified"] else 0
        cut = f"{_mean(t['cut']):.1%}" if t["cut"] else "-"
        print(
            f"| {tier} | {t['verified']} | {t['shortened']} ({share:.0%}) | {_mean(t['before']):,.0f} -> "
            f"{_mean(t['after']):,.0f} ({1 - _mean(t['after']) / _mean(t['before']):.1%} fewer) | {cut} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=None, help="where the run dirs go (default: a temp dir)")
    args = parser.parse_args()
    if not SHARED.is_dir():
        raise SystemExit(f"{SHARED}: not found (the measures read the shared real traces)")
    out = args.out or Path(tempfile.mkdtemp(prefix="shorten_measures-"))
    print(f"traces: {', '.join(FILES)}; tokens counted with {TOKENIZER}; run dirs in {out}")
    results = {}
    for name, shorten in STRATEGIES.items():
        results[name] = measure(name, shorten, out)
        report(name, results[name])
    (out / "measures.json").write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
