"""Throughput of ``verifiers.math.check`` against naive math-verify on ~30k-character traces.

Traces (all real text, from ``../shared/traces``; nothing generated):

- every math row of ``thought_anchors_r1distill_math.jsonl``, ``trace_topology_math500.jsonl``
  and ``skythought_sky_t1_student_math.jsonl`` (388 rows), ``VARIANTS`` times each;
- a row shorter than ``TARGET_CHARS`` is lengthened by inserting *filler* right where its own
  reasoning starts (after ``<think>`` / ``<|begin_of_thought|>``): whole paragraphs of real
  reasoning from other rows of the same file, taken in order from a random start (a different
  start per variant), until the trace reaches ``TARGET_CHARS``. The row's own reasoning, its
  ``</think>`` and its real answer part follow unchanged, so the end of the thinking still leads
  to the answer. Rows already longer stay as they are, except truncated rows (no closed think
  block), which are cut to ``TARGET_CHARS`` (what a max-tokens stop at that length would give).

Measured in one process, one core, side by side: after one untimed pass of both over all
traces (the LaTeX parser (ANTLR) builds its prediction caches on the first parse of each new
shape of expression, and without the warm-up whichever side runs first pays for the other;
steady-state throughput is what a long verify stage sees), ``--rounds`` timed passes of each over
the same traces in the same shuffled order, taken in chunks of ``CHUNK`` traces: each chunk runs
on one side then the other (which side first alternates), so that a change of machine load
during the run weighs on both sides alike. The ratio is of the summed times:

- ours:  ``check(gold, completion)``; our answer-parse cache is cleared before every trace so
  repeated answers across variants are not free (the gold cache is kept: golds repeat per
  problem in a real verify stage, and the naive side gets the same by parsing each gold once;
  an answer written exactly as its gold, up to layout, reuses the gold's parse);
- naive: ``verify(parse("$gold$"), parse(completion))`` with math-verify's defaults, including
  its own 5 s ``signal.alarm`` timeouts (main thread of this process, so they work).

Agreement is counted on traces whose think block closed (both sides see the same answer).
Run: ``.venv/bin/python benchmarks/verify_math.py [--variants 3] [--rounds 2]``.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import time
from pathlib import Path

from math_verify import parse, verify

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import verifiers.math as vm  # noqa: E402

TRACES = Path(__file__).resolve().parents[2] / "shared" / "traces"
FILES = ["thought_anchors_r1distill_math.jsonl", "trace_topology_math500.jsonl", "skythought_sky_t1_student_math.jsonl"]
TARGET_CHARS = 30_000
VARIANTS = 3
CHUNK = 50  # traces per side-by-side step: short against load changes, long against shared caches


def lengthen(row: dict, paragraphs: list[str], rng: random.Random) -> str:
    text = row["completion"]
    closed = "</think>" in text or "<|end_of_thought|>" in text
    if not closed:
        return text[:TARGET_CHARS]
    if len(text) >= TARGET_CHARS:
        return text
    at = text.find(row["reasoning"][:200]) if row["reasoning"] else -1
    at = max(at, 0)
    filler, i = [], rng.randrange(len(paragraphs))
    while sum(map(len, filler)) + len(text) < TARGET_CHARS:
        filler.append(paragraphs[i % len(paragraphs)] + "\n\n")
        i += 1
    return text[:at] + "".join(filler) + text[at:]


def answer_part(completion: str) -> str:
    for tag in ("</think>", "<|end_of_thought|>"):
        if tag in completion:
            return completion.split(tag, 1)[1]
    return ""


def build(variants: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    traces = []
    for name in FILES:
        rows = [json.loads(line) for line in (TRACES / name).open()]
        rows = [r for r in rows if r["domain"] == "math"]
        for row in rows:
            others = [
                p for r in rows if r["id"] != row["id"] for p in (r["reasoning"] or "").split("\n\n") if p.strip()
            ]
            for v in range(variants):
                completion = lengthen(row, others, rng)
                closed = "</think>" in completion or "<|end_of_thought|>" in completion
                traces.append(
                    {
                        "id": f"{row['id']}#{v}",
                        "gold": row["gold"],
                        "completion": completion,
                        "closed": closed,
                        "label": row["label"],
                    }
                )
    rng.shuffle(traces)
    return traces


def run_ours(traces: list[dict]) -> tuple[list[bool], float]:
    verdicts, start = [], time.perf_counter()
    for t in traces:
        vm._parse_latex.cache_clear()
        verdicts.append(vm.check(t["gold"], t["completion"]))
    return verdicts, time.perf_counter() - start


def run_naive(traces: list[dict]) -> tuple[list[bool], float, int]:
    golds: dict[str, list] = {}
    results, timeouts, start = [], 0, time.perf_counter()
    for t in traces:
        t0 = time.perf_counter()
        if t["gold"] not in golds:
            golds[t["gold"]] = parse(f"${t['gold']}$")
        pred = parse(t["completion"])
        results.append((bool(verify(golds[t["gold"]], pred)), pred))
        timeouts += time.perf_counter() - t0 > 4.9  # math-verify's 5 s alarm fired
    return results, time.perf_counter() - start, timeouts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", type=int, default=VARIANTS)
    ap.add_argument("--rounds", type=int, default=2, help="timed passes of each side")
    ap.add_argument("--show", type=int, default=20, help="disagreements to print")
    args = ap.parse_args()
    logging.disable(logging.WARNING)  # math-verify logs every timeout / disabled-timeout notice
    traces = build(args.variants)
    run_ours(traces), run_naive(traces)  # warm-up pass, see the module docstring
    ours_s = naive_s = 0.0
    naive_timeouts, ratios = 0, []
    for _ in range(args.rounds):
        ours, naive, round_ours_s, round_naive_s = [], [], 0.0, 0.0
        for c, at in enumerate(range(0, len(traces), CHUNK)):
            chunk = traces[at : at + CHUNK]
            if c % 2:
                naive_part, chunk_naive_s, timeouts = run_naive(chunk)
                ours_part, chunk_ours_s = run_ours(chunk)
            else:
                ours_part, chunk_ours_s = run_ours(chunk)
                naive_part, chunk_naive_s, timeouts = run_naive(chunk)
            ours, naive = ours + ours_part, naive + naive_part
            round_ours_s, round_naive_s = round_ours_s + chunk_ours_s, round_naive_s + chunk_naive_s
            naive_timeouts += timeouts
        ours_s, naive_s = ours_s + round_ours_s, naive_s + round_naive_s
        ratios.append(round_naive_s / round_ours_s)
    n, chars = len(traces) * args.rounds, sum(len(t["completion"]) for t in traces) * args.rounds
    closed = [i for i, t in enumerate(traces) if t["closed"]]
    disagree = [i for i in closed if ours[i].ok != naive[i][0]]
    print(f"verify_math_traces={len(traces)} rounds={args.rounds} closed={len(closed)} mean_chars={chars / n:.0f}")
    print(f"verify_math_ours_traces_per_s={n / ours_s:.1f}")
    print(f"verify_math_naive_traces_per_s={n / naive_s:.1f} naive_timeouts={naive_timeouts}")
    print(f"verify_math_speedup={naive_s / ours_s:.2f} per_round={' '.join(f'{x:.2f}' for x in ratios)}")
    print(f"verify_math_agreement={1 - len(disagree) / len(closed):.4f} disagreements={len(disagree)}")
    right = {"ours": 0, "naive": 0, "unlabelled": 0}
    for i in disagree:
        t, v = traces[i], ours[i]
        if t["label"] is None:
            right["unlabelled"] += 1
        else:
            right["ours" if v.ok == t["label"] else "naive"] += 1
    print(f"verify_math_disagreements_matching_source_label={right}")
    # Where did naive's answer come from? Not from the answer part means it read the reasoning.
    from_reasoning = sum(
        not any(isinstance(p, str) and p in answer_part(traces[i]["completion"]) for p in naive[i][1]) for i in disagree
    )
    print(f"verify_math_disagreements_naive_answer_not_in_answer_part={from_reasoning}")
    seen = set()
    for i in disagree:
        t, v = traces[i], ours[i]
        base = t["id"].rsplit("#", 1)[0]
        if base in seen or len(seen) >= args.show:
            continue
        seen.add(base)
        naive_pred = [str(p)[:60] for p in naive[i][1]]
        print(
            f"  {base}: gold={t['gold']!r} label={t['label']} ours={v.reason}:{str(v.detail.get('extracted'))[:60]!r}"
            f" naive={naive[i][0]}:{naive_pred}"
        )


if __name__ == "__main__":
    main()
