"""Tests/s/core: the full sandbox (verifiers.code) vs plain ``subprocess.run`` per test, no isolation.

Same programs, same run: HumanEval canonical solutions, an MBPP sample (reference code, one
process per assert in the baseline), small stdin problems with their Python references. Both
sides use one worker thread per core, kind by kind (plain then sandbox, so load drifts hit both
alike). Prints the raw numbers, a ratio per kind and ``verify_code_ratio=<x>`` over all.

    .venv/bin/python benchmarks/verify_code.py [--mbpp 300]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from verifiers.code import check_code  # noqa: E402
from verifiers.sandbox import resolve_mode, warm_available  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "benchmarks"
# Stdin problems whose Python references are fast: the benchmark measures overhead, not solutions.
STDIO = {
    "kattis-export/gcpc2021/excursion",
    "kattis-export/gcpc2021/montyshall",
    "kattis-export/gcpc2023/japaneselottery",
    "icpc-problems/darkalley",
    "icpc-problems/euroexpress",
    "kattis-export/nwerc2023/galaxyquest",
    "kattis-export/gcpc2022/enjoyableentree",
    "kattis-export/gcpc2022/kokids",
    "kattis-export/nwerc2023/datepicker",
    "icpc-problems/alohomoraandcolloportus",
}


def load(name: str) -> list[dict]:
    return [json.loads(line) for line in (SHARED / name).open()]


def jobs(n_mbpp: int) -> list[tuple[str, dict, str, list[tuple[str, str, str | None]]]]:
    """(kind, problem, code, plain runs [(script, stdin, expected stdout or None)]) per submission."""
    out = []
    for p in load("humaneval.jsonl"):
        code = p["prompt"] + p["canonical_solution"]
        out.append(("humaneval", p, code, [(f"{code}\n{p['test']}\ncheck({p['entry_point']})\n", "", None)]))
    for p in load("mbpp.jsonl")[:n_mbpp]:
        head = "\n".join([*(p.get("test_imports") or []), p["code"], p.get("test_setup_code") or ""])
        out.append(("mbpp", p, p["code"], [(f"{head}\n{t}\n", "", None) for t in p["test_list"]]))
    for p in load("stdio_problems.jsonl"):
        py = [s["code"] for s in p["solutions"] if s["language"].startswith("python")]
        if py and p["id"] in STDIO:
            out.append(("stdin", p, py[0], [(py[0], t["input"], t["output"]) for t in p["tests"]]))
    return out


def plain(runs: list[tuple[str, str, str | None]], tmp: Path) -> int:
    passed = 0
    for i, (script, stdin, want) in enumerate(runs):
        path = tmp / f"prog_{os.getpid()}_{time.monotonic_ns()}_{i}.py"
        path.write_text(script)
        r = subprocess.run([sys.executable, str(path)], input=stdin.encode(), capture_output=True, timeout=30)
        ok = r.returncode == 0 and (want is None or r.stdout.split() == want.encode().split())
        passed += ok
        path.unlink()
    return passed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mbpp", type=int, default=200)
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    work = jobs(args.mbpp)
    totals = {"tests": 0, "plain": 0.0, "box": 0.0, "plain_passed": 0, "box_passed": 0, "subs_passed": 0}
    for kind in ("humaneval", "mbpp", "stdin"):
        part = [j for j in work if j[0] == kind]
        n = sum(len(j[3]) for j in part)
        with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(cores) as pool:
            t0 = time.monotonic()
            plain_passed = sum(pool.map(lambda j: plain(j[3], Path(tmp)), part))
            t_plain = time.monotonic() - t0
        with ThreadPoolExecutor(cores) as pool:
            t0 = time.monotonic()
            verdicts = list(pool.map(lambda j: check_code(j[1], j[2]), part))
            t_box = time.monotonic() - t0
        print(
            f"{kind}: submissions={len(part)} tests={n} plain={t_plain:.2f}s sandbox={t_box:.2f}s "
            f"ratio={t_plain / t_box:.2f}"
        )
        for key, value in (
            ("tests", n),
            ("plain", t_plain),
            ("box", t_box),
            ("plain_passed", plain_passed),
            ("box_passed", sum(v.detail.get("tests_passed", 0) for v in verdicts)),
            ("subs_passed", sum(v.ok for v in verdicts)),
        ):
            totals[key] += value
    plain_rate, box_rate = totals["tests"] / totals["plain"] / cores, totals["tests"] / totals["box"] / cores
    load = os.getloadavg()[0]
    print(
        f"submissions={len(work)} tests={totals['tests']} cores={cores} isolation={resolve_mode()} "
        f"runner={'warm' if warm_available() else 'cold'} load1={load:.1f}"
    )
    print(
        f"plain_subprocess: {totals['plain']:.2f}s passed={totals['plain_passed']} "
        f"tests_per_s_per_core={plain_rate:.1f}"
    )
    print(
        f"sandbox: {totals['box']:.2f}s passed={totals['box_passed']} submissions_passed={totals['subs_passed']} "
        f"tests_per_s_per_core={box_rate:.1f}"
    )
    print(f"verify_code_ratio={box_rate / plain_rate:.2f}")


if __name__ == "__main__":
    main()
