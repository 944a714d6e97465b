"""Scale: N synthetic long traces through verify (math) + grade + dedup + export, time and peak RSS.

The issue's goal: memory bounded by part size, not by dataset size (peak RSS < 2 GB at 1M rows,
the global dedup step included), and time linear in rows (time(1M) / time(100k) ~ 10).

Input (deterministic, ``random.Random(--seed)``): math problems with reference answers, each with
2-8 traces from two teacher labels, in the ``kind: traces`` shape (``<think>…</think>`` + answer).

- problem ``k`` is two real training problems joined (``data/problems/*_train_sample.jsonl``,
  MATH + GSM8K, the 2,110 with at least 3 numbers; pair ``(k % B, (k // B + 617 k) % B)``,
  distinct for k < B²) with their numbers redrawn, its reference the second one's answer (the
  text is no longer the problem it answers: only the format matters here); ``--dup-problems``
  (2%) of problems are instead an earlier problem with one word inserted (near duplicates: dedup
  drops one of the two with all its traces; about 0.3% more pairs collide by chance);
- a trace's reasoning is real reasoning paragraphs (``data/traces/*.jsonl``, or ``--paragraphs``
  files with a ``reasoning`` field, e.g. ``../shared/traces/*.jsonl``) with their numbers redrawn,
  drawn until about ``--trace-chars`` characters (x 0.5-1.5 per trace), then an answer part of
  a few paragraphs ending in ``\\boxed{answer}``: the reference (with a per-problem pass rate of
  0, 1/4, 1/2, 3/4 or 1) or a wrong value; 3% are truncated (no ``</think>``); ``--dup-traces``
  (1%) repeat the problem's previous trace verbatim (dedup: ``duplicate_trace``);
- token counts are the embedded tokenizer's count of each pool paragraph, summed (close to a real
  count of the whole trace; only grade's token columns and export's counters read them).

Ingest is not in the issue's scope and reads its whole input into memory (``IngestStage._load``),
so by default (``--ingest direct``) this script writes the ingest parts itself, part by part,
exactly as ``distill ingest`` would (same columns, same part boundaries: a part closes at a
problem boundary once it has ``--rows-per-part`` rows). ``--ingest distill`` writes the JSONL
instead and runs ``distill ingest`` as its own measured subprocess first.

The measured run is one subprocess, ``distill run RECIPE --run-dir D --stages
verify,grade,dedup,export --quiet`` (local executor; verify uses worker processes). While it runs,
every 0.2 s, the process tree is read from /proc: VmRSS/VmHWM of the main process and of each
descendant (verify's workers, the fork server), and the sum over the tree. Per stage, seconds and
rows come from ``<stage>/part-*.stats.json`` (``seconds`` summed: a barrier's shared work is
spread over its parts), and a stage's window is [its last ``.done`` minus its seconds, its last
``.done``]; the RSS columns are the largest sampled RSS inside that window. "dataset" is the
dataset folder build (export parts streamed, the card, status) after the last export part, up to
the exit. ``ru_maxrss`` (``RUSAGE_CHILDREN`` of a small launcher process that starts the command)
is the kernel's peak over the main process and every descendant it waited for (verify's workers
are reaped by the fork server, which the main process may not wait for), as a cross-check of
the sampled peaks, which can miss a short-lived worker.

    .venv/bin/python benchmarks/scale.py                       # 1,000,000 rows
    .venv/bin/python benchmarks/scale.py --sizes 100000,1000000 --trace-chars 8000
    .venv/bin/python benchmarks/scale.py --rows 20000 --keep --tmp /scratch

Disk: free space is checked (``df``) before generating: the run holds about six compressed copies
of the text (ingest, verify, grade, dedup, export, dataset) plus the JSONL with ``--ingest
distill``; lower ``--trace-chars`` when it does not fit. What was used is printed.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.rows import STAGE_COLUMNS, to_table  # noqa: E402
from pipeline.stages.ingest import content_id  # noqa: E402
from pipeline.store import StageStore  # noqa: E402
from pipeline.tokens import count_tokens  # noqa: E402
from pipeline.traces import ingest_params  # noqa: E402
from verifiers.trace import split_think  # noqa: E402

SOURCE = "scale_traces.jsonl"
TOKENIZER = "embedded:smollm2-135m"
TEACHERS = ("DeepSeek-R1", "QwQ-32B")
PASS_RATES = (0.0, 0.25, 0.5, 0.75, 1.0)
TRACES_PER_PROBLEM = (2, 3, 4, 4, 4, 6, 8)
TRUNCATED = 0.03
# Base problems with fewer numbers would, joined to different second halves, often be near
# duplicates of each other (more often the more problems are made): redrawn numbers tell them apart.
MIN_NUMBERS = 3
NUMBER = re.compile(r"\d+")
COLUMNS = STAGE_COLUMNS["ingest"] + STAGE_COLUMNS["generate"]  # what ingest writes for traces
DISK_COPIES = 6  # ingest, verify, grade, dedup, export parts and the dataset folder
MB = 1 << 20


# --- synthetic input ---------------------------------------------------------------------------


def _redraw(text: str, rng: random.Random) -> str:
    return NUMBER.sub(lambda m: str(rng.randint(2, 999)) if len(m.group()) < 4 else m.group(), text)


@dataclass
class Corpus:
    """Base problems and a pool of reasoning paragraphs (with token counts) to build traces from."""

    problems: list[tuple[str, str]]  # (problem, answer)
    pool: list[str]
    pool_tokens: list[int]
    mean_chars: float

    @classmethod
    def load(cls, paragraph_files: list[Path], pool_size: int, seed: int) -> "Corpus":
        problems = [
            (rec["problem"], str(rec["answer"]))
            for name in ("math_train_sample", "gsm8k_train_sample")
            for rec in map(json.loads, (REPO / f"data/problems/{name}.jsonl").open())
            if len(NUMBER.findall(rec["problem"])) >= MIN_NUMBERS
        ]
        paragraphs: dict[str, None] = {}
        for path in paragraph_files:
            for line in path.open():
                reasoning = json.loads(line).get("reasoning") or ""
                paragraphs.update(dict.fromkeys(p.strip() for p in reasoning.split("\n\n") if len(p.strip()) >= 20))
        base = list(paragraphs)
        if not base:
            raise SystemExit(f"no reasoning paragraphs in {', '.join(map(str, paragraph_files))}")
        rng = random.Random(seed)
        pool = [_redraw(base[i % len(base)], rng) for i in range(max(pool_size, len(base)))]
        tokens = count_tokens(TOKENIZER, pool)
        return cls(problems, pool, tokens, sum(map(len, pool)) / len(pool))

    def problem(self, k: int) -> tuple[str, str]:
        """Problem ``k``: two base problems joined, numbers redrawn; the answer is the second one's."""
        b, rng = len(self.problems), random.Random(k)
        first, (second, answer) = self.problems[k % b][0], self.problems[(k // b + 617 * k) % b]
        return f"{_redraw(first, rng)}\n\n{_redraw(second, rng)}", answer


@dataclass
class Trace:
    teacher: str
    response: str
    n_tokens: int


@dataclass
class Problem:
    text: str
    answer: str
    traces: list[Trace] = field(default_factory=list)


def _wrong(answer: str, rng: random.Random) -> str:
    if re.fullmatch(r"-?\d+", answer):
        return str(int(answer) + rng.choice((-3, -2, -1, 1, 2, 5, 10)))
    return f"{answer}+1"


class Generator:
    """Problems with their traces, in order, until exactly ``rows`` traces; a pure function of the seed."""

    def __init__(self, corpus: Corpus, args: argparse.Namespace):
        self.corpus, self.args = corpus, args

    def _paragraphs(self, rng: random.Random, chars: float) -> tuple[list[str], int]:
        picked = rng.choices(range(len(self.corpus.pool)), k=max(1, round(chars / (self.corpus.mean_chars + 2))))
        return [self.corpus.pool[i] for i in picked], sum(self.corpus.pool_tokens[i] for i in picked)

    def _trace(self, rng: random.Random, answer: str, correct: bool, teacher: str) -> Trace:
        body, n = self._paragraphs(rng, self.args.trace_chars * rng.uniform(0.5, 1.5))
        value = answer if correct else _wrong(answer, rng)
        if rng.random() < TRUNCATED:
            return Trace(teacher, "<think>\n" + "\n\n".join(body), n)
        summary, m = self._paragraphs(rng, 3 * self.corpus.mean_chars)
        final = f"Therefore, the final answer is $\\boxed{{{value}}}$."
        text = "<think>\n" + "\n\n".join(body) + "\n</think>\n\n" + "\n\n".join(summary) + "\n\n" + final
        return Trace(teacher, text, n + m + 16)

    def problems(self):
        rows, k = 0, 0
        while rows < self.args.rows:
            rng = random.Random(f"{self.args.seed}:{k}")
            if k > 0 and rng.random() < self.args.dup_problems:
                text, answer = self.corpus.problem(rng.randrange(k))  # an earlier one, one word more
                words = text.split(" ")
                words.insert(rng.randrange(len(words) + 1), "indeed")
                text = " ".join(words)
            else:
                text, answer = self.corpus.problem(k)
            n = min(rng.choice(TRACES_PER_PROBLEM), self.args.rows - rows)
            rate = rng.choice(PASS_RATES)
            problem = Problem(text, answer)
            for i in range(n):
                if i and rng.random() < self.args.dup_traces:
                    previous = problem.traces[-1]
                    problem.traces.append(Trace(TEACHERS[i % 2], previous.response, previous.n_tokens))
                else:
                    problem.traces.append(self._trace(rng, answer, rng.random() < rate, TEACHERS[i % 2]))
            rows += n
            k += 1
            yield problem


def trace_row(problem: Problem, trace: Trace, index: int, sample_idx: int) -> dict:
    """The row ``distill ingest`` makes of one trace record (``pipeline.traces.trace_columns``)."""
    split = split_think(trace.response)
    return {
        "problem_id": content_id(problem.text, SOURCE),
        "domain": "math",
        "problem": problem.text,
        "reference_answer": problem.answer,
        "source": SOURCE,
        "source_index": index,
        "test_spec": None,
        "sample_idx": sample_idx,
        "teacher": trace.teacher,
        "prompt": problem.text,
        "reasoning": split.reasoning,
        "answer_text": split.answer,
        "finish_reason": "stop" if split.think_closed else "length",
        "think_closed": split.think_closed,
        "n_prompt_tokens": None,  # filled per part
        "n_output_tokens": trace.n_tokens,
        "teacher_model": trace.teacher,
        "teacher_revision": None,
        "generation_params": ingest_params(SOURCE, TOKENIZER),
    }


def _sample_numbers(problem: Problem) -> list[int]:
    seen: dict[str, int] = {}
    out = []
    for trace in problem.traces:
        out.append(seen.get(trace.teacher, 0))
        seen[trace.teacher] = out[-1] + 1
    return out


def write_ingest_parts(gen: Generator, run_dir: Path, rows_per_part: int) -> dict:
    """The ingest stage's parts and plan, written part by part (a part closes at a problem
    boundary once it has ``rows_per_part`` rows, as ``plan_parts`` does)."""
    store = StageStore(run_dir, "ingest")
    part_rows: list[int] = []
    rows: list[dict] = []
    prompts: dict[str, int] = {}
    index = 0
    started = time.perf_counter()

    def flush() -> None:
        nonlocal rows, started
        missing = [p for p in dict.fromkeys(r["problem"] for r in rows) if p not in prompts]
        prompts.update(zip(missing, count_tokens(TOKENIZER, missing), strict=True))
        for row in rows:
            row["n_prompt_tokens"] = prompts[row["problem"]]
        stats = {
            "stage": "ingest",
            "part": len(part_rows),
            "units": {"in": "records", "out": "traces"},
            "rows_in": len(rows),
            "rows_out": len(rows),
            "rows_rejected": 0,
            "drop_reasons": {},
            "counters": {"n_output_tokens": sum(r["n_output_tokens"] for r in rows)},
            "seconds": round(time.perf_counter() - started, 3),
        }
        store.write_part(len(part_rows), to_table(rows, COLUMNS), to_table([], COLUMNS + ["drop_reason"]), stats)
        part_rows.append(len(rows))
        rows, started = [], time.perf_counter()
        prompts.clear()

    for problem in gen.problems():
        for trace, sample_idx in zip(problem.traces, _sample_numbers(problem), strict=True):
            rows.append(trace_row(problem, trace, index, sample_idx))
            index += 1
        if len(rows) >= rows_per_part:
            flush()
    if rows or not part_rows:
        flush()
    # No "generations": a plan of this shape is never re-planned from the (absent) source file.
    plan = {"num_parts": len(part_rows), "num_records": index, "rows_per_part": rows_per_part, "part_rows": part_rows}
    store.write_plan(plan)
    return plan


def write_jsonl(gen: Generator, path: Path) -> int:
    n = 0
    with path.open("w") as f:
        for problem in gen.problems():
            for trace in problem.traces:
                record = {"problem": problem.text, "answer": problem.answer, "response": trace.response}
                f.write(json.dumps({**record, "teacher": trace.teacher}) + "\n")
                n += 1
    return n


def write_recipe(path: Path, rows_per_part: int, select: bool, pairs: bool) -> None:
    lines = [
        "name: scale",
        "seed: 0",
        f"tokenizer: {TOKENIZER}",
        "ingest:",
        "  sources:",
        f"    - path: {SOURCE}",
        "      kind: traces",
        "      domain: math",
        "      columns: {problem: problem, reference_answer: answer, response: response, teacher: teacher}",
        f"  rows_per_part: {rows_per_part}",
        "verify: {timeout_s: 10}",
        "grade: {}",
        "dedup: {}",
        *(["select: {}"] if select else []),
        f"export: {{include: verified, preference_pairs: {'true' if pairs else 'false'}}}",
    ]
    path.write_text("\n".join(lines) + "\n")


# --- measuring ---------------------------------------------------------------------------------


def _status(pid: int) -> dict[str, int]:
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    out[line[:5]] = int(line.split()[1]) * 1024
    except OSError:
        pass
    return out


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as f:
                text = f.read()
        except OSError:
            continue
        pid, ppid = int(text[: text.index(" ")]), int(text[text.rindex(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(pid)
    return children


def _descendants(root: int, children: dict[int, list[int]]) -> list[int]:
    out, todo = [], list(children.get(root, []))
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


# Runs the command and writes its ru_maxrss. A child forked from this (large) benchmark process
# would carry our RSS into its ru_maxrss (Linux keeps the high-water mark across exec), so the
# command is started from this small interpreter instead.
LAUNCHER = """import resource, subprocess, sys
rc = subprocess.call(sys.argv[2:])
open(sys.argv[1], "w").write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024))
sys.exit(rc)
"""


@dataclass
class Measured:
    wall: float
    rc: int
    main_hwm: int  # the command's own process
    worker_hwm: int  # the largest of its descendants (verify's workers, the fork server)
    tree_max: int  # the largest sum of RSS over the whole tree at one sample
    ru_maxrss: int  # kernel: max over the command and every descendant it (transitively) waited for
    samples: list[tuple[float, int, int]]  # (time, main RSS, largest descendant RSS)
    started: float


def run_measured(cmd: list[str], log: Path, interval: float = 0.2, env: dict | None = None) -> Measured:
    """Run ``cmd``; sample the RSS of its process tree from /proc until it exits."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COTDISTILL_PROGRESS_INTERVAL": "60", **(env or {})}
    rusage = log.with_suffix(".maxrss")
    started = time.time()
    with log.open("w") as out:
        launcher = subprocess.Popen(
            [sys.executable, "-c", LAUNCHER, str(rusage), *cmd], stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO
        )
    peaks = {"main": 0, "worker": 0, "tree": 0}
    samples: list[tuple[float, int, int]] = []
    done = threading.Event()

    def sample() -> None:
        main = None
        while not done.is_set():
            children = _children()
            main = main or next(iter(children.get(launcher.pid, [])), None)
            rss = _status(main) if main else {}
            if rss:
                kids = [_status(p) for p in _descendants(main, children)]
                rss_kids = [k.get("VmRSS", 0) for k in kids]
                peaks["main"] = max(peaks["main"], rss.get("VmHWM", 0))
                peaks["worker"] = max([peaks["worker"]] + [k.get("VmHWM", 0) for k in kids])
                peaks["tree"] = max(peaks["tree"], rss.get("VmRSS", 0) + sum(rss_kids))
                samples.append((time.time(), rss.get("VmRSS", 0), max(rss_kids, default=0)))
            done.wait(interval)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    rc = launcher.wait()
    done.set()
    thread.join()
    maxrss = int(rusage.read_text()) if rusage.exists() else 0
    return Measured(time.time() - started, rc, peaks["main"], peaks["worker"], peaks["tree"], maxrss, samples, started)


@dataclass
class StageTimes:
    name: str
    seconds: float
    rows_in: int
    rows_out: int
    rejected: int
    reasons: dict
    counters: dict
    end: float  # mtime of the last .done


def stage_times(run_dir: Path, name: str) -> StageTimes | None:
    stats = sorted((run_dir / name).glob("part-*.stats.json"))
    if not stats:
        return None
    total = StageTimes(name, 0.0, 0, 0, 0, {}, {}, 0.0)
    for path in stats:
        s = json.loads(path.read_text())
        total.seconds += s["seconds"]
        total.rows_in += s["rows_in"]
        total.rows_out += s["rows_out"]
        total.rejected += s["rows_rejected"]
        for key, n in s["drop_reasons"].items():
            total.reasons[key] = total.reasons.get(key, 0) + n
        for key, n in s["counters"].items():
            total.counters[key] = total.counters.get(key, 0) + n
        total.end = max(total.end, path.with_suffix("").with_suffix(".done").stat().st_mtime)
    return total


def _peak_in(samples: list[tuple[float, int, int]], start: float, end: float, slack: float = 0.3) -> tuple[int, int]:
    inside = [s for s in samples if start - slack <= s[0] <= end + slack]
    return max((s[1] for s in inside), default=0), max((s[2] for s in inside), default=0)


def _dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# --- one size ----------------------------------------------------------------------------------


def _gb(n: int) -> str:
    return f"{n / (1 << 30):.2f} GB"


def _mb(n: int) -> str:
    return f"{n / MB:,.0f} MB" if n else "-"


def check_disk(where: Path, need: int, what: str) -> None:
    free = shutil.disk_usage(where).free
    print(f"disk: {_gb(free)} free at {where}; {what} needs about {_gb(need)}", flush=True)
    if need > free * 0.9:
        raise SystemExit(f"not enough disk at {where}: lower --trace-chars or --rows, or give --tmp elsewhere")


def run_size(rows: int, args: argparse.Namespace, corpus: Corpus) -> dict:
    args = argparse.Namespace(**{**vars(args), "rows": rows})
    base = Path(args.tmp).resolve()
    base.mkdir(parents=True, exist_ok=True)
    text_bytes = int(rows * (args.trace_chars * 1.15 + 600))  # reasoning + answer part + problem
    need = text_bytes // 3 * DISK_COPIES + (text_bytes if args.ingest == "distill" else 0)
    check_disk(base, need, f"{rows:,} rows x ~{args.trace_chars:,} reasoning chars (assuming 3x compression)")
    work = Path(tempfile.mkdtemp(prefix=f"scale-{rows}-", dir=base))
    run_dir = work / "run"
    recipe = work / "recipe.yaml"
    write_recipe(recipe, args.rows_per_part, args.select, args.pairs)
    gen = Generator(corpus, args)
    distill = str(REPO / ".venv/bin/distill") if (REPO / ".venv/bin/distill").exists() else "distill"
    result: dict = {"rows": rows, "work": str(work)}
    print(f"\n=== {rows:,} rows in {work} ===", flush=True)
    t = time.perf_counter()
    ingest: Measured | None = None
    if args.ingest == "direct":
        (work / SOURCE).touch()  # the recipe names it; the measured stages never read it
        plan = write_ingest_parts(gen, run_dir, args.rows_per_part)
        print(
            f"generated {plan['num_records']:,} rows in {plan['num_parts']} ingest parts "
            f"in {time.perf_counter() - t:.0f} s",
            flush=True,
        )
    else:
        n = write_jsonl(gen, work / SOURCE)
        size = (work / SOURCE).stat().st_size
        print(f"wrote {n:,} trace records ({_gb(size)}) in {time.perf_counter() - t:.0f} s", flush=True)
        ingest = run_measured(
            [distill, "ingest", str(recipe), "--run-dir", str(run_dir), "--quiet"], work / "ingest.log"
        )
        if ingest.rc:
            raise SystemExit(f"distill ingest failed ({ingest.rc}): see {work / 'ingest.log'}")
    reasoning_chars, output_tokens = _mean_lengths(run_dir / "ingest", parts=3)
    ingest_bytes = _dir_bytes(run_dir / "ingest")
    print(
        f"ingest parts: {_mb(ingest_bytes)} on disk; mean reasoning {reasoning_chars:,.0f} chars, "
        f"{output_tokens:,.0f} output tokens (first 3 parts)",
        flush=True,
    )
    check_disk(base, ingest_bytes * (DISK_COPIES - 1), "the rest of the run")
    cmd = [distill, "run", str(recipe), "--run-dir", str(run_dir), "--stages", ",".join(_stages(args)), "--quiet"]
    run = run_measured(cmd, work / "run.log")
    if run.rc:
        raise SystemExit(f"distill run failed ({run.rc}): see {work / 'run.log'}")
    result.update(
        wall=run.wall,
        main_hwm=run.main_hwm,
        worker_hwm=run.worker_hwm,
        tree_max=run.tree_max,
        ru_maxrss=run.ru_maxrss,
        ingest=ingest and {"wall": ingest.wall, "main_hwm": ingest.main_hwm, "ru_maxrss": ingest.ru_maxrss},
        disk=_dir_bytes(run_dir),
        reasoning_chars=reasoning_chars,
        output_tokens=output_tokens,
        stages={},
    )
    previous_end = run.started
    for name in _stages(args):
        st = stage_times(run_dir, name)
        if st is None:
            continue
        main, worker = _peak_in(run.samples, st.end - st.seconds, st.end)
        result["stages"][name] = {**vars(st), "main_rss": main, "worker_rss": worker}
        previous_end = st.end
    main, worker = _peak_in(run.samples, previous_end, run.started + run.wall)
    result["stages"]["dataset"] = {
        "seconds": run.started + run.wall - previous_end,
        "rows_in": result["stages"].get("export", {}).get("rows_out", 0),
        "main_rss": main,
        "worker_rss": worker,
    }
    print_size(result, args)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"kept: {work}")
    return result


def _stages(args: argparse.Namespace) -> list[str]:
    return ["verify", "grade", "dedup", *(["select"] if args.select else []), "export"]


def _mean_lengths(folder: Path, parts: int) -> tuple[float, float]:
    """(mean reasoning characters, mean output tokens) of the first ``parts`` parts."""
    chars, tokens, rows = 0, 0, 0
    for path in sorted(folder.glob("part-*.parquet"))[:parts]:
        table = pq.read_table(path, columns=["reasoning", "n_output_tokens"])
        chars += sum(len(r or "") for r in table.column("reasoning").to_pylist())
        tokens += sum(n or 0 for n in table.column("n_output_tokens").to_pylist())
        rows += table.num_rows
    return chars / max(rows, 1), tokens / max(rows, 1)


def print_size(r: dict, args: argparse.Namespace) -> None:
    print(
        f"\nrows={r['rows']:,}  rows_per_part={args.rows_per_part}  trace_chars={args.trace_chars:,} "
        f"(mean reasoning {r['reasoning_chars']:,.0f} chars, {r['output_tokens']:,.0f} tokens)  "
        f"run dir {_gb(r['disk'])} on disk"
    )
    header = f"{'stage':<10} {'seconds':>9} {'rows/s':>9} {'peak RSS main':>14} {'peak RSS worker':>16}  notes"
    print(header)
    print("-" * len(header))
    if r["ingest"]:
        i = r["ingest"]
        print(
            f"{'ingest':<10} {i['wall']:>9.1f} {r['rows'] / i['wall']:>9,.0f} {_mb(i['main_hwm']):>14} {'-':>16}  "
            "distill ingest, its own process (not in the issue's scope)"
        )
    for name, s in r["stages"].items():
        rate = s["rows_in"] / s["seconds"] if s["seconds"] else 0
        notes = ""
        if name == "verify":
            verdicts = {k.removeprefix("verdict_"): n for k, n in s["counters"].items() if k.startswith("verdict_")}
            notes = " ".join(f"{k}={n:,}" for k, n in sorted(verdicts.items()))
        elif name in ("dedup", "select", "export"):
            notes = f"kept {s['rows_out']:,}, dropped {s['rejected']:,}: " + ", ".join(
                f"{k} {n:,}" for k, n in sorted(s["reasons"].items(), key=lambda kv: -kv[1])[:3]
            )
        elif name == "dataset":
            notes = f"folder build + card + status, {s['rows_in']:,} rows"
        rss = f"{_mb(s['main_rss']):>14} {_mb(s['worker_rss']):>16}"
        print(f"{name:<10} {s['seconds']:>9.1f} {rate:>9,.0f} {rss}  {notes}")
    print(
        f"{'run total':<10} {r['wall']:>9.1f} {r['rows'] / r['wall']:>9,.0f} {_mb(r['main_hwm']):>14} "
        f"{_mb(r['worker_hwm']):>16}  peak of the sum over the tree {_mb(r['tree_max'])}; "
        f"ru_maxrss {_mb(r['ru_maxrss'])}"
    )
    print(
        f"scale_rows={r['rows']} total_s={r['wall']:.1f} rows_per_s={r['rows'] / r['wall']:.1f} "
        f"peak_rss_main_mb={r['main_hwm'] / MB:.0f} peak_rss_worker_mb={r['worker_hwm'] / MB:.0f}",
        flush=True,
    )


def print_comparison(results: list[dict]) -> None:
    small, big = results[0], results[-1]
    factor = big["rows"] / small["rows"]
    print(f"\n=== {small['rows']:,} vs {big['rows']:,} rows (x{factor:g}; linear: time ratio {factor:g}) ===")
    print(
        f"{'stage':<10} {'rows/s small':>13} {'rows/s big':>11} {'time ratio':>11} {'peak main small':>16} "
        f"{'peak main big':>14}"
    )
    names = [n for n in big["stages"] if n in small["stages"]]
    for name in names:
        a, b = small["stages"][name], big["stages"][name]
        rate_a = a["rows_in"] / a["seconds"] if a["seconds"] else 0
        rate_b = b["rows_in"] / b["seconds"] if b["seconds"] else 0
        ratio = b["seconds"] / a["seconds"] if a["seconds"] else float("nan")
        print(
            f"{name:<10} {rate_a:>13,.0f} {rate_b:>11,.0f} {ratio:>11.2f} {_mb(a['main_rss']):>16} "
            f"{_mb(b['main_rss']):>14}"
        )
    print(
        f"{'run total':<10} {small['rows'] / small['wall']:>13,.0f} {big['rows'] / big['wall']:>11,.0f} "
        f"{big['wall'] / small['wall']:>11.2f} {_mb(small['main_hwm']):>16} {_mb(big['main_hwm']):>14}"
    )
    print(f"scale_time_ratio={big['wall'] / small['wall']:.2f} rows_ratio={factor:g}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sizes", help="comma-separated row counts, e.g. 100000,1000000 (overrides --rows)")
    parser.add_argument("--trace-chars", type=int, default=10_000, help="mean reasoning length in characters")
    parser.add_argument("--rows-per-part", type=int, default=2000)
    parser.add_argument("--dup-problems", type=float, default=0.02, help="share of near-duplicate problems")
    parser.add_argument("--dup-traces", type=float, default=0.01, help="share of traces repeated verbatim")
    parser.add_argument("--ingest", choices=("direct", "distill"), default="direct")
    parser.add_argument("--select", action="store_true", help="also run select (a barrier) before export")
    parser.add_argument("--pairs", action="store_true", help="export preference pairs too")
    parser.add_argument("--paragraphs", nargs="+", type=Path, help="JSONL files with a 'reasoning' field")
    parser.add_argument("--pool", type=int, default=50_000, help="paragraph variants to draw traces from")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", action="store_true", help="keep the run dirs")
    parser.add_argument("--tmp", default=tempfile.gettempdir(), help="where the run dirs go")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else [args.rows]
    files = args.paragraphs or sorted((REPO / "data/traces").glob("*.jsonl"))
    t = time.perf_counter()
    corpus = Corpus.load(files, args.pool, args.seed)
    print(
        f"corpus: {len(corpus.problems):,} base problems, {len(corpus.pool):,} paragraphs "
        f"(mean {corpus.mean_chars:.0f} chars) from {', '.join(f.name for f in files)}; "
        f"{time.perf_counter() - t:.1f} s; cpus={os.cpu_count()} load={os.getloadavg()[0]:.1f}",
        flush=True,
    )
    results = [run_size(n, args, corpus) for n in sizes]
    if len(results) > 1:
        print_comparison(results)


if __name__ == "__main__":
    main()
