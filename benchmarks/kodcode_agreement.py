"""Agreement of verifiers.code with KodCode's own pytest labels on R1 traces, quiet and under load.

Rows: those whose answer (any of its Python blocks) defines every name the row's pytest file
imports from ``solution``; for the others KodCode renamed functions in its own extraction, so
its label is about code we never see. Each row is checked with ``verifiers.code.check`` (block
choice: ``extract_for``) and compared with ``label``. Printed per pass: rows, agreement %, rows
we pass that KodCode fails (must be 0), rows we fail that KodCode passes (with reasons). The
second pass runs with ``cpu_count`` busy processes beside it (a CPU hog), since timeouts are
where a loaded machine changes verdicts.

    .venv/bin/python benchmarks/kodcode_agreement.py [--path ../shared/traces/kodcode_r1_code.jsonl]
        [--limit N] [--only quiet|busy]

The trace file is for local evaluation only: it is read in place, never copied into the repo.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from verifiers.code import check  # noqa: E402
from verifiers.code.extract import defined_names, needed_names, python_blocks  # noqa: E402

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "traces" / "kodcode_r1_code.jsonl"


def usable(rows: list[dict]) -> list[dict]:
    """Rows whose answer defines every function the tests import (see the module docstring)."""
    out = []
    for r in rows:
        needed = needed_names({"tests": r["tests"]})
        defined = set().union(*map(defined_names, python_blocks(r["completion"])[0]))
        if needed and needed <= defined:
            out.append(r)
    return out


def _spin() -> None:
    while True:
        pass


def measure(rows: list[dict], label: str) -> dict:
    start = time.monotonic()
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        verdicts = list(pool.map(lambda r: check({"tests": r["tests"]}, r["completion"]), rows))
    wanted = [str(r["label"]) == "True" for r in rows]
    agree = sum(v.ok == w for v, w in zip(verdicts, wanted, strict=True))
    false_pass = [r["id"] for r, v, w in zip(rows, verdicts, wanted, strict=True) if v.ok and not w]
    false_fail = [(r["id"], v.reason) for r, v, w in zip(rows, verdicts, wanted, strict=True) if w and not v.ok]
    result = {
        "load": label,
        "rows": len(rows),
        "agreement_pct": round(100 * agree / max(1, len(rows)), 2),
        "we_pass_kodcode_fails": len(false_pass),
        "we_fail_kodcode_passes": len(false_fail),
        "fail_reasons": dict(Counter(reason for _, reason in false_fail)),
        "seconds": round(time.monotonic() - start, 1),
    }
    print(json.dumps(result), flush=True)
    for rid in false_pass:
        print(f"  we pass, KodCode fails: {rid}")
    for rid, reason in false_fail:
        print(f"  we fail ({reason}), KodCode passes: {rid}")
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--path", type=Path, default=DEFAULT)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--only", choices=["quiet", "busy"], default=None)
    args = ap.parse_args()
    rows = [json.loads(line) for line in args.path.open()]
    picked = usable(rows)[: args.limit]
    print(f"{len(picked)} of {len(rows)} rows define the functions their tests import", flush=True)
    if args.only != "busy":
        measure(picked, "quiet")
    if args.only != "quiet":
        hogs = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(os.cpu_count() or 1)]
        for h in hogs:
            h.start()
        try:
            measure(picked, f"busy ({len(hogs)} spinning processes)")
        finally:
            for h in hogs:
                h.kill()
                h.join()


if __name__ == "__main__":
    main()
