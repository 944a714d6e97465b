"""The server backend against vLLM's real OpenAI server (`distill serve-embedded`)."""

import json
import os
import signal
import socket
import subprocess
import time
from contextlib import contextmanager

import httpx
import pyarrow.parquet as pq
import pytest

from helpers import DISTILL, REPO, base_recipe, write_jsonl, write_recipe

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _serve(tmp_path_factory, *args: str):
    port = _free_port()
    log = (tmp_path_factory.mktemp("server") / "server.log").open("w")
    proc = subprocess.Popen(
        [DISTILL, "serve-embedded", "--port", str(port), "--max-model-len", "1024", *args],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"server exited with {proc.returncode}; see {log.name}"
        try:
            if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(2)
    else:
        pytest.fail("server did not come up in 300 s")
    try:
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with _serve(tmp_path_factory) as url:
        yield url


def test_reward_model_through_the_real_server(tmp_path_factory):
    """A reward model served by vLLM (pooling runner, /classify) scores conversations like the
    offline engine does; an over-long conversation gets no score instead of failing the batch."""
    from pipeline.backends.openai_server import OpenAIServerBackend

    teacher = "embedded:smollm2-135m-yesno-reward"
    convs = [
        [{"role": "user", "content": "What is 2 + 2?"}, {"role": "assistant", "content": answer}]
        for answer in ("4", "5", "All work and no play. " * 400)
    ]
    with _serve(tmp_path_factory, "--teacher", teacher) as url:
        backend = OpenAIServerBackend(url, teacher, max_concurrency=2)
        scores = backend.reward(convs)
        assert backend.reward(convs[:2]) == scores[:2]
    assert all(0 < s < 1 for s in scores[:2]) and scores[0] != scores[1]
    assert scores[2] is None


def test_generate_through_the_real_server(server, tmp_path):
    bundled = [json.loads(line) for line in (REPO / "data/problems/quickstart_math.jsonl").open()][:3]
    long_problem = {"id": "too-long", "answer": "1", "problem": "Read this. " + "All work and no play. " * 300}
    problems = write_jsonl(tmp_path / "p.jsonl", bundled + [long_problem])
    recipe = base_recipe(
        problems,
        teacher=None,
        reasoning_format="plain",
        teachers=[{"model": "embedded:smollm2-135m", "backend": "openai", "base_url": server, "max_concurrency": 4}],
        sampling={"temperature": 0.7, "max_tokens": 128},
    )
    path = write_recipe(tmp_path / "server.yaml", recipe)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}

    def run() -> subprocess.CompletedProcess:
        return subprocess.run(
            [DISTILL, "run", str(path), "--run-dir", str(tmp_path / "run")],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
        )

    first = run()
    assert first.returncode == 0, first.stderr[-3000:]
    status = json.loads(
        subprocess.run(
            [DISTILL, "status", str(tmp_path / "run"), "--json"], capture_output=True, text=True, env=env, check=True
        ).stdout
    )["stages"]
    gen = status["generate"]
    assert (gen["rows_in"], gen["rows_kept"], gen["drop_reasons"]) == (4, 6, {"prompt_too_long": 1})
    rows = [
        r for i in range(2) for r in pq.read_table(tmp_path / "run" / "generate" / f"part-{i:05d}.parquet").to_pylist()
    ]
    assert {r["teacher_model"] for r in rows} == {"embedded:smollm2-135m"}
    assert all(r["n_output_tokens"] > 0 and r["n_prompt_tokens"] > 0 for r in rows)
    assert sorted((r["problem_id"], r["sample_idx"]) for r in rows) == sorted(
        (p["id"], i) for p in bundled for i in range(2)
    )

    def data_files() -> dict:  # each invocation adds its own log under logs/
        return {p: p.stat().st_mtime_ns for p in (tmp_path / "run").rglob("*") if p.is_file() and "logs" not in p.parts}

    before = data_files()
    assert run().returncode == 0
    assert data_files() == before
