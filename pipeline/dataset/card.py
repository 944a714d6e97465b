"""The dataset card (``README.md``): YAML header for the Hub, then how the data was made.

Everything comes from the run dir (pinned recipe, stage stats, the exported rows, the manifest)
so the card says what this run did, not what a recipe would do. Secrets never appear: source
paths become file names, URLs lose their user info, and the values of secret-looking
environment variables (``*TOKEN*``, ``*KEY*``, ``*SECRET*``, ``*PASSWORD*``) are redacted from
the whole text before it is written.
"""

from __future__ import annotations

import os
import re
import statistics
from array import array
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from pipeline.dataset.shapes import public_source
from pipeline.recipe import Recipe
from pipeline.store import StageStore, write_bytes_atomic

PAIRS_CONFIG = "preference_pairs"
_SECRET_NAME = re.compile(r"TOKEN|KEY|SECRET|PASSWORD|CREDENTIAL", re.I)
_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")
_HF_TOKEN = re.compile(r"\bhf_[A-Za-z0-9]{20,}\b")


def write_card(run_dir: Path, recipe: Recipe, folder: Path, manifest: dict, versions: list[dict]) -> None:
    """Write ``folder/README.md`` for the dataset ``manifest`` describes; ``versions``: the build
    history, this build last."""
    from pipeline.status import run_status

    status = run_status(run_dir)
    sections = [
        _header(recipe, folder, manifest),
        _intro(recipe, manifest),
        _loading(recipe, manifest),
        _teachers(run_dir),
        _prompts(recipe),
        _verification(recipe, status),
        _funnel(status),
        _lengths(run_dir),
        _difficulty(status),
        _decontamination(run_dir, recipe),
        _versions(versions),
        _reproduce(run_dir),
    ]
    write_bytes_atomic(folder / "README.md", redact("\n".join(s for s in sections if s)).encode())


def redact(text: str) -> str:
    """``text`` without the values of secret-looking environment variables, URL user info or
    anything shaped like a Hugging Face token."""
    for name, value in os.environ.items():
        if _SECRET_NAME.search(name) and len(value) >= 8:
            text = text.replace(value, "[redacted]")
    return _HF_TOKEN.sub("[redacted]", _USERINFO.sub("", text))


# --- YAML header -------------------------------------------------------------------------------


def _size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < limit:
            return name
    return "1M<n<10M" if n < 10_000_000 else "10M<n<100M"


def _data_files(splits: dict, folder: str) -> list[dict]:
    return [{"split": s, "path": f"{folder}/{s}-*.parquet"} for s, n in splits.items() if n]


def _header(recipe: Recipe, folder: Path, manifest: dict) -> str:
    rows = manifest["rows"]
    default = rows.get("default", {})
    by_config = recipe.export.configs != "none"
    configs = [{"config_name": "default", "data_files": _data_files(default, "data/*" if by_config else "data")}]
    configs[0]["default"] = True
    configs += [
        {"config_name": name, "data_files": _data_files(splits, f"data/{name}")}
        for name, splits in rows.items()
        if name != "default"
    ]
    configs.append({"config_name": PAIRS_CONFIG, "data_files": _data_files(manifest["pairs"], "pairs")})
    configs = [c for c in configs if c["data_files"]]  # a dataset with no rows has no files to name
    card = recipe.export.card
    header = {
        "license": card.license,
        "language": card.language,
        "task_categories": ["text-generation"],
        "tags": ["reasoning", "chain-of-thought", "distillation", "synthetic", "cotdistill"],
        "size_categories": [_size_category(sum(default.values()))],
        "pretty_name": card.pretty_name or recipe.name,
        "configs": configs,
        "dataset_info": _dataset_info(folder, configs),
    }
    if [c["config_name"] for c in configs] == ["default"]:
        # One config: readers find data/<split>-*.parquet by themselves, and without a `configs`
        # block `datasets` keys its cache on the files (mtimes), not on the YAML patterns, so a
        # rebuilt folder never loads stale rows from the cache.
        del header["configs"]
    return "---\n" + yaml.safe_dump(header, sort_keys=False, allow_unicode=True) + "---\n"


def _dataset_info(folder: Path, configs: list[dict]) -> list[dict]:
    """Per config: features in the Hub's YAML form, and rows and bytes per split.

    The split sizes are not decoration: ``datasets`` names its cache after the YAML (features,
    patterns), not after the files, so two local folders with the same layout (two runs, or
    one run rebuilt) would share a stale cache. Exact row and byte counts make the key differ."""
    from datasets import Features

    out = []
    for config in configs:
        splits, schema = [], None
        for entry in config["data_files"]:
            files = sorted(folder.glob(entry["path"]))
            metas = [pq.ParquetFile(f).metadata for f in files]
            nbytes = sum(m.row_group(g).total_byte_size for m in metas for g in range(m.num_row_groups))
            splits.append({"name": entry["split"], "num_bytes": nbytes, "num_examples": sum(m.num_rows for m in metas)})
            schema = schema or (pq.read_schema(files[0]) if files else None)
        if schema is not None:
            info = {
                "config_name": config["config_name"],
                "features": Features.from_arrow_schema(schema)._to_yaml_list(),
            }
            size = sum(f.stat().st_size for e in config["data_files"] for f in folder.glob(e["path"]))
            info.update(splits=splits, download_size=size, dataset_size=sum(s["num_bytes"] for s in splits))
            out.append(info)
    return out


# --- body ----------------------------------------------------------------------------------------


def _intro(recipe: Recipe, manifest: dict) -> str:
    from pipeline.shards import software_versions

    name = recipe.export.card.pretty_name or recipe.name
    total = sum(manifest["rows"].get("default", {}).values())
    text = [f"# {name}\n"]
    if recipe.export.card.description:
        text.append(recipe.export.card.description.strip() + "\n")
    version = software_versions().get("cotdistill", "unknown")
    kept = "verified rows only" if recipe.export.include == "verified" else "all rows, see `verdict`"
    text.append(
        f"Long chain-of-thought SFT data made by distillation with cotdistill {version}: {total} rows "
        f"(run `{recipe.name}`, recipe hash `{manifest['recipe_hash']}`, built {manifest['built_at']}). "
        f"Every row's final answer was checked ({kept})."
    )
    return "\n".join(text) + "\n"


def _table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def _cell(value: object) -> str:
    return "-" if value is None else str(value).replace("|", "\\|").replace("\n", " ")


def _loading(recipe: Recipe, manifest: dict) -> str:
    cfg = recipe.export
    splits = [[c, s, n] for c, by_split in manifest["rows"].items() for s, n in by_split.items()]
    splits += [[PAIRS_CONFIG, s, n] for s, n in manifest.get("pairs", {}).items()]
    system = f"`{cfg.system_prompt}`" if cfg.system_prompt else "none"
    column = {"messages": "messages", "prompt_completion": "prompt` + `completion", "sharegpt": "conversations"}
    shape = f"`{column[cfg.format]}` ({cfg.format})"
    reasoning = (
        "inline: the assistant turn is `<think>\\n…\\n</think>\\n\\n` + the answer"
        if cfg.reasoning == "inline"
        else "in the `reasoning` column; the assistant turn holds the answer"
    )
    return f"""## Loading

```python
from datasets import load_dataset

ds = load_dataset("ORG/NAME", split="train")  # or the local dataset folder
```

{_table(["config", "split", "rows"], splits)}
Chat column: {shape}; reasoning {reasoning}; system prompt: {system}.
Splits are by problem (no problem is in two splits). Metadata columns: `problem_id`, `domain`,
`problem`, `reference_answer`, `source`, `teacher`, `teacher_model`, `teacher_revision`,
`generation_params` (JSON), `sample_idx`, `finish_reason`, `think_closed`, token counts, verdicts
(`verdict`, `verdict_reason`, `verdict_rule`, `verdict_judge`, `judge_score`), and when graded or
shortened `pass_rate`, `difficulty`, `difficulty_judged`, `shorten_strategy`, `n_output_tokens_before`.

Training with TRL: `SFTTrainer(model=..., train_dataset=ds, args=SFTConfig(assistant_only_loss=True))`.
Some students' chat templates drop `<think>` blocks from assistant turns (DeepSeek-R1-Distill's does):
check the rendered text, and use `assistant_only_loss` with a template that keeps them, or the
`reasoning` column layout (`export.reasoning: field`).
"""


def _teachers(run_dir: Path) -> str:
    seen: Counter = Counter()
    store = StageStore(run_dir, "export")
    columns = ["teacher", "teacher_model", "teacher_revision", "generation_params"]
    for index in store.done_parts():
        table = _read(store.part_path(index), columns)
        seen.update(zip(*(table.column(c).to_pylist() for c in columns), strict=True))
    if not seen:
        return "## Teachers\n\nNo rows were exported.\n"
    rows = [[t, m, r or "-", f"`{p}`", n] for (t, m, r, p), n in sorted(seen.items(), key=lambda kv: str(kv[0]))]
    return "## Teachers\n\n" + _table(["teacher", "model", "revision", "generation params", "rows"], rows)


def _prompts(recipe: Recipe) -> str:
    from pipeline.prompts import load_template, template_hash

    if recipe.generate is None:
        return "## Prompts\n\nThe traces were brought in (`kind: traces`): no prompt template was applied.\n"
    name = recipe.generate.prompt_template
    text = load_template(name)
    return f"## Prompts\n\nTemplate `{name}` (sha256 `{template_hash(text)}`):\n\n```text\n{text.strip()}\n```\n"


def _verification(recipe: Recipe, status: dict) -> str:
    from pipeline.shards import software_versions
    from verifiers.code.run import TIME_MULTIPLIER

    versions = software_versions()
    v = recipe.verify
    lines = [
        "## Verification\n",
        f"- math: math-verify {versions.get('math-verify', 'unknown')} (plus cotdistill's fixes for known traps); "
        "multiple choice: letter match; code: the tests run in a bubblewrap sandbox, CPU-time limits "
        f"(Python x{TIME_MULTIPLIER['python']} the judges' limits).",
        f"- policy: `{v.policy}`"
        + (f"; judge: `{v.judge.mode}` mode, model `{_teacher_name(v.judge)}`" if v.judge else ""),
    ]
    counters = status["stages"].get("verify", {}).get("counters", {})
    if counters.get("judge_asked"):
        rate = counters.get("judge_disagreed", 0) / counters["judge_asked"]
        lines.append(f"- rule vs judge disagreement: {rate:.1%} of {counters['judge_asked']} judged rows")
    return "\n".join(lines) + "\n"


def _teacher_name(task) -> str:
    teacher = task.teacher
    return teacher if isinstance(teacher, str) else teacher.model


def _funnel(status: dict) -> str:
    rows = []
    for name, st in status["stages"].items():
        reasons = ", ".join(f"{r} {n}" for r, n in sorted(st["drop_reasons"].items(), key=lambda kv: -kv[1])[:6])
        rows.append([name, st["rows_in"], st["rows_kept"], st["rows_rejected"], reasons or "-"])
    return "## Funnel\n\n" + _table(["stage", "in", "kept", "rejected", "drop reasons"], rows)


def _lengths(run_dir: Path) -> str:
    store = StageStore(run_dir, "export")
    after = array("q")  # 8 bytes a row, not a Python int: the card is written for any size of run
    before = array("q")
    for index in store.done_parts():
        table = _read(store.part_path(index), ["n_output_tokens", "n_output_tokens_before"])
        now = table.column("n_output_tokens").to_pylist()
        was = table.column("n_output_tokens_before").to_pylist()
        after.extend(n or 0 for n in now)
        before.extend(b if b is not None else (n or 0) for n, b in zip(now, was, strict=True))
    if not after:
        return ""
    rows = [["output tokens", *_stats(after)]]
    if before != after:
        rows.insert(0, ["before shortening", *_stats(before)])
    return "## Lengths\n\n" + _table(["", "rows", "mean", "median", "p90", "max"], rows)


def _read(path: Path, columns: list[str]) -> pa.Table:
    """Those columns of a part; absent ones (a part written by an older export) are nulls."""
    table = pq.read_table(path, columns=[c for c in columns if c in pq.read_schema(path).names])
    for name in columns:
        if name not in table.column_names:
            table = table.append_column(name, pa.nulls(table.num_rows, pa.string()))
    return table


def _stats(values: array) -> list:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    return [len(values), round(statistics.fmean(values)), round(statistics.median(values)), p90, ordered[-1]]


def _difficulty(status: dict) -> str:
    tiers = status.get("tiers") or []
    if not tiers:
        return ""
    rows = [
        [
            t["tier"],
            t["problems"],
            t["traces"],
            t["verified_rate"],
            t["kept"],
            t["mean_tokens_before"],
            t["mean_tokens_after"],
        ]
        for t in tiers
    ]
    header = ["tier", "problems", "traces", "pass rate", "rows kept", "mean tokens before", "after"]
    return "## Pass rate by difficulty\n\n" + _table(header, rows)


def _decontamination(run_dir: Path, recipe: Recipe) -> str:
    if recipe.decontaminate is None:
        return "## Decontamination\n\nNot run for this dataset (the recipe has no `decontaminate` section).\n"
    store = StageStore(run_dir, "decontaminate")
    hits: Counter = Counter()
    for index in store.done_parts():
        path = store.rejected_path(index)
        if path.exists() and "contamination_benchmark" in pq.read_schema(path).names:
            hits.update(pq.read_table(path, columns=["contamination_benchmark"]).column(0).to_pylist())
    benchmarks = sorted(set(recipe.decontaminate.benchmarks) | {b for b in hits if b})
    rows = [[b, hits.get(b, 0)] for b in benchmarks]
    return "## Decontamination\n\nProblems removed before generation, per benchmark:\n\n" + _table(
        ["benchmark", "problems removed"], rows
    )


def _versions(versions: list[dict]) -> str:
    rows = [[v["version"], v["built_at"], v["rows"], f"{v['rows_added']:+d}", v["problems"]] for v in versions]
    text = "## Versions\n\nEach build of this run whose inputs changed (a rerun over a grown input adds one):\n\n"
    return text + _table(["version", "built", "rows", "rows added", "problems"], rows)


def _reproduce(run_dir: Path) -> str:
    recipe = yaml.safe_load((run_dir / "recipe.yaml").read_text())
    for src in recipe.get("ingest", {}).get("sources", []):
        if src.get("path"):
            src["path"] = public_source(src["path"])
    text = yaml.safe_dump(recipe, sort_keys=False, allow_unicode=True)
    intro = "`distill run recipe.yaml` with this recipe (source paths shortened to file names):"
    return f"## Reproduce\n\n{intro}\n\n```yaml\n{text}```\n"
