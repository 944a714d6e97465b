"""Throughput of `distill generate` relative to the raw engine, offline and through a server.

offline: one in-process engine; raw = `vllm.LLM.chat` on exactly the prompts and SamplingParams
distill builds; distill = the generate stage (streaming, checkpoints, Parquet writes).
server: vLLM's OpenAI server on the embedded teacher (`distill serve-embedded`); raw = a plain
asyncio/httpx client posting the same chat requests with the same concurrency; distill = the
generate stage with backend: openai. Rounds alternate raw / distill so machine drift hits both;
engine start-up is excluded. Prints ``generate_overhead_ratio_<mode>=<distill tok/s / raw tok/s>``.

    .venv/bin/python benchmarks/generate_overhead.py [--mode both] [--problems 24] [--n 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _recipe(args, source: Path, teacher: dict) -> dict:
    return {
        "name": "bench",
        "ingest": {"sources": [{"path": str(source), "limit": args.problems}], "rows_per_part": args.problems},
        "generate": {"teachers": [teacher], "n": args.n, "reasoning_format": "plain", "checkpoint_every": 64,
                     "sampling": {"temperature": 0.7, "top_p": 0.95, "max_tokens": args.max_tokens}},
    }


def _compare(rounds: int, raw: Callable, distill: Callable, mode: str) -> None:
    raw_tps, distill_tps = [], []
    for r in range(rounds):
        for name, fn, sink in (("raw", raw, raw_tps), ("distill", distill, distill_tps)):
            tokens, seconds = fn()
            sink.append(tokens / seconds)
            print(f"{mode} round {r} {name:8s} {tokens:6d} tokens in {seconds:6.1f}s = {tokens / seconds:7.1f} tok/s")
    raw_med, distill_med = statistics.median(raw_tps), statistics.median(distill_tps)
    print(f"{mode}: raw_tokens_per_s={raw_med:.1f} distill_tokens_per_s={distill_med:.1f}")
    print(f"generate_overhead_ratio_{mode}={distill_med / raw_med:.3f}")


def _stage_runner(recipe_dict: dict, work: Path, backend_for: Callable, source: Path, count: int):
    """distill side: the generate stage over an ingested run dir; returns (run, conversations, stage)."""
    from pipeline.prompts import load_template, render
    from pipeline.recipe import parse_recipe
    from pipeline.stage import run_stage
    from pipeline.stages.generate import GenerateStage
    from pipeline.stages.ingest import IngestStage

    recipe = parse_recipe(recipe_dict)
    run_dir = work / "run"
    run_stage(IngestStage(recipe), run_dir)
    teacher = recipe.generate.teachers[0]
    stage = GenerateStage(recipe, backends={teacher.name: backend_for(teacher, recipe.seed)})
    template = load_template(recipe.generate.prompt_template)
    problems = [json.loads(line) for line in source.open()][:count]
    conversations = [[{"role": "user", "content": render(template, problem=p["problem"])}] for p in problems]

    def run() -> tuple[int, float]:
        start = time.perf_counter()
        report = run_stage(stage, run_dir, force=True)
        elapsed = time.perf_counter() - start
        assert report.parts_done == 1
        stats = json.loads((run_dir / "generate" / "part-00000.stats.json").read_text())
        return stats["counters"]["n_output_tokens"], elapsed

    return run, conversations, stage


def offline(args, source: Path) -> None:
    from pipeline.backends import Request, load_backend
    from pipeline.stages.generate import request_seed

    work = Path(tempfile.mkdtemp(prefix="gen-overhead-"))
    distill, conversations, stage = _stage_runner(_recipe(args, source, {"model": args.teacher}), work, load_backend,
                                                  source, args.problems)
    backend = next(iter(stage.backends.values()))
    problems = [json.loads(line) for line in source.open()][: args.problems]
    params = [backend.sampling_params(Request(c, args.n, request_seed(0, p["id"]), stage.sampling))
              for c, p in zip(conversations, problems)]

    def raw() -> tuple[int, float]:
        start = time.perf_counter()
        outputs = backend.llm.chat(conversations, sampling_params=params, use_tqdm=False)
        return sum(len(c.token_ids) for o in outputs for c in o.outputs), time.perf_counter() - start

    backend.llm.chat(conversations[:2], sampling_params=params[:2], use_tqdm=False)  # warm-up
    _compare(args.rounds, raw, distill, "offline")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server(args, source: Path) -> None:
    import httpx

    from pipeline.backends import load_backend

    port = _free_port()
    url = f"http://127.0.0.1:{port}/v1"
    proc = subprocess.Popen([str(Path(sys.executable).with_name("distill")), "serve-embedded", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        while True:
            try:
                if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(2)
        teacher = {"model": args.teacher, "backend": "openai", "base_url": url, "max_concurrency": args.concurrency}
        work = Path(tempfile.mkdtemp(prefix="gen-overhead-server-"))
        distill, conversations, stage = _stage_runner(_recipe(args, source, teacher), work, load_backend, source,
                                                      args.problems)
        bodies = [{"model": args.teacher, "messages": c, "n": args.n, **stage.sampling} for c in conversations]

        async def post_all() -> int:
            limit = asyncio.Semaphore(args.concurrency)
            async with httpx.AsyncClient(timeout=600) as client:
                async def one(body: dict) -> int:
                    async with limit:
                        response = await client.post(f"{url}/chat/completions", json=body)
                        return response.json()["usage"]["completion_tokens"]

                return sum(await asyncio.gather(*(one(b) for b in bodies)))

        def raw() -> tuple[int, float]:
            start = time.perf_counter()
            tokens = asyncio.run(post_all())
            return tokens, time.perf_counter() - start

        _compare(args.rounds, raw, distill, "server")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["offline", "server", "both"], default="both")
    parser.add_argument("--problems", type=int, default=24)
    parser.add_argument("--n", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=192)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--teacher", default="embedded:smollm2-135m")
    args = parser.parse_args()
    source = REPO / "data" / "problems" / "gsm8k_train_sample.jsonl"
    if args.mode in ("offline", "both"):
        offline(args, source)
    if args.mode in ("server", "both"):
        server(args, source)


if __name__ == "__main__":
    main()
