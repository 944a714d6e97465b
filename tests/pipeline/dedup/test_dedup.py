"""Exact and MinHash near-duplicate detection on the bundled MATH train sample."""

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from helpers import REPO, write_jsonl
from pipeline.dedup.config import MinHashConfig
from pipeline.dedup.exact import best_trace_key, exact_duplicates, exact_pair_duplicates
from pipeline.dedup.files import dedup_file
from pipeline.dedup.minhash import near_duplicates, optimal_band_rows, signatures
from pipeline.errors import UserError

MATH = [json.loads(line) for line in (REPO / "data/problems/math_train_sample.jsonl").open()]


def test_exact_duplicates_ignore_case_whitespace_latex_spacing():
    p = MATH[0]["problem"]
    texts = [p, "x", "  " + p.upper().replace(" ", "   "), p.replace("$", "$\\,", 1), None, None]
    assert exact_duplicates(texts) == [None, None, 0, 0, None, None]
    assert exact_duplicates(texts, key=lambda i: -i) == [3, None, 3, None, None, None]


def test_exact_pair_duplicates_keep_samples_of_one_problem():
    problems = ["P", "P", "P", "Q"]
    reasonings = ["a", "b", "a ", "a"]
    assert exact_pair_duplicates(problems, reasonings) == [None, None, 0, None]


def test_best_trace_key_prefers_correct_then_short():
    rows = [
        {"verdict": False, "reasoning": "x"},
        {"verdict": True, "reasoning": "long one"},
        {"verdict": True, "reasoning": "short"},
    ]
    assert exact_duplicates(["P"] * 3, key=best_trace_key(rows)) == [2, 2, None]


def test_near_duplicates_real_math_sample():
    # Measured on the 2,000 bundled MATH train problems: 7 near-duplicate pairs, e.g. the
    # "ball travels on a parabolic path" template with other coefficients.
    texts = [r["problem"] for r in MATH]
    dup = near_duplicates(texts)
    dropped = {MATH[i]["id"]: MATH[of]["id"] for i, of in enumerate(dup) if of is not None}
    assert len(dropped) == 7
    assert dropped["math_train/0228"] == "math_train/0040"
    assert dropped["math_train/1485"] == "math_train/0040"
    assert near_duplicates(texts) == dup  # deterministic


def test_minhash_estimates_jaccard_and_is_seeded():
    a = " ".join(f"w{i}" for i in range(200))
    b = " ".join(f"w{i}" for i in range(100)) + " " + " ".join(f"v{i}" for i in range(100))
    sig = signatures([a, b, a, ""], MinHashConfig(num_perm=256))
    assert (sig[0] == sig[2]).all() and (sig[3] == np.iinfo(np.uint32).max).all()
    true_j = 98 / (198 + 100)  # word 3-shingles: 98 shared of 298 distinct
    assert abs((sig[0] == sig[1]).mean() - true_j) < 0.08
    assert (signatures([a], MinHashConfig(seed=2)) != signatures([a])).any()


def test_optimal_band_rows():
    assert optimal_band_rows(0.8, 128) == (9, 13)


def test_dedup_file_writes_evidence(tmp_path):
    rows = [{"id": r["id"], "problem": r["problem"]} for r in MATH[:40]]
    rows.append({"id": "copy-of-3", "problem": MATH[3]["problem"].upper()})
    rows.append({"id": "near-41", "problem": MATH[40]["problem"] + " Show your work."})
    rows.append({"id": "orig-41", "problem": MATH[40]["problem"]})
    src = write_jsonl(tmp_path / "p.jsonl", rows)
    report = dedup_file(src, "problem", tmp_path / "out", id_column="id")
    removed = pq.read_table(tmp_path / "out/removed.parquet").to_pylist()
    assert [(r["id"], r["drop_reason"], r["duplicate_of"]) for r in removed] == [
        ("copy-of-3", f"exact_duplicate: same as {MATH[3]['id']}", MATH[3]["id"]),
        ("orig-41", "near_duplicate: same as near-41", "near-41"),
    ]
    assert pq.read_table(tmp_path / "out/kept.parquet").num_rows == 41
    assert report["reasons"] == {"exact_duplicate": 1, "near_duplicate": 1}
    assert (report["rows"], report["kept"], report["removed"]) == (43, 41, 2)
    assert json.loads((tmp_path / "out/report.json").read_text()) == report


def test_dedup_file_traces_keep_best_sample(tmp_path):
    p, q = MATH[0]["problem"], MATH[1]["problem"]
    rows = [
        {"problem_id": "a", "problem": p, "reasoning": "r1", "verdict": False},
        {"problem_id": "a", "problem": p, "reasoning": "r1", "verdict": True},
        {"problem_id": "a", "problem": p, "reasoning": "r2", "verdict": True},
        {"problem_id": "b", "problem": q, "reasoning": "r1", "verdict": True},
        {"problem_id": "c", "problem": q + " ", "reasoning": "zz", "verdict": False},
    ]
    src = write_jsonl(tmp_path / "t.jsonl", rows)
    report = dedup_file(src, "problem", tmp_path / "out", reasoning_column="reasoning", keep="best_trace")
    removed = pq.read_table(tmp_path / "out/removed.parquet").to_pylist()
    assert [(r["problem_id"], r["reasoning"], r["duplicate_of"]) for r in removed] == [("a", "r1", "1")]
    assert report["reasons"] == {"duplicate_trace": 1}


def test_dedup_bad_input(tmp_path):
    with pytest.raises(UserError, match="nope.parquet: input file not found"):
        dedup_file(tmp_path / "nope.parquet", "problem", tmp_path / "o")
    src = write_jsonl(tmp_path / "t.jsonl", [{"problem": "x"}])
    with pytest.raises(UserError, match=r"t.jsonl: no column 'reasoning'"):
        dedup_file(src, "problem", tmp_path / "o", reasoning_column="reasoning")
    bad = write_jsonl(tmp_path / "bad.jsonl", ['{"problem": "x"}', "{oops"])
    with pytest.raises(UserError, match="bad.jsonl:2"):
        dedup_file(bad, "problem", tmp_path / "o")
