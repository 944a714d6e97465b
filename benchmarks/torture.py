"""Crash torture: SIGKILL `distill run` at random moments in every stage, resume, check the run dir.

`distill run RECIPE --run-dir D` runs in its own process group; the whole group is killed with
SIGKILL at a moment drawn by a seeded RNG, then the same command is started again, until it
finishes. The kills are spread over the phases of a run (start-up, every stage, the dataset
build): for each kill a phase is drawn, the run dir is polled until the resumed run is in it,
then the kill comes after a random delay up to that phase's duration in an uninterrupted run.

After every kill the run dir must hold: every visible Parquet file (parts, rejected/, pairs/,
checkpoint chunks, dataset/) opens; every JSON file parses; every `.done` part has the kept and
rejected row counts its `.stats.json` says; no stray visible file (a temp file is hidden); per
stage, each (problem_id, teacher, sample_idx) exactly once over the kept + rejected rows of its
done parts, and each done part equal to that part of an uninterrupted run (rows compared without
the columns that vary between identical runs, such as `verify_ms`); a dataset folder, once there,
equal to the uninterrupted run's. A killed run leaves a lock whose process is dead: the next run
must take it over and say so in its log. At the end the dataset folder's content hash must equal
the uninterrupted run's.

Recipe: real R1-distill traces (`kind: traces`, data/traces and ../shared/traces; no model), with
decontaminate, verify, grade, shorten, dedup, select and export with preference pairs, in many
small parts. A second, small recipe runs the embedded vLLM CPU teacher and is killed during
generate only (sampling on CPU is not reproducible, so it checks keys and checkpointed rows,
not a hash); `--skip-generate` leaves it out.

Every run must use the same code: while others edit the tree, run a copy of it, e.g.
`cp -r pipeline verifiers prompts data benchmarks /tmp/copy/ && PYTHONPATH=/tmp/copy .venv/bin/python
/tmp/copy/benchmarks/torture.py` (PYTHONPATH wins over the editable install; the copy needs
`../shared/traces` beside it for the shared trace files, or runs without them).

    .venv/bin/python benchmarks/torture.py [--kills 56] [--rounds 2] [--seed 0] [--skip-generate]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq
import yaml

from pipeline.lock import pid_alive

REPO = Path(__file__).resolve().parents[1]
SHARED_TRACES = REPO.parent / "shared" / "traces"
DISTILL = str(Path(sys.executable).with_name("distill"))
ENV = {k: v for k, v in os.environ.items() if k != "COTDISTILL_RUN_LOCK"} | {"HF_HUB_OFFLINE": "1"}
POLL_S = 0.05
LOCK_FILE = Path(".locks") / "shard-0-of-1.json"
RECLAIM_NOTE = "reclaimed a stale run-dir lock"
# Columns that differ between two uninterrupted runs of the same recipe (found by `--baselines 2`).
VOLATILE = frozenset({"verify_ms"})
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
PART_FILE = re.compile(r"part-\d{5}(\.parquet|\.stats\.json|\.done)|_plan\.json|_gen-\d+\.json")
CHUNK_FILE = re.compile(r"part-\d{5}\.chunks/chunk-\d{5}\.parquet|rejected/part-\d{5}\.parquet")
TRACE_COLUMNS = {"problem": "problem", "reference_answer": "gold", "response": "completion", "teacher": "teacher"}


# --- recipes ---------------------------------------------------------------------------------


def traces_recipe(work: Path, small: bool = False) -> Path:
    """Every stage but generate with real work: bundled R1-distill traces, a renamed copy of some
    of them (identical traces under other problem ids: dedup), MATH-500 traces (decontaminate) and
    MMLU traces (choice verification) from ../shared/traces when it is there."""
    bundled = REPO / "data/traces/thought_anchors_math_sample.jsonl"
    copy = work / "traces_copy.jsonl"  # another file name: other problem ids, the same texts
    copy.write_text("".join(bundled.read_text().splitlines(keepends=True)[: 8 if small else 16]))
    math = {"kind": "traces", "domain": "math", "columns": TRACE_COLUMNS}
    sources = [{"path": str(bundled), **math}, {"path": str(copy), **math}]
    if (SHARED_TRACES / "trace_topology_math500.jsonl").exists():
        sources.append(
            {"path": str(SHARED_TRACES / "trace_topology_math500.jsonl"), "limit": 3 if small else 8, **math}
        )
        if not small:
            sources.append({"path": str(SHARED_TRACES / "thought_anchors_r1distill_math.jsonl"), "limit": 16, **math})
            mmlu = {**TRACE_COLUMNS, "reasoning": "reasoning", "answer_text": "answer_text"}
            del mmlu["response"]
            sources.append(
                {
                    "path": str(SHARED_TRACES / "thought_branches_r1_mmlu.jsonl"),
                    "limit": 16,
                    "kind": "traces",
                    "domain": "choice",
                    "columns": mmlu,
                }
            )
    recipe = {
        "name": "torture",
        "seed": 0,
        "ingest": {"sources": sources, "rows_per_part": 4},
        "decontaminate": {"benchmarks": ["math500"]},
        # Generous limits: a verdict must not turn into a timeout on a loaded machine.
        "verify": {"timeout_s": 60},
        "grade": {},
        "shorten": {"strategy": "first_correct", "by_tier": {"easy": "shortest_correct"}, "timeout_s": 60},
        "dedup": {},
        "select": {"max_per_problem": 3},
        "export": {"include": "verified", "preference_pairs": True, "pairing": "all", "test_size": 0.3},
    }
    path = work / "torture.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path


def generate_recipe(work: Path, problems: int = 6) -> Path:
    """The embedded vLLM CPU teacher on a few bundled problems, checkpointing every request. Two
    sequences at a time (one request of n=2): requests finish one after another, so a kill can
    land between checkpoints instead of after one burst at the end."""
    recipe = {
        "name": "torture-generate",
        "seed": 0,
        "ingest": {
            "sources": [
                {
                    "path": str(REPO / "data/problems/quickstart_math.jsonl"),
                    "limit": problems,
                    "columns": {"problem": "problem", "reference_answer": "answer", "problem_id": "id"},
                }
            ],
            "rows_per_part": 3,
        },
        "generate": {
            "teacher": "embedded:smollm2-135m",
            "n": 2,
            "prompt_template": "math_boxed",
            "reasoning_format": "plain",
            "checkpoint_every": 1,
            "sampling": {"temperature": 0.7, "max_tokens": 64},
            "engine": {"max_model_len": 1024, "max_num_seqs": 2},
        },
        "verify": {"timeout_s": 60},
        "export": {"include": "all"},
    }
    path = work / "torture_generate.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path


def stages_of(recipe_path: Path) -> list[str]:
    from pipeline.recipe import load_recipe
    from pipeline.stages import active_stages

    return active_stages(load_recipe(recipe_path))


# --- reading a run dir -----------------------------------------------------------------------


def visible(path: Path, root: Path) -> bool:
    return not any(part.startswith(".") for part in path.relative_to(root).parts)


def canonical(rows: list[dict], volatile: frozenset[str]) -> list[str]:
    return sorted(
        json.dumps({k: v for k, v in r.items() if k not in volatile}, sort_keys=True, default=repr) for r in rows
    )


def digest(lines: list[str]) -> str:
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def row_key(row: dict) -> tuple:
    """A trace is (problem_id, teacher, sample_idx); a pair names both of its traces; a problem its id."""
    if "teacher_chosen" in row:
        keys = ("problem_id", "teacher_chosen", "sample_idx_chosen", "teacher_rejected", "sample_idx_rejected")
        return tuple(row[k] for k in keys)
    if "teacher" in row and "sample_idx" in row:
        return (row["problem_id"], row["teacher"], row["sample_idx"])
    return (row["problem_id"],)


def done_count(stage_dir: Path) -> int:
    return len(list(stage_dir.glob("part-*.done"))) if stage_dir.is_dir() else 0


def num_parts(run_dir: Path) -> int | None:
    try:
        return json.loads((run_dir / "ingest" / "_plan.json").read_text())["num_parts"]
    except (OSError, ValueError, KeyError):
        return None


def phase(run_dir: Path, stages: list[str]) -> str:
    """Where a run is, from its files: the first unfinished stage, 'dataset' (the folder is being
    built) or 'finished'."""
    total = num_parts(run_dir)
    for stage in stages:
        if total is None or done_count(run_dir / stage) < total:
            return stage
    return "finished" if (run_dir / "dataset.manifest.json").exists() else "dataset"


def where(pid: int, run_dir: Path, stages: list[str]) -> str:
    """The phase of run ``pid``: 'startup' until it holds the run lock (or once it let go of it
    before the dataset was finished), else what the files say."""
    holder = lock_holder(run_dir)
    now = phase(run_dir, stages)
    return now if now == "finished" or (holder and holder.get("pid") == pid) else "startup"


def lock_holder(run_dir: Path) -> dict | None:
    """The lock file's content, {} when it exists but is unreadable, None when there is none."""
    try:
        return json.loads((run_dir / LOCK_FILE).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}


def dataset_rows(run_dir: Path, volatile: frozenset[str]) -> dict[str, list[str]]:
    """Canonical rows of the dataset folder by (folder, split): data/[config/], pairs/."""
    out: dict[str, list[str]] = {}
    folder = run_dir / "dataset"
    for path in sorted(folder.rglob("*.parquet")):
        if visible(path, folder):
            group = f"{path.parent.relative_to(folder).as_posix()}:{path.name.split('-')[0]}"
            out.setdefault(group, []).extend(canonical(pq.read_table(path).to_pylist(), volatile))
    return {group: sorted(lines) for group, lines in sorted(out.items())}


def dataset_hash(run_dir: Path, volatile: frozenset[str]) -> str:
    rows = dataset_rows(run_dir, volatile)
    card = TIMESTAMP.sub("<time>", (run_dir / "dataset" / "README.md").read_text())
    return digest([json.dumps(rows, sort_keys=True), card])


@dataclass
class Part:
    kept: str  # content hash of the kept rows
    rejected: str
    keys: Counter  # (problem_id, teacher, sample_idx) over both

    @classmethod
    def of(cls, kept: list[dict], rejected: list[dict], volatile: frozenset[str]) -> Part:
        keys = Counter(row_key(r) for r in kept + rejected)
        return cls(digest(canonical(kept, volatile)), digest(canonical(rejected, volatile)), keys)


def snapshot(run_dir: Path, stages: list[str], volatile: frozenset[str]) -> dict[tuple[str, int], Part]:
    """Every done part of every stage (and pairs/) as content hashes and keys."""
    parts = {}
    for stage in [*stages, "pairs"]:
        folder = run_dir / stage
        for done in sorted(folder.glob("part-*.done")) if folder.is_dir() else []:
            index = int(done.name[5:10])
            kept = pq.read_table(folder / f"part-{index:05d}.parquet").to_pylist()
            rejected = pq.read_table(folder / "rejected" / f"part-{index:05d}.parquet").to_pylist()
            parts[(stage, index)] = Part.of(kept, rejected, volatile)
    return parts


# --- the checks ------------------------------------------------------------------------------


@dataclass
class Tally:
    kills: Counter = field(default_factory=Counter)  # phase -> kills that landed in it
    runs: int = 0  # `distill run` processes started
    resumes: int = 0  # of those, started on a run dir a kill left behind
    checks: int = 0
    parquet_files: int = 0
    json_files: int = 0
    rows_read: int = 0
    rows_lost: int = 0
    rows_duplicated: int = 0
    stats_mismatches: int = 0
    parts_differing: int = 0
    stale_locks: int = 0  # kills that left a lock whose process is gone
    reclaimed: int = 0  # runs that took over such a lock, with the note in their log
    final_equal: list[bool] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)  # hidden temp files still there after a finished run
    failures: list[str] = field(default_factory=list)

    def fail(self, message: str) -> None:
        self.failures.append(message)
        print(f"  FAIL: {message}", flush=True)


def check_run_dir(
    run_dir: Path, stages: list[str], tally: Tally, baseline: Baseline | None, volatile: frozenset[str]
) -> None:
    """The invariants of a run dir a kill left (or a finished run made); failures go to ``tally``."""
    tally.checks += 1
    tables: dict[Path, list[dict]] = {}
    for path in sorted(run_dir.rglob("*")):
        if not path.is_file() or not visible(path, run_dir) or path.parts[len(run_dir.parts)] == "logs":
            continue
        rel = path.relative_to(run_dir)
        top = rel.parts[0]
        if top in [*stages, "pairs"] and not (
            PART_FILE.fullmatch("/".join(rel.parts[1:])) or CHUNK_FILE.fullmatch("/".join(rel.parts[1:]))
        ):
            tally.fail(f"{rel}: a stray visible file in a stage folder")
        try:
            if path.suffix == ".parquet":
                tables[path] = pq.read_table(path).to_pylist()
                tally.parquet_files += 1
                tally.rows_read += len(tables[path])
            elif path.suffix == ".json":
                json.loads(path.read_text())
                tally.json_files += 1
        except Exception as exc:  # what a reader would hit
            tally.fail(f"{rel} does not open: {type(exc).__name__}: {exc}")
    for stage in [*stages, "pairs"]:
        _check_stage(run_dir, stage, tables, tally, baseline)
    _check_dataset(run_dir, tally, baseline, volatile)


def _check_stage(run_dir: Path, stage: str, tables: dict, tally: Tally, baseline: Baseline | None) -> None:
    folder = run_dir / stage
    keys: Counter = Counter()
    for done in sorted(folder.glob("part-*.done")) if folder.is_dir() else []:
        index = int(done.name[5:10])
        name = f"part-{index:05d}"
        kept, rejected = tables.get(folder / f"{name}.parquet"), tables.get(folder / "rejected" / f"{name}.parquet")
        if kept is None or rejected is None:
            tally.fail(f"{stage}/{name}: done, but its kept or rejected file is missing")
            continue
        try:
            stats = json.loads((folder / f"{name}.stats.json").read_text())
        except (OSError, ValueError) as exc:
            tally.stats_mismatches += 1
            tally.fail(f"{stage}/{name}: done, but its stats do not read: {exc}")
            continue
        if (stats["rows_out"], stats["rows_rejected"]) != (len(kept), len(rejected)):
            tally.stats_mismatches += 1
            tally.fail(
                f"{stage}/{name}: stats say {stats['rows_out']} kept + {stats['rows_rejected']} rejected, "
                f"the files hold {len(kept)} + {len(rejected)}"
            )
        got = Part.of(kept, rejected, baseline.volatile if baseline else VOLATILE)
        keys.update(got.keys)
        if baseline is not None:
            want = baseline.parts.get((stage, index))
            if want is None:
                tally.fail(f"{stage}/{name}: done, but the uninterrupted run has no such part")
                continue
            tally.rows_lost += sum((want.keys - got.keys).values())
            if (got.kept, got.rejected) != (want.kept, want.rejected):
                tally.parts_differing += 1
                tally.fail(f"{stage}/{name}: rows differ from the uninterrupted run's part")
    duplicated = sum(n - 1 for n in keys.values() if n > 1)
    for chunks in sorted(folder.glob("part-*.chunks")) if folder.is_dir() else []:
        saved = Counter(row_key(r) for c in sorted(chunks.glob("chunk-*.parquet")) for r in tables.get(c, []))
        duplicated += sum(n - 1 for n in saved.values() if n > 1)
    if duplicated:
        tally.rows_duplicated += duplicated
        tally.fail(f"{stage}: {duplicated} rows whose key appears more than once")


def _check_dataset(run_dir: Path, tally: Tally, baseline: Baseline | None, volatile: frozenset[str]) -> None:
    """A dataset folder, once visible, is complete: its files are the manifest's (when written)
    and its rows those of the uninterrupted run."""
    folder = run_dir / "dataset"
    if not folder.is_dir():
        return
    if not (folder / "README.md").exists():
        tally.fail("dataset/ is there without its card")
        return
    manifest_file = run_dir / "dataset.manifest.json"
    if manifest_file.exists():
        manifest = json.loads(manifest_file.read_text())
        listed = sorted(f["path"] for f in manifest["files"])
        found = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
        if listed != found:
            tally.fail(f"dataset/ holds {found}, the manifest lists {listed}")
        versions_file = run_dir / "dataset.versions.json"
        versions = json.loads(versions_file.read_text()) if versions_file.exists() else []
        if not versions or versions[-1]["source_fingerprint"] != manifest["source_fingerprint"]:
            tally.fail("dataset.versions.json is missing or does not end with the build the manifest describes")
    try:
        equal = baseline is None or dataset_hash(run_dir, volatile) == baseline.dataset_hash
    except Exception as exc:  # a file that does not open is reported above
        equal = False
        tally.fail(f"dataset/ does not read: {type(exc).__name__}: {exc}")
    if not equal:
        tally.fail("dataset/ differs from the uninterrupted run's")


def hidden_leftovers(run_dir: Path) -> list[str]:
    """Temp files and folders a killed writer left that no rerun removed (hidden: readers skip them)."""
    locks = {".locks", ".plan.lock", ".dataset.lock", ".barrier.lock"}  # lock files stay by design
    found = (p.relative_to(run_dir) for p in run_dir.rglob(".*"))
    return sorted(rel.as_posix() for rel in found if rel.name not in locks and rel.parts[0] != ".locks")


# --- running and killing ---------------------------------------------------------------------


@dataclass
class Baseline:
    parts: dict[tuple[str, int], Part]
    dataset_hash: str
    durations: dict[str, float]  # phase -> seconds in an uninterrupted run
    volatile: frozenset[str]
    seconds: float
    rows: dict[str, int]


class Launcher:
    """Starts `distill run RECIPE --run-dir D -q` in its own process group, output to a file."""

    def __init__(self, recipe: Path, work: Path):
        self.recipe, self.work, self.count = recipe, work, 0

    def start(self, run_dir: Path) -> subprocess.Popen:
        self.count += 1
        out = open(self.work / f"run-{self.count:03d}.out", "wb")
        cmd = [DISTILL, "run", str(self.recipe), "--run-dir", str(run_dir), "-q"]
        proc = subprocess.Popen(cmd, env=ENV, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        out.close()
        proc.out_path = out.name  # type: ignore[attr-defined]
        return proc


def run_uninterrupted(launcher: Launcher, run_dir: Path, stages: list[str]) -> tuple[float, dict[str, float]]:
    """One run to the end; returns its seconds and how long each phase took (polled)."""
    started = time.monotonic()
    proc = launcher.start(run_dir)
    first_seen: dict[str, float] = {}
    while proc.poll() is None:
        first_seen.setdefault(where(proc.pid, run_dir, stages), time.monotonic() - started)
        time.sleep(POLL_S)
    seconds = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit(f"the uninterrupted run failed ({proc.returncode}): {Path(proc.out_path).read_text()[-3000:]}")
    order = ["startup", *stages, "dataset", "finished"]
    marks = {p: first_seen.get(p) for p in order}
    durations = {}
    for i, p in enumerate(order[:-1]):
        start = marks[p] if marks[p] is not None else next((marks[q] for q in order[i:] if marks[q] is not None), 0)
        end = next((marks[q] for q in order[i + 1 :] if marks[q] is not None), seconds)
        durations[p] = max(end - start, 0.2)  # a phase too short to be seen still gets a window
    return seconds, durations


def find_volatile(a: Path, b: Path, stages: list[str]) -> frozenset[str]:
    """Columns whose values differ between two uninterrupted runs of the same recipe."""
    found = set()
    for stage in [*stages, "pairs"]:
        for path in sorted((a / stage).rglob("*.parquet")):
            one, two = pq.read_table(path).to_pylist(), pq.read_table(b / path.relative_to(a)).to_pylist()
            for x, y in zip(one, two, strict=True):
                found |= {k for k in x if x[k] != y.get(k)}
    return frozenset(found)


def make_baseline(recipe: Path, work: Path, stages: list[str], runs: int) -> Baseline:
    launcher = Launcher(recipe, work / "baseline")
    launcher.work.mkdir(parents=True, exist_ok=True)
    dirs, timings = [], []
    for i in range(runs):
        dirs.append(work / f"baseline-{i}")
        timings.append(run_uninterrupted(launcher, dirs[-1], stages))
        print(f"uninterrupted run {i + 1}: {timings[-1][0]:.1f} s", flush=True)
    volatile = VOLATILE if runs == 1 else find_volatile(dirs[0], dirs[1], stages)
    hashes = {dataset_hash(d, volatile) for d in dirs}
    if len(hashes) != 1:
        raise SystemExit("two uninterrupted runs made different datasets: nothing to compare a resumed run with")
    manifest = json.loads((dirs[0] / "dataset.manifest.json").read_text())
    rows = {"data": sum(manifest["rows"].get("default", {}).values()), "pairs": sum(manifest["pairs"].values())}
    durations = {p: min(t[1][p] for t in timings) for p in timings[0][1]}  # load only ever adds time
    return Baseline(snapshot(dirs[0], stages, volatile), hashes.pop(), durations, volatile, timings[0][0], rows)


def end_of_round(run_dir: Path, stages: list[str], baseline: Baseline, tally: Tally) -> None:
    """A round's run dir at its end: finished with the uninterrupted run's dataset, no temp files."""
    tally.leftovers += [f"{run_dir.name}/{p}" for p in hidden_leftovers(run_dir)]
    final = phase(run_dir, stages) == "finished"
    tally.final_equal.append(final and dataset_hash(run_dir, baseline.volatile) == baseline.dataset_hash)


def result(
    recipe: Path, stages: list[str], work: Path, baseline: Baseline, tally: Tally, rounds: int, unmade: int
) -> dict:
    """What a torture run returns (``summary_lines`` prints it)."""
    parts = num_parts(work / "baseline-0")
    return {
        "recipe": recipe,
        "stages": stages,
        "parts": parts,
        "baseline": baseline,
        "tally": tally,
        "rounds": rounds,
        "unmade": unmade,
    }


def schedule(kills: int, rounds: int, phases: list[str], rng: random.Random) -> list[list[str]]:
    """``kills`` targets spread evenly over ``phases`` (the remainder drawn), split into rounds,
    each in pipeline order."""
    counts = Counter({p: kills // len(phases) for p in phases})
    counts.update(rng.sample(phases, kills % len(phases)))
    plan: list[list[str]] = [[] for _ in range(rounds)]
    for p in phases:
        for i in range(counts[p]):
            plan[(i + phases.index(p)) % rounds].append(p)
    return [sorted(targets, key=phases.index) for targets in plan]


class Torturer:
    """Kills runs of one recipe at chosen phases and checks what each kill left."""

    def __init__(self, recipe: Path, work: Path, stages: list[str], tally: Tally, on_kill=None):
        self.launcher = Launcher(recipe, work / "out")
        self.launcher.work.mkdir(parents=True, exist_ok=True)
        self.stages, self.tally, self.on_kill = stages, tally, on_kill
        self.order = ["startup", *stages, "dataset", "finished"]

    def where(self, proc: subprocess.Popen, run_dir: Path) -> str:
        return where(proc.pid, run_dir, self.stages)

    def round(self, run_dir: Path, targets: list[str], moment, baseline: Baseline | None) -> list[str]:
        """Kill a fresh run at each target (``moment(proc, run_dir, target)`` waits for the moment
        and returns 'kill', 'passed' or 'ended'), resume after each kill, let the last run finish;
        returns the targets the run had passed or finished before (for a next round)."""
        proc, left = self._start(run_dir), []
        try:
            for n, target in enumerate(targets):
                outcome = moment(proc, run_dir, target)
                if outcome == "passed":
                    left.append(target)
                    continue
                if outcome == "ended":
                    proc.wait()
                    return left + targets[n:] if self._ended(proc, run_dir) else []
                landed = self.where(proc, run_dir)
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                self.tally.kills[landed] += 1
                print(f"  kill {sum(self.tally.kills.values())}: {landed} (aimed at {target})", flush=True)
                self._ended(proc, run_dir, killed=True)
                self._after_kill(run_dir, baseline)
                proc = self._start(run_dir, resume=True)
            proc.wait()
            self._ended(proc, run_dir)
            return left
        finally:
            if proc.poll() is None:  # interrupted: leave no run behind
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def _start(self, run_dir: Path, resume: bool = False) -> subprocess.Popen:
        stale = lock_holder(run_dir)
        self.tally.runs += 1
        self.tally.resumes += resume
        proc = self.launcher.start(run_dir)
        proc.stale_lock = stale  # type: ignore[attr-defined]
        return proc

    def _after_kill(self, run_dir: Path, baseline: Baseline | None) -> None:
        holder = lock_holder(run_dir)
        if holder is not None:
            if holder and pid_alive(int(holder["pid"])):
                self.tally.fail(f"after the kill the lock names pid {holder['pid']}, which is still alive")
            self.tally.stale_locks += 1
        check_run_dir(run_dir, self.stages, self.tally, baseline, baseline.volatile if baseline else VOLATILE)
        if self.on_kill:
            self.on_kill(run_dir)

    def _ended(self, proc: subprocess.Popen, run_dir: Path, killed: bool = False) -> bool:
        """Checks on a run that ended: a run that finished over a stale lock says it took it over
        (a killed one may have died before it got that far); False when a run failed."""
        log = next(iter((run_dir / "logs").glob(f"*-{proc.pid}.log")), None)
        noted = log is not None and RECLAIM_NOTE in log.read_text(errors="replace")
        if proc.stale_lock:  # a readable lock of a process that is gone was there at the start
            self.tally.reclaimed += noted
            if not noted and not killed:
                self.tally.fail(f"run {proc.pid} started over a stale lock but its log has no reclaim note")
        if not killed and proc.returncode != 0:
            self.tally.fail(f"a resumed run failed ({proc.returncode}): {Path(proc.out_path).read_text()[-2000:]}")
            return False
        return True


def traces_moment(torturer: Torturer, durations: dict[str, float], rng: random.Random):
    """Wait until the run is in ``target``; then either a random delay up to that phase's duration
    in the uninterrupted run ('startup': counted from the start), or, for a stage, until a random
    number of its parts are done plus a random share of one part's time (short stages such as
    grade take about a second: a delay alone would mostly miss them). 'passed' when the run got
    past the target first, 'ended' when it finished."""

    def wait(proc: subprocess.Popen, run_dir: Path, target: str) -> str:
        started = time.monotonic()
        by_parts = rng.random() < 0.5
        while proc.poll() is None:
            now = torturer.order.index(torturer.where(proc, run_dir))
            if now > torturer.order.index(target) and target != "startup":
                return "passed"
            if now == torturer.order.index(target):
                total = num_parts(run_dir) if target in torturer.stages else None
                done = done_count(run_dir / target) if total else 0
                left = (total - done) / total if total else 1.0  # a resumed stage has less to do
                if by_parts and total and done < total:
                    parts = rng.randrange(done, total)
                    while proc.poll() is None and done_count(run_dir / target) < parts:
                        time.sleep(POLL_S / 5)
                    delay = rng.uniform(0, durations[target] / total)
                else:
                    delay = rng.uniform(0, durations[target] * left)
                deadline = (started if target == "startup" else time.monotonic()) + delay
                while proc.poll() is None and time.monotonic() < deadline:
                    time.sleep(POLL_S / 5)
                break
            time.sleep(POLL_S)
        return "kill" if proc.poll() is None else "ended"

    return wait


# --- the two recipes -------------------------------------------------------------------------


def torture_traces(work: Path, kills: int, rounds: int, seed: int, baselines: int, small: bool = False) -> dict:
    """The traces recipe: an uninterrupted baseline, then ``kills`` kills over ``rounds`` fresh run
    dirs, each finished and compared with the baseline. Returns the summary numbers."""
    work = work.resolve()
    recipe = traces_recipe(work, small)
    stages = stages_of(recipe)
    baseline = make_baseline(recipe, work, stages, baselines)
    rng = random.Random(seed)
    tally = Tally()
    torturer = Torturer(recipe, work, stages, tally)
    phases = ["startup", *stages, "dataset"]
    moment = traces_moment(torturer, baseline.durations, rng)
    pending = schedule(kills, rounds, phases, rng)
    number = 0
    while pending and number < rounds + 8:
        targets = pending.pop(0)
        run_dir = work / f"round-{number}"
        number += 1
        print(f"round {number}: {len(targets)} kills aimed at {dict(Counter(targets))}", flush=True)
        left = torturer.round(run_dir, targets, moment, baseline)
        check_run_dir(run_dir, stages, tally, baseline, baseline.volatile)
        end_of_round(run_dir, stages, baseline, tally)
        if left:  # targets the run passed before they came: the next round takes them
            pending = [sorted((pending[0] if pending else []) + left, key=phases.index), *pending[1:]]
    return result(recipe, stages, work, baseline, tally, number, sum(len(targets) for targets in pending))


def torture_generate(work: Path, kills: int, seed: int, problems: int = 6) -> dict:
    """The embedded teacher, killed during generate only: first while the engine starts, then
    right after a new request was checkpointed. At the end every (problem, sample) is there exactly
    once, and every row checkpointed before a kill came out as it was (not generated again)."""
    work = work.resolve()
    recipe = generate_recipe(work, problems)
    stages = stages_of(recipe)
    rng = random.Random(seed + 1)
    tally = Tally()
    run_dir = work / "generate-run"
    saved: dict[tuple, str] = {}
    at_kill: list[int] = []  # rows checkpointed when each kill came

    def checkpointed() -> list[dict]:
        chunks = sorted(run_dir.glob("generate/part-*.chunks/chunk-*.parquet"))
        return [row for chunk in chunks for row in pq.read_table(chunk).to_pylist()]

    def remember(run_dir: Path) -> None:
        rows = checkpointed()
        at_kill.append(len(rows))
        for row in rows:
            saved.setdefault(row_key(row), (row["reasoning"] or "") + (row["answer_text"] or ""))

    torturer = Torturer(recipe, work, stages, tally, on_kill=remember)

    def moment(proc: subprocess.Popen, run_dir: Path, target: str) -> str:
        engine_start = target == "engine"  # else: just after the next request is checkpointed
        before, delay = len(checkpointed()), rng.uniform(2, 20) if engine_start else rng.uniform(0, 1)
        while proc.poll() is None:
            now = torturer.where(proc, run_dir)
            if now not in ("startup", "ingest", "generate"):
                return "passed"
            if now == "generate" and (engine_start or len(checkpointed()) > before):
                deadline = time.monotonic() + delay
                while proc.poll() is None and time.monotonic() < deadline:
                    time.sleep(POLL_S)
                if proc.poll() is not None:
                    return "ended"
                return "kill" if torturer.where(proc, run_dir) == "generate" else "passed"
            time.sleep(POLL_S * 2)
        return "ended"

    targets = ["engine", *["checkpoint"] * (kills - 1)][:kills]
    left = torturer.round(run_dir, targets, moment, None)
    check_run_dir(run_dir, stages, tally, None, VOLATILE)
    ids = [json.loads(line)["id"] for line in (REPO / "data/problems/quickstart_math.jsonl").open()][:problems]
    final = {}
    for part in sorted(run_dir.glob("generate/part-*.parquet")):
        for row in pq.read_table(part).to_pylist():
            final[row_key(row)] = (row["reasoning"] or "") + (row["answer_text"] or "")
    expected = {(p, "embedded:smollm2-135m", s) for p in ids for s in range(2)}
    if set(final) != expected:
        tally.rows_lost += len(expected - set(final))
        tally.fail(f"generate: keys differ from the expected {len(expected)}: missing {sorted(expected - set(final))}")
    changed = [k for k, text in saved.items() if final.get(k) != text]
    if changed:
        tally.fail(f"generate: {len(changed)} checkpointed rows were generated again or changed")
    tally.final_equal.append(set(final) == expected and not changed)
    return {
        "tally": tally,
        "unmade": len(left),
        "saved": len(saved),
        "at_kill": at_kill,
        "keys": len(final),
        "expected": len(expected),
        "changed": len(changed),
    }


# --- report ----------------------------------------------------------------------------------


# --- under Slurm -----------------------------------------------------------------------------


def _slurm_tasks(run_dir: Path) -> list[tuple[dict, int, str]]:
    """(job, task index, state) of every task of the latest submission; a job is its jobs.json
    record (job_id, step, stages)."""
    from pipeline.executors.slurm_jobs import query_tasks, read_jobs

    jobs = read_jobs(run_dir)["submissions"][-1]["jobs"]
    states = query_tasks([job["job_id"] for job in jobs])
    return [(job, task, info["state"]) for job in jobs for task, info in sorted(states.get(job["job_id"], {}).items())]


def _slurm(*argv: str) -> subprocess.CompletedProcess:
    conf = {"SLURM_CONF": os.environ["SLURM_CONF"]} if "SLURM_CONF" in os.environ else {}
    return subprocess.run(argv, capture_output=True, text=True, env=ENV | conf, timeout=120)


def _distill_json(*argv: str) -> dict:
    proc = _slurm(DISTILL, *argv, "--json")
    if proc.returncode != 0:
        raise SystemExit(f"distill {' '.join(argv)} failed: {proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return json.loads(proc.stdout)


def _settle(run_dir: Path, timeout: float = 600) -> None:
    """Until no task of the latest submission is pending or running."""
    from pipeline.executors.slurm_jobs import ACTIVE

    deadline = time.monotonic() + timeout
    while any(state in ACTIVE for *_, state in _slurm_tasks(run_dir)):
        if time.monotonic() > deadline:
            raise SystemExit(f"Slurm tasks of {run_dir} still active after {timeout:.0f} s")
        time.sleep(0.5)


def _running_task(run_dir: Path, step: int, rng: random.Random) -> tuple[dict, int] | None:
    """A running task of the latest submission, of step ``step`` while that step has tasks left
    (drawn among those running), else of any step; None when every task has ended."""
    from pipeline.executors.slurm_jobs import ACTIVE

    while True:
        tasks = _slurm_tasks(run_dir)
        running = [(job, task) for job, task, state in tasks if state == "RUNNING"]
        aimed = [(job, task) for job, task in running if job["step"] == step]
        step_left = any(state in ACTIVE for job, _, state in tasks if job["step"] == step)
        if aimed or (running and not step_left):
            return rng.choice(aimed or running)
        if not any(state in ACTIVE for *_, state in tasks):
            return None
        time.sleep(POLL_S)


def torture_slurm(work: Path, kills: int, seed: int, array: int = 2, small: bool = True, max_rounds: int = 8) -> dict:
    """The traces recipe under `--executor slurm --array N` on the cluster ``SLURM_CONF`` names.
    Each time a task of the latest submission runs, after a random delay, either its processes get
    SIGKILL (``scancel --signal=KILL --full``: the task fails, the steps after it are cancelled,
    and the command `distill status` prints resubmits what is left) or Slurm requeues it
    (``scontrol requeue``: killed and started again in the same submission); the kills aim at
    each step in turn. Once a submission has settled the run dir is checked; a finished run must
    hold a dataset equal to an uninterrupted local run's, and the next kills go to a fresh run dir
    (a round) until ``kills`` were made."""
    work = work.resolve()
    recipe = traces_recipe(work, small)
    stages = stages_of(recipe)
    baseline = make_baseline(recipe, work, stages, 1)
    rng, tally = random.Random(seed + 2), Tally()
    made, actions, submissions, rounds = 0, Counter(), 0, 0
    while made < kills and rounds < max_rounds:
        run_dir = work / f"slurm-round-{rounds}"
        rounds += 1
        made += _slurm_round(recipe, run_dir, array, kills - made, made, seed, rng, stages, baseline, tally, actions)
        submissions += len(read_jobs_file(run_dir)["submissions"])
        end_of_round(run_dir, stages, baseline, tally)
    return {
        **result(recipe, stages, work, baseline, tally, rounds, kills - made),
        "actions": actions,
        "submissions": submissions,
    }


def read_jobs_file(run_dir: Path) -> dict:
    return json.loads((run_dir / "slurm" / "jobs.json").read_text())


def _slurm_round(
    recipe: Path,
    run_dir: Path,
    array: int,
    kills: int,
    made_before: int,
    seed: int,
    rng: random.Random,
    stages: list[str],
    baseline: Baseline,
    tally: Tally,
    actions: Counter,
) -> int:
    """Submit ``recipe`` into a fresh ``run_dir``, make up to ``kills`` kills or requeues, resubmit
    after each settled failure until the run is complete; returns the kills made."""

    def submit(argv: list[str]) -> None:
        proc = _slurm(*argv)
        tally.runs += 1
        if proc.returncode != 0:
            raise SystemExit(f"submission failed: {proc.stdout[-2000:]}{proc.stderr[-2000:]}")

    submit([DISTILL, "run", str(recipe), "--run-dir", str(run_dir), "--executor", "slurm", "--array", str(array)])
    steps = len(read_jobs_file(run_dir)["steps"])
    made = 0
    for _ in range(4 * kills + 20):
        number = made_before + made
        target = _running_task(run_dir, number % steps + 1, rng) if made < kills else None
        if target is None:
            _settle(run_dir)
            tally.stale_locks += len(list((run_dir / ".locks").glob("*.json")))  # nothing runs: all stale
            check_run_dir(run_dir, stages, tally, baseline, baseline.volatile)
            status = _distill_json("status", str(run_dir))
            if status["complete"]:
                break
            command = (status.get("slurm") or {}).get("resubmit")
            if not command:
                tally.fail(f"{run_dir.name} is not complete and status gives no resubmission: {status.get('slurm')}")
                break
            submit([DISTILL, *shlex.split(command)[1:]])
            tally.resumes += 1
            continue
        job, task = target
        time.sleep(rng.uniform(0, 1.5))  # a task lives 2 s or more: start-up (imports), then its parts
        if (job, task, "RUNNING") not in _slurm_tasks(run_dir):
            continue  # it ended meanwhile: requeueing a finished task would run it again, out of order
        action = ("kill", "requeue")[(number + seed) % 2]  # both kinds, whatever the count
        argv = ["scancel", "--signal=KILL", "--full"] if action == "kill" else ["scontrol", "requeue"]
        if _slurm(*argv, f"{job['job_id']}_{task}").returncode == 0:
            made += 1
            step = f"step {job['step']} ({', '.join(job['stages'])})"
            tally.kills[f"{step} {action}"] += 1
            actions[action] += 1
            where_now = phase(run_dir, stages)
            print(
                f"  {action} {number + 1} ({run_dir.name}): job {job['job_id']} task {task}, {step}, "
                f"run at {where_now}",
                flush=True,
            )
    tally.reclaimed += sum(RECLAIM_NOTE in log.read_text(errors="replace") for log in (run_dir / "logs").glob("*.log"))
    return made


def summary_lines(result: dict) -> list[str]:
    tally, baseline = result["tally"], result.get("baseline")
    order = ["startup", *result["stages"], "dataset", "finished"]
    rank = {p: i for i, p in enumerate(order)}  # phases in pipeline order; other labels (Slurm steps) after
    landed = sorted(tally.kills.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0]))
    kills = ", ".join(f"{p} {n}" for p, n in landed)
    lines = [
        f"kills: {sum(tally.kills.values())} ({kills})",
        f"rounds (fresh run dirs, each run to the end): {result['rounds']}; kills aimed but not made: "
        f"{result['unmade']}; runs started: {tally.runs}, resumes after a kill: {tally.resumes}",
        f"stale locks left by kills: {tally.stale_locks}, taken over (note in the next run's log): {tally.reclaimed}",
        f"run-dir checks: {tally.checks}, files checked: {tally.parquet_files + tally.json_files} "
        f"({tally.parquet_files} Parquet, {tally.json_files} JSON), rows read: {tally.rows_read}",
        f"rows lost: {tally.rows_lost}, rows duplicated: {tally.rows_duplicated}, stats mismatches: "
        f"{tally.stats_mismatches}, parts differing from the uninterrupted run: {tally.parts_differing}",
        f"hidden temp files left after the finished runs: {len(tally.leftovers)} {tally.leftovers[:5]}",
    ]
    if baseline is not None:
        lines.insert(
            0,
            f"uninterrupted run: {baseline.seconds:.1f} s, {result['parts']} parts, dataset "
            f"{baseline.rows['data']} rows + {baseline.rows['pairs']} pairs; columns that vary between "
            f"identical runs: {', '.join(sorted(baseline.volatile)) or 'none'} (also stats 'seconds', "
            f"the build time in the card and manifest)",
        )
        windows = ", ".join(f"{p} {s:.1f}" for p, s in baseline.durations.items())
        lines.insert(1, f"phases in the uninterrupted run (s): {windows}")
        lines.append(
            f"final dataset hash equal to the uninterrupted run's: {all(tally.final_equal)} "
            f"({sum(tally.final_equal)}/{len(tally.final_equal)} rounds; {baseline.dataset_hash[:16]})"
        )
    return lines


def torture_slurm_main(work: Path, kills: int, seed: int) -> bool:
    """The Slurm part of the benchmark, on the cluster $SLURM_CONF names or on a private one-node
    cluster started for it (tests/slurm_cluster.py: root and the Debian packages, `make slurm`)."""
    print("\n== traces recipe under the Slurm executor (array tasks killed or requeued) ==", flush=True)
    cluster = None
    if "SLURM_CONF" not in os.environ:
        sys.path.insert(0, str(REPO / "tests"))
        from slurm_cluster import Cluster, unavailable

        reason = unavailable()
        if reason:
            print(f"skipped: {reason}")
            return True
        cluster = Cluster()
        os.environ["SLURM_CONF"] = str(cluster.conf)
        cluster.up()
    try:
        result = torture_slurm(work, kills, seed)
    finally:
        if cluster is not None:
            cluster.down()
            del os.environ["SLURM_CONF"]
    for line in summary_lines(result):
        print(line)
    print(
        f"task kills: {result['actions']['kill']} (then resubmitted from `distill status`), requeues: "
        f"{result['actions']['requeue']}; submissions: {result['submissions']}; (for Slurm: stale locks = "
        "leases found once a submission settled; taken over = task logs noting a takeover, requeues included)"
    )
    return not result["tally"].failures and all(result["tally"].final_equal)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=56, help="kills on the traces recipe")
    parser.add_argument("--rounds", type=int, default=2, help="fresh run dirs the kills are spread over")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--baselines", type=int, default=2, choices=(1, 2), help="uninterrupted runs (2: find volatile columns)"
    )
    parser.add_argument("--generate-kills", type=int, default=3)
    parser.add_argument("--skip-generate", action="store_true", help="leave out the embedded-teacher recipe")
    parser.add_argument("--slurm-kills", type=int, default=8, help="kills and requeues of Slurm array tasks")
    parser.add_argument(
        "--skip-slurm", action="store_true", help="no Slurm run (default: $SLURM_CONF's cluster, or a private one)"
    )
    parser.add_argument("--work", type=Path, default=None, help="keep everything here (default: a temp dir, removed)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the run being killed too (finally)
    work = args.work or Path(tempfile.mkdtemp(prefix="torture-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    (work / "traces").mkdir(exist_ok=True)
    result = torture_traces(work / "traces", args.kills, args.rounds, args.seed, args.baselines)
    print("\n== traces recipe (every stage, no model) ==")
    ok = not result["tally"].failures and all(result["tally"].final_equal)
    for line in summary_lines(result):
        print(line)
    if not args.skip_generate:
        (work / "generate").mkdir(exist_ok=True)
        gen = torture_generate(work / "generate", args.generate_kills, args.seed)
        tally = gen["tally"]
        print("\n== generate recipe (embedded vLLM CPU teacher, killed during generate) ==")
        print(
            f"kills: {sum(tally.kills.values())} ({', '.join(f'{p} {n}' for p, n in tally.kills.items())}), "
            f"runs started: {tally.runs}, stale locks taken over: {tally.reclaimed}/{tally.stale_locks}"
        )
        print(f"rows checkpointed when each kill came: {gen['at_kill']}; kills aimed but not made: {gen['unmade']}")
        print(
            f"keys (problem_id, teacher, sample_idx): {gen['keys']}/{gen['expected']} exactly once; rows lost: "
            f"{tally.rows_lost}, duplicated: {tally.rows_duplicated}; checkpointed rows that came out changed "
            f"(generated again): {gen['changed']} of {gen['saved']}; files checked: "
            f"{tally.parquet_files + tally.json_files}"
        )
        ok = ok and not tally.failures and all(tally.final_equal)
    if not args.skip_slurm:
        (work / "slurm").mkdir(exist_ok=True)
        ok = torture_slurm_main(work / "slurm", args.slurm_kills, args.seed) and ok
    print(f"\ntook {time.monotonic() - started:.0f} s; torture={'PASS' if ok else 'FAIL'}")
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
