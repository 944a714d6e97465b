"""Test helpers shared by the whole suite (import them; conftest.py only holds fixtures)."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Iterator

import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
TEACHER = "embedded:smollm2-135m"
DISTILL = str(Path(sys.executable).with_name("distill"))  # the console script of the test interpreter


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
        "generate": {
            "teacher": TEACHER,
            "n": 2,
            "prompt_template": "math_boxed",
            "sampling": {"temperature": 0.7, "max_tokens": 64},
            "allow_short_max_tokens": True,
            **generate,
        },
        "verify": {"timeout_s": 10, "workers": 2},
    }


def write_recipe(path: Path, recipe: dict) -> Path:
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path


# The five problems of the `problems` fixture and the gold answers FakeTeacherBackend gives.
PROBLEMS = [
    {"id": "p1", "problem": "What is $2+3$?", "answer": "5"},
    {"id": "p2", "problem": "What is $\\frac{1}{2}+\\frac{1}{4}$?", "answer": "\\frac{3}{4}"},
    {"id": "p3", "problem": "Compute $7 \\cdot 6$.", "answer": "42"},
    {"id": "p4", "problem": "TRUNCATE What is $10-1$?", "answer": "9"},
    {"id": "p5", "problem": "What is $3^2$?", "answer": "9"},
]
GOLD = {p["problem"]: p["answer"] for p in PROBLEMS if "TRUNCATE" not in p["problem"]}


# --- Sandbox: the hostile-program corpus, shared by the cold and warm sandbox tests. ---
import re  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

import psutil  # noqa: E402
import pytest  # noqa: E402

from verifiers import code as code_verifier  # noqa: E402
from verifiers.sandbox import bwrap_path  # noqa: E402
from verifiers.sandbox.slots import SLOT_COUNT, slot_uid  # noqa: E402

HOSTILE = REPO / "tests" / "verifiers" / "sandbox" / "hostile"
SECRET = "hf_FAKE_secret_" + uuid.uuid4().hex  # the `world` fixture puts it in our environment
HOSTILE_TIME_LIMIT = 1.0


def hostile_header(path: Path, key: str) -> set[str]:
    """The words of a ``# key: ...`` line in a hostile program (its modes, expected verdicts)."""
    m = re.search(rf"^# {key}: (.*)$", path.read_text(), re.M)
    return set(m.group(1).split()) if m else set()


def hostile_cases() -> list:
    """pytest params (path, mode) for every hostile program and each mode it names."""
    cases = []
    for path in sorted(HOSTILE.glob("*.py")):
        for mode in sorted(hostile_header(path, "modes")):
            marks = [pytest.mark.skipif(mode == "bwrap" and not bwrap_path(), reason="bwrap unavailable")]
            cases.append(pytest.param(path, mode, id=f"{path.stem}-{mode}", marks=marks))
    return cases


def sandbox_leftovers(marker: str) -> list[psutil.Process]:
    """Processes of this test's sandboxes: our slot uids, or the marker on their command line."""
    uids = {slot_uid(s) for s in range(SLOT_COUNT)}
    found = []
    for proc in psutil.process_iter(["uids", "cmdline"]):
        try:
            if proc.info["uids"].real in uids or marker in " ".join(proc.info["cmdline"] or []):
                found.append(proc)
        except (psutil.Error, TypeError):
            pass
    return found


def assert_hostile_contained(path: Path, mode: str, world: tuple) -> None:
    """Run a hostile program as a stdin solution: the verdict it expects, in time, nothing leaked
    (secret, canary file, network) and nothing left running."""
    listener, canary = world
    marker = "cotdistill-hostile-" + uuid.uuid4().hex
    problem = {
        "tests": [{"input": f"{listener.getsockname()[1]}\n{canary}\n{marker}\n", "output": "no program prints this"}],
        "time_limit_s": HOSTILE_TIME_LIMIT,
    }
    verdict = code_verifier.check(problem, f"```python\n{path.read_text()}\n```", mode=mode)

    assert verdict.reason in hostile_header(path, "expect"), verdict
    assert verdict.detail["isolation"] == mode
    # Stopped in time, measured in CPU seconds (the same on a busy machine), not wall clock.
    assert verdict.detail.get("cpu_s", 0) <= verdict.detail.get("cpu_limit_s", HOSTILE_TIME_LIMIT) + 1, verdict
    assert SECRET not in repr(verdict)
    assert canary.read_text() == "untouched"
    with pytest.raises(BlockingIOError):
        listener.accept()
    deadline = time.monotonic() + 2  # a PID namespace is torn down right after its init dies
    while sandbox_leftovers(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sandbox_leftovers(marker) == []


def load_benchmark(name: str) -> ModuleType:
    """``benchmarks/<name>.py`` as a module (benchmarks are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def cpu_hogs(per_core: int = 2) -> Iterator[None]:
    """``per_core`` spinning processes per core while the block runs: a busy machine."""
    spin = [sys.executable, "-c", "while True: pass"]
    hogs = [subprocess.Popen(spin) for _ in range(per_core * (os.cpu_count() or 1))]
    try:
        yield
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
