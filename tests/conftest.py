import json
import os
from pathlib import Path

import pytest
import yaml

# Tests never reach the network: no Hub downloads of weights or datasets.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def write_jsonl(path: Path, rows: list) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:
        for row in rows:
            f.write((row if isinstance(row, str) else json.dumps(row)) + "\n")
    return path


def base_recipe(problems_path: Path, **generate) -> dict:
    return {
        "name": "t",
        "seed": 0,
        "ingest": {"sources": [{"path": str(problems_path), "domain": "math"}], "rows_per_part": 2},
        "generate": {"teacher": "embedded:smollm2-135m", "n": 2, "prompt_template": "math_boxed",
                     "sampling": {"temperature": 0.7, "max_tokens": 64}, "allow_short_max_tokens": True,
                     **generate},
        "verify": {"timeout_s": 10, "workers": 2},
    }


def write_recipe(path: Path, recipe: dict) -> Path:
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path


@pytest.fixture
def problems(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "problems.jsonl", [
        {"id": "p1", "problem": "What is $2+3$?", "answer": "5"},
        {"id": "p2", "problem": "What is $\\frac{1}{2}+\\frac{1}{4}$?", "answer": "\\frac{3}{4}"},
        {"id": "p3", "problem": "Compute $7 \\cdot 6$.", "answer": "42"},
        {"id": "p4", "problem": "TRUNCATE What is $10-1$?", "answer": "9"},
        {"id": "p5", "problem": "What is $3^2$?", "answer": "9"},
    ])
