"""Fixtures only; helpers live in tests/helpers.py."""

import os
from pathlib import Path

import pytest

from helpers import PROBLEMS, write_jsonl

# Tests never reach the network: no Hub downloads of weights or datasets.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
ENVIRON = os.environ


@pytest.fixture(autouse=True)
def _same_environ_object():
    """Put back the one ``os.environ`` if a test's library swapped it: ``Dataset.map(num_proc=...)``
    assigns ``os.environ`` a deep copy, and what bound the original (rich's Console reads COLUMNS
    from it) then no longer sees the environment later tests set."""
    yield
    if os.environ is not ENVIRON:
        current = dict(os.environ)
        for name in set(ENVIRON) - set(current):
            del ENVIRON[name]
        ENVIRON.update(current)
        os.environ = ENVIRON  # noqa: B003 (putting back the original object is the point)


@pytest.fixture
def problems(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "problems.jsonl", PROBLEMS)


@pytest.fixture
def fake_teacher(monkeypatch):
    """Stages built by the registry (CLI, executors) get FakeTeacherBackend instead of vLLM."""
    from fakes import FakeTeacherBackend
    from helpers import GOLD

    monkeypatch.setattr("pipeline.stages.generate.load_backend", lambda teacher, seed: FakeTeacherBackend(GOLD))
    monkeypatch.setattr("pipeline.stages.generate.check_engine_args", lambda args: None)
