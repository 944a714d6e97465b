"""Dedup / decontamination settings: one definition, its rules, and who reads it."""

import dataclasses
import json
import shutil
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from helpers import REPO, write_jsonl
from pipeline.cli import app
from pipeline.dedup.benchmarks import load_bundled
from pipeline.dedup.config import DecontamConfig, MinHashConfig
from pipeline.dedup.minhash import band_rows
from pipeline.errors import UserError

runner = CliRunner()


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"bands": 20, "rows": 8}, "bands × rows = 160 exceeds num_perm = 128"),
        ({"bands": 4}, r"bands and rows go together: give both or neither \(got bands=4, rows=None\)"),
        ({"rows": 4}, r"bands and rows go together: give both or neither \(got bands=None, rows=4\)"),
        ({"bands": 0, "rows": 4}, r"bands must be >= 1 \(got 0\)"),
        ({"num_perm": 8}, r"num_perm must be >= 16 \(got 8\)"),
        ({"threshold": 0.0}, r"threshold must be in \(0, 1\] \(got 0.0\)"),
        ({"shingle": "token"}, r"shingle must be one of word, char \(got 'token'\)"),
        ({"shingle_size": 0}, r"shingle_size must be >= 1 \(got 0\)"),
    ],
)
def test_minhash_rules_name_the_field(settings, message):
    with pytest.raises(ValueError, match=message):
        MinHashConfig(**settings)


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"methods": ()}, r"methods must be some of exact, ngram, embedding \(got \[\]\)"),
        (
            {"methods": ("exact", "fuzzy")},
            r"methods must be some of exact, ngram, embedding \(got \['exact', 'fuzzy'\]\)",
        ),
        ({"ngram": 10}, r"ngram must be one of 8, 13, 32 \(got 10\)"),
        ({"embedding_threshold": 1.5}, r"embedding_threshold must be in \(0, 1\] \(got 1.5\)"),
        ({"batch_size": 0}, r"batch_size must be >= 1 \(got 0\)"),
    ],
)
def test_decontam_rules_name_the_field(settings, message):
    with pytest.raises(ValueError, match=message):
        DecontamConfig(**settings)


def test_methods_list_becomes_a_tuple():
    config = DecontamConfig(methods=["ngram", "exact"])
    assert config.methods == ("ngram", "exact") and hash(config) == hash(DecontamConfig(methods=("ngram", "exact")))


def test_band_rows_given_or_chosen_from_threshold():
    assert band_rows(MinHashConfig(bands=16, rows=8)) == (16, 8)
    assert band_rows(MinHashConfig()) == (9, 13)


def test_recipe_stays_light():
    """``pipeline.recipe`` reads the settings module without loading the numpy side of the package."""
    code = (
        "import sys, pipeline.recipe, pipeline.cli.clean\n"
        "print(sorted(m for m in ('numpy', 'xxhash', 'pyarrow', 'pipeline.dedup.minhash') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "[]"


def test_cli_rule_violations_are_one_line_exit_2(tmp_path):
    src = write_jsonl(tmp_path / "p.jsonl", [{"problem": "a b c"}])
    out = str(tmp_path / "o")
    result = runner.invoke(app, ["dedup", "--input", str(src), "--out", out, "--bands", "20", "--rows", "8"])
    assert (result.exit_code, result.output) == (2, "Error: bands × rows = 160 exceeds num_perm = 128\n")
    result = runner.invoke(app, ["decontaminate", "--input", str(src), "--out", out, "--ngram", "10"])
    assert (result.exit_code, result.output) == (2, "Error: ngram must be one of 8, 13, 32 (got 10)\n")


def test_cli_passes_only_given_options(tmp_path):
    src = write_jsonl(tmp_path / "p.jsonl", [{"problem": "a b c"}, {"problem": "A  b c"}])
    result = runner.invoke(app, ["dedup", "--input", str(src), "--out", str(tmp_path / "o"), "--threshold", "0.5"])
    assert result.exit_code == 0, result.output
    expected = MinHashConfig(threshold=0.5)
    bands, rows = band_rows(expected)
    assert json.loads(result.output)["minhash"] == {**dataclasses.asdict(expected), "bands": bands, "rows": rows}
    result = runner.invoke(
        app, ["decontaminate", "--input", str(src), "--out", str(tmp_path / "d"), "--benchmarks", "aime24"]
    )
    report = json.loads(result.output)
    assert (report["methods"], report["ngram"]) == (list(DecontamConfig().methods), DecontamConfig().ngram)
    assert list(report["benchmarks"]) == ["aime24"]


def test_bundled_benchmarks_found_in_an_installed_prefix(tmp_path, monkeypatch):
    """A wheel install has no source tree: the snapshots come from <prefix>/share/cotdistill."""
    share = tmp_path / "prefix/share/cotdistill/data/benchmarks"
    share.mkdir(parents=True)
    shutil.copy(REPO / "data/benchmarks/aime24.jsonl", share)
    monkeypatch.setattr("pipeline.resources._SOURCE_ROOT", tmp_path / "no-source-tree")
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "prefix"))
    assert len(load_bundled("aime24")) == 30
    with pytest.raises(UserError, match=r"aime25.jsonl: bundled benchmark file missing"):
        load_bundled("aime25")
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "empty"))
    with pytest.raises(UserError, match=r"bundled folder 'data/benchmarks' not found"):
        load_bundled("aime24")
