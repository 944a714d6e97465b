"""Throughput of `distill generate` relative to raw `vllm.LLM.chat` on the same prompts.

Both sides share one engine (one LLM per process), the same rendered prompts and the same
sampling parameters; rounds alternate raw / distill so machine drift hits both. Engine start-up
is excluded from both. Prints ``generate_overhead_ratio=<distill tokens/s / raw tokens/s>``.

    .venv/bin/python benchmarks/generate_overhead.py [--problems 24] [--n 4] [--max-tokens 192]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=24)
    parser.add_argument("--n", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=192)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--teacher", default="embedded:smollm2-135m")
    args = parser.parse_args()

    from pipeline.backends import Request, load_backend
    from pipeline.prompts import load_template, render
    from pipeline.recipe import parse_recipe
    from pipeline.stage import run_stage
    from pipeline.stages.generate import GenerateStage, request_seed
    from pipeline.stages.ingest import IngestStage

    work = Path(tempfile.mkdtemp(prefix="gen-overhead-"))
    source = REPO / "data" / "problems" / "gsm8k_train_sample.jsonl"
    recipe = parse_recipe({
        "name": "bench",
        "ingest": {"sources": [{"path": str(source), "limit": args.problems}], "rows_per_part": args.problems},
        "generate": {"teacher": args.teacher, "n": args.n, "reasoning_format": "plain",
                     "sampling": {"temperature": 0.7, "top_p": 0.95, "max_tokens": args.max_tokens}},
    })
    run_dir = work / "run"
    run_stage(IngestStage(recipe), run_dir)

    teacher = recipe.generate.teachers[0]
    backend = load_backend(teacher, recipe.seed)
    stage = GenerateStage(recipe, backends={teacher.name: backend})
    # The raw side: exactly the prompts and SamplingParams distill builds, straight into llm.chat.
    problems = [json.loads(line) for line in source.open()][: args.problems]
    template = load_template(recipe.generate.prompt_template)
    conversations = [[{"role": "user", "content": render(template, problem=p["problem"])}] for p in problems]
    params = [backend.sampling_params(Request(c, args.n, request_seed(recipe.seed, p["id"]), stage.sampling))
              for c, p in zip(conversations, problems)]

    def raw() -> tuple[int, float]:
        start = time.perf_counter()
        outputs = backend.llm.chat(conversations, sampling_params=params, use_tqdm=False)
        elapsed = time.perf_counter() - start
        return sum(len(c.token_ids) for o in outputs for c in o.outputs), elapsed

    def distill() -> tuple[int, float]:
        start = time.perf_counter()
        report = run_stage(stage, run_dir, force=True)
        elapsed = time.perf_counter() - start
        stats = json.loads((run_dir / "generate" / "part-00000.stats.json").read_text())
        assert report.parts_done == 1
        return stats["counters"]["n_output_tokens"], elapsed

    backend.llm.chat(conversations[:2], sampling_params=params[:2], use_tqdm=False)  # warm-up
    raw_tps, distill_tps = [], []
    for r in range(args.rounds):
        for name, fn, sink in (("raw", raw, raw_tps), ("distill", distill, distill_tps)):
            tokens, seconds = fn()
            sink.append(tokens / seconds)
            print(f"round {r} {name:8s} {tokens:6d} tokens in {seconds:6.1f}s = {tokens / seconds:7.1f} tokens/s")
    raw_med, distill_med = statistics.median(raw_tps), statistics.median(distill_tps)
    print(f"raw_tokens_per_s={raw_med:.1f} distill_tokens_per_s={distill_med:.1f}")
    print(f"generate_overhead_ratio={distill_med / raw_med:.3f}")


if __name__ == "__main__":
    main()
