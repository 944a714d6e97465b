"""Throughput of the first-correct-solution search (shorten) against the verify stage, on ~30k-char traces.

Both run the way the pipeline runs them: ``verifiers.batch.check_all(fn, items, workers=1)``, one
worker process on one core, a fresh worker per call (as per part in a stage run), so traces/s here
is traces/s/core including the pool's own cost:

- (a) verify: ``verifiers.math.check(gold, join_think(reasoning, answer_text, True), problem=...)``;
  it reads only the answer part after ``</think>``;
- (b) shorten: ``verifiers.first_correct.find_first_correct(gold, reasoning, problem=...)``; it scans
  the whole reasoning for answer statements and verifies them in order until one is correct.

Traces (real text only, from ``../shared/traces``; nothing generated): every math row with a closed
think block of ``thought_anchors_r1distill_math.jsonl`` and ``trace_topology_math500.jsonl`` (the two
files that hold several traces per problem), ``VARIANTS`` times each. A row whose reasoning is
already >= ``LONG_CHARS`` stays as it is (there are only a few); a shorter one is lengthened to
``TARGET_CHARS`` by putting whole reasoning paragraphs of the *other* traces of the same problem in
front of its own reasoning (taken in order from a different start per variant, cycling when they
run out), so its own reasoning still leads to its own answer part at the end.

One untimed warm-up call of each side starts the fork server, then ``--repeats`` timed pairs in
ABAB order. Prints each pair, min/median traces/s per side, the ratio (b)/(a) (goal >= 0.3), how
often a cut was found and how much reasoning it removes (FCS, and FCS+1 with keep_reflection) on
the timed traces and on the real rows as they are (all three math files, verify-accepted rows), and
``shorten_fcs_ratio=<median of the paired ratios>``. Then the stages themselves, side by side on
the same rows: verify's ``process`` against shorten's (first_correct search + re-verification of
every cut trace + token counts), ending with ``shorten_stage_ratio=<median>``.

    .venv/bin/python benchmarks/shorten.py [--repeats 7] [--traces 200] [--variants 2]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from verifiers import math as math_verifier  # noqa: E402
from verifiers.batch import check_all  # noqa: E402
from verifiers.first_correct import find_first_correct  # noqa: E402
from verifiers.trace import join_think  # noqa: E402

TRACES = Path(__file__).resolve().parents[2] / "shared" / "traces"
FILES = ["thought_anchors_r1distill_math.jsonl", "trace_topology_math500.jsonl"]
REAL_FILES = [*FILES, "skythought_sky_t1_student_math.jsonl"]
TARGET_CHARS = 30_000
LONG_CHARS = 25_000
VARIANTS = 2
GOAL = 0.3
TIMEOUT_S = 60.0


def build(variants: int, seed: int = 0) -> tuple[list[dict], int]:
    """(traces, how many of them are real rows already >= LONG_CHARS)."""
    rng = random.Random(seed)
    rows = [json.loads(line) for name in FILES for line in (TRACES / name).open()]
    rows = [r for r in rows if r["domain"] == "math" and r["answer_text"] is not None and r["reasoning"]]
    by_problem = defaultdict(list)
    for row in rows:
        by_problem[row["problem"]].append(row)
    traces, long_real = [], 0
    for row in rows:
        if len(row["reasoning"]) >= LONG_CHARS:
            long_real += 1
            traces.append({**row, "built": False})
            continue
        paragraphs = [p for o in by_problem[row["problem"]] if o is not row for p in o["reasoning"].split("\n\n")]
        paragraphs = [p for p in paragraphs if p.strip()]
        if not paragraphs:
            continue
        for _ in range(variants):
            filler, i = [], rng.randrange(len(paragraphs))
            while sum(len(p) + 2 for p in filler) + len(row["reasoning"]) < TARGET_CHARS:
                filler.append(paragraphs[i % len(paragraphs)])
                i += 1
            traces.append({**row, "reasoning": "\n\n".join([*filler, row["reasoning"]]), "built": True})
    rng.shuffle(traces)
    return traces, long_real


def _timed(fn, items: list[tuple]) -> tuple[list, float]:
    start = time.perf_counter()
    verdicts = check_all(fn, items, timeout_s=TIMEOUT_S, workers=1)
    return verdicts, time.perf_counter() - start


def _reduction(traces: list[dict], verdicts: list) -> tuple[int, float]:
    """(cuts found, mean share of reasoning characters removed where found)."""
    cuts = [1 - v.detail["cut"] / len(t["reasoning"]) for t, v in zip(traces, verdicts, strict=True) if v.ok]
    return len(cuts), (statistics.fmean(cuts) if cuts else 0.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7, help="timed verify/shorten pairs (after one warm-up pair)")
    ap.add_argument("--traces", type=int, default=200, help="traces per timed call (at most what the files give)")
    ap.add_argument("--variants", type=int, default=VARIANTS, help="lengthened versions of each short row")
    args = ap.parse_args()
    if min(args.repeats, args.traces, args.variants) < 1:
        ap.error("--repeats, --traces and --variants must be >= 1")
    traces, long_real = build(args.variants)
    traces = traces[: args.traces]
    n, chars = len(traces), [len(t["reasoning"]) for t in traces]
    built = sum(t["built"] for t in traces)
    print(
        f"traces={n} reasoning chars mean={statistics.fmean(chars):.0f} min={min(chars)} max={max(chars)}; "
        f"real rows >= {LONG_CHARS} chars: {n - built} (of {long_real} in the files); "
        f"{built} built to >= {TARGET_CHARS} chars by putting real reasoning paragraphs of other traces of the "
        f"same problem before the row's own reasoning"
    )
    verify_items = [
        (t["gold"], join_think(t["reasoning"], t["answer_text"], True), {"problem": t["problem"]}) for t in traces
    ]
    shorten_items = [(t["gold"], t["reasoning"], {"problem": t["problem"]}) for t in traces]

    # Warm-up: shorten first, so the fork server preloads verifiers.first_correct (and with it verifiers.math).
    _timed(find_first_correct, shorten_items[:2])
    _timed(math_verifier.check, verify_items[:2])
    load_before = os.getloadavg()[0]
    verify_tps, shorten_tps, ratios = [], [], []
    for i in range(args.repeats):
        verified, a_s = _timed(math_verifier.check, verify_items)
        cuts, b_s = _timed(find_first_correct, shorten_items)
        verify_tps.append(n / a_s)
        shorten_tps.append(n / b_s)
        ratios.append(shorten_tps[-1] / verify_tps[-1])
        print(
            f"pair {i:2d} verify {a_s:6.2f}s {verify_tps[-1]:7.1f} traces/s | shorten {b_s:6.2f}s "
            f"{shorten_tps[-1]:7.1f} traces/s | ratio {ratios[-1]:.3f}",
            flush=True,
        )
    median = statistics.median(ratios)
    print(
        f"verify  traces/s/core: min {min(verify_tps):.1f} median {statistics.median(verify_tps):.1f}\n"
        f"shorten traces/s/core: min {min(shorten_tps):.1f} median {statistics.median(shorten_tps):.1f}\n"
        f"ratio shorten/verify over {args.repeats} pairs: median {median:.3f}, min-max {min(ratios):.3f}-"
        f"{max(ratios):.3f}; goal >= {GOAL}: {'met' if median >= GOAL else 'missed'}; 1-min load average "
        f"{load_before:.1f} -> {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    errors = sum(v.reason in ("timeout", "error") for v in cuts)
    found, reduction = _reduction(traces, cuts)
    correct = [i for i, v in enumerate(verified) if v.ok]
    found_correct, reduction_correct = _reduction([traces[i] for i in correct], [cuts[i] for i in correct])
    print(f"shorten verdicts: {dict(Counter(v.reason for v in cuts).most_common())} (timeouts/errors: {errors})")
    share_correct = found_correct / max(1, len(correct))
    print(
        f"FCS cut found: {found}/{n} traces ({found / n:.1%}), mean reasoning chars removed where found "
        f"{reduction:.1%}; on the {len(correct)} traces verify accepts: {found_correct} ({share_correct:.1%}), "
        f"mean removed {reduction_correct:.1%}"
    )
    plus = [find_first_correct(t["gold"], t["reasoning"], keep_reflection=True, problem=t["problem"]) for t in traces]
    found_plus, reduction_plus = _reduction(traces, plus)
    print(
        f"FCS+1 (keep_reflection) cut found: {found_plus}/{n} ({found_plus / n:.1%}), mean removed {reduction_plus:.1%}"
    )
    # The built traces start with other traces' text, whose answers often come first: the shares above
    # flatter FCS. The real rows as they are (all math files, no lengthening) give the honest shares.
    real = [json.loads(line) for name in REAL_FILES for line in (TRACES / name).open()]
    real = [r for r in real if r["domain"] == "math" and r["answer_text"] is not None and r["reasoning"]]
    accepted = [
        r for r in real if math_verifier.check(r["gold"], join_think(r["reasoning"], r["answer_text"], True)).ok
    ]
    for name, keep in (("FCS", False), ("FCS+1", True)):
        verdicts = [
            find_first_correct(r["gold"], r["reasoning"], keep_reflection=keep, problem=r["problem"]) for r in accepted
        ]
        got, removed = _reduction(accepted, verdicts)
        print(
            f"real rows unchanged ({len(accepted)} verify accepts, of {len(real)} closed): {name} cut found "
            f"{got} ({got / max(1, len(accepted)):.1%}), mean removed {removed:.1%}"
        )
    stage_median = stage_ratio(traces, args.repeats)
    print(f"shorten_fcs_ratio={median:.3f}", flush=True)
    print(f"shorten_stage_ratio={stage_median:.3f}", flush=True)


def stage_ratio(traces: list[dict], repeats: int) -> float:
    """The two stages as they run in a pipeline, on the same rows, one worker each: verify's
    ``process`` against shorten's (first_correct: the search, re-verification of every cut trace,
    token counts of the new text). Returns the median of the paired ratios."""
    from collections import Counter as Stats

    from pipeline.recipe import parse_recipe
    from pipeline.stages.shorten import ShortenStage
    from pipeline.stages.verify import VerifyStage

    recipe = parse_recipe(
        {
            "name": "bench",
            "ingest": {"sources": [{"path": "x.jsonl", "kind": "traces"}]},
            "verify": {"workers": 1, "timeout_s": TIMEOUT_S},
            "grade": {},
            "shorten": {"strategy": "first_correct", "workers": 1, "timeout_s": TIMEOUT_S},
        }
    )
    rows = [
        {
            "problem_id": f"p{i}",
            "domain": "math",
            "problem": t["problem"],
            "reference_answer": t["gold"],
            "teacher": "t",
            "sample_idx": 0,
            "reasoning": t["reasoning"],
            "answer_text": t["answer_text"],
            "think_closed": True,
            "n_output_tokens": 0,
            "difficulty": "medium",
        }
        for i, t in enumerate(traces)
    ]
    verify, shorten = VerifyStage(recipe), ShortenStage(recipe)
    verified, _ = verify.process(rows, Stats())  # untimed warm-up; gives shorten its verdicts
    shorten.process(verified[:2], Stats())
    ratios = []
    for i in range(repeats):
        start = time.perf_counter()
        verify.process(rows, Stats())
        a_s = time.perf_counter() - start
        start = time.perf_counter()
        out, _ = shorten.process(verified, Stats())
        b_s = time.perf_counter() - start
        ratios.append(a_s / b_s)
        changed = sum(r["shorten_status"] == "shortened" for r in out)
        print(
            f"stage pair {i:2d} verify {len(rows) / a_s:7.1f} traces/s | shorten {len(rows) / b_s:7.1f} traces/s "
            f"({changed} shortened, each re-verified) | ratio {ratios[-1]:.3f}",
            flush=True,
        )
    median = statistics.median(ratios)
    print(f"stage ratio shorten/verify: median {median:.3f}, min-max {min(ratios):.3f}-{max(ratios):.3f}")
    return median


if __name__ == "__main__":
    main()
