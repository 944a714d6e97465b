"""Memory bounded by part size: the whole-run readers (the dedup and select barriers, the status
tables) keep a few bytes per row across parts, never the rows' text, and decide as before.
Measured with ``tracemalloc`` (Python allocations, deterministic), never with time;
``benchmarks/scale.py`` measures the process's RSS."""

import json
import random
import tracemalloc
from pathlib import Path

import pytest

from pipeline.dedup.config import MinHashConfig
from pipeline.dedup.exact import best_trace_key, keep_first
from pipeline.dedup.find import find_duplicates
from pipeline.dedup.streaming import StreamingDuplicates
from pipeline.recipe import SelectConfig, parse_recipe
from pipeline.rows import to_table
from pipeline.stages.dedup import DedupStage
from pipeline.stages.select import Selection, SelectStage, _compact
from pipeline.status import compare_teachers
from pipeline.status.tiers import tier_table
from pipeline.store import StageStore

REPO = Path(__file__).resolve().parents[2]
MB = 1 << 20


def _problems(n: int) -> list[str]:
    lines = (REPO / "data/problems/math_train_sample.jsonl").open()
    return [json.loads(line)["problem"] for line, _ in zip(lines, range(n), strict=False)]


def _rows(seed: int) -> list[dict]:
    """Traces with every kind of duplicate: identical traces (a better copy later, or earlier),
    problems equal up to case and spacing, near-duplicate problems (a word added), equal sort
    keys, missing problem or reasoning."""
    rng = random.Random(seed)
    base = _problems(40)
    rows = []
    for k in range(60):
        problem = base[k % 40]
        if k >= 40:  # a near duplicate, or the same problem typed differently
            problem = problem.replace(" ", "  ", 1).upper() if k % 3 == 0 else problem + " Explain briefly."
        for s in range(rng.choice((1, 2, 3, 4))):
            text: str | None = problem if rng.random() > 0.05 else None
            reasoning = rng.choice(("Let x be 2.", "So x = 4.", f"Work {k} {s}.", "Thus  X = 4 .", None))
            row = {"problem_id": f"p{k}", "teacher": "t", "sample_idx": s, "problem": text, "reasoning": reasoning}
            rows.append({**row, "verdict": rng.choice((True, False, None))})
    return rows


@pytest.mark.parametrize("keep", ["first", "best_trace"])
@pytest.mark.parametrize("near", [True, False])
@pytest.mark.parametrize("shingle", ["word", "char"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_streaming_dedup_matches_find_duplicates(keep, near, shingle, seed):
    rows = _rows(seed)
    config = MinHashConfig(shingle=shingle, shingle_size=3 if shingle == "word" else 5)
    ids = [f"{r['problem_id']}#{r['teacher']}#{r['sample_idx']}" for r in rows]
    key = best_trace_key(rows) if keep == "best_trace" else keep_first
    expected = find_duplicates(
        [r["problem"] for r in rows], [r["reasoning"] for r in rows], ids, near=near, config=config, key=key
    )
    kinds = {e["drop_reason"].split(":")[0] for e in expected.values()}
    assert kinds == ({"duplicate_trace", "near_duplicate"} if near else {"duplicate_trace"})
    found = StreamingDuplicates(config, near=near, keep=keep)
    cuts = sorted(random.Random(seed).sample(range(1, len(rows)), 5))
    for start, stop in zip([0, *cuts], [*cuts, len(rows)], strict=True):  # parts of uneven sizes
        part = rows[start:stop]
        found.add(
            [r["problem"] for r in part],
            [r["reasoning"] for r in part],
            [r["verdict"] for r in part],
            [(r["problem_id"], r["teacher"], r["sample_idx"]) for r in part],
        )
    found.decide()
    assert found.evidence(0, len(rows)) == expected
    assert found.evidence(10, 20) == {i - 10: e for i, e in expected.items() if 10 <= i < 20}


def _recipe(tmp_path):
    source = {"path": str(tmp_path / "t.jsonl"), "kind": "traces"}
    return parse_recipe({"name": "mem", "ingest": {"sources": [source]}, "grade": {}, "dedup": {}})


def _write_parts(run_dir: Path, stage: str, parts: int, rows_per_part: int, chars: int) -> None:
    """``parts`` parts of ``rows_per_part`` long traces, 4 per problem, every text distinct."""
    store = StageStore(run_dir, stage)
    rng = random.Random(parts)
    for index in range(parts):
        rows = []
        for i in range(rows_per_part):
            pid = f"p{index}-{i // 4}"
            words = " ".join(str(rng.randrange(10**6)) for _ in range(chars // 7))
            rows.append(
                {
                    "problem_id": pid,
                    "teacher": "t",
                    "sample_idx": i % 4,
                    "problem": f"Problem {pid}: how much is {index} times {i // 4}?",
                    "reasoning": words,
                    "answer_text": "The answer is 4.",
                    "verdict": i % 3 == 0,
                    "finish_reason": "stop",
                    "n_output_tokens": 1000 + i,
                    "difficulty": "medium",
                    "pass_rate": 0.5,
                }
            )
        stats = {"rows_in": len(rows), "rows_out": len(rows), "rows_rejected": 0, "seconds": 0.0}
        stats.update(drop_reasons={}, counters={}, units={"in": "traces", "out": "traces"})
        store.write_part(index, to_table(rows), to_table([], ["problem_id", "drop_reason"]), stats)
    StageStore(run_dir, "ingest").write_plan({"num_parts": parts})


def _peak(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_dedup_barrier_holds_one_part_of_text(tmp_path):
    """24 parts of 1 MB of reasoning each: reading them all for dedup peaks near one part's text
    (plus its normalized copy and MinHash's fixed-size work array), not the run's 24 MB."""
    run_dir = tmp_path / "run"
    _write_parts(run_dir, "verify", parts=24, rows_per_part=48, chars=20_000)
    stage = DedupStage(_recipe(tmp_path))
    stage.input_stage = "verify"
    peak = _peak(lambda: stage.before_parts(run_dir, []))
    assert peak < 8 * MB
    assert stage.found.reason.tolist() == [0] * 24 * 48  # nothing duplicated: every text differs


def test_status_tables_grow_by_bytes_per_row(tmp_path):
    """Twice the parts add a few bytes per row to the status tables' peak (token counts, ids),
    not the rows themselves (about 1 KB each as dicts)."""
    peaks = []
    for parts in (10, 20):
        run_dir = tmp_path / f"run{parts}"
        _write_parts(run_dir, "verify", parts=parts, rows_per_part=1000, chars=14)
        _write_parts(run_dir, "grade", parts=parts, rows_per_part=1000, chars=14)
        peaks.append(_peak(lambda run_dir=run_dir: (compare_teachers(run_dir), tier_table(run_dir))))
    assert compare_teachers(tmp_path / "run20")["t"]["traces"] == 20_000
    assert tier_table(tmp_path / "run20")[0]["traces"] == 20_000
    assert peaks[1] - peaks[0] < 10_000 * 200  # 10,000 more rows: under 200 bytes each


@pytest.mark.parametrize(
    "cfg",
    [SelectConfig(), SelectConfig(max_per_problem=1), SelectConfig(max_per_problem=2, target_size=5)],
)
def test_select_compact_rows_decide_the_same(cfg):
    """Select holds the whole run as its answers' keys: the same decisions as from the full rows."""
    rng = random.Random(3)
    rows = {}
    for i in range(200):
        answer = rng.choice(["4", "x = 4", "The answer is   4", None, " " + "long " * 100 + str(i % 3)])
        rows[(i // 20, i % 20)] = {
            "problem_id": f"p{i // 5}",
            "teacher": "t",
            "sample_idx": i % 5,
            "domain": "math",
            "source": "s.jsonl",
            "verdict": rng.random() < 0.6,
            "pass_rate": 0.6,
            "difficulty": "medium",
            "n_output_tokens": rng.choice([100, 105, 300, 900]),
            "answer_text": answer,
        }
    full = Selection(cfg, 0).decide(rows)
    assert Selection(cfg, 0).decide({w: _compact(dict(r)) for w, r in rows.items()}) == full
    assert any(reason.startswith("max_per_problem") for reason in full.values()) or cfg.max_per_problem is None


def test_select_barrier_keeps_answer_keys_not_answers(tmp_path):
    """24 parts whose answers hold 1 MB each: select's whole-run read keeps 200 characters a row."""
    run_dir = tmp_path / "run"
    store = StageStore(run_dir, "grade")
    for index in range(24):
        rows = [
            {
                "problem_id": f"p{index}-{i // 4}",
                "teacher": "t",
                "sample_idx": i % 4,
                "domain": "math",
                "source": "s.jsonl",
                "verdict": True,
                "pass_rate": 1.0,
                "difficulty": "easy",
                "n_output_tokens": 100 + i,
                "answer_text": f"{index} {i} " + "so the answer is 4. " * 1000,
            }
            for i in range(48)
        ]
        stats = {"rows_in": 48, "rows_out": 48, "rows_rejected": 0, "seconds": 0.0, "drop_reasons": {}, "counters": {}}
        store.write_part(index, to_table(rows), to_table([], ["problem_id", "drop_reason"]), stats)
    stage = SelectStage(parse_recipe({**_recipe(tmp_path).model_dump(), "select": {"max_per_problem": 2}}))
    stage.input_stage = "grade"
    peak = _peak(lambda: stage.before_parts(run_dir, []))
    assert peak < 6 * MB  # the answers alone are 24 MB
    assert len(stage.dropped) == 24 * 12 * 2  # 2 of each problem's 4 traces
