"""Where a run's dataset lives: ``<run_dir>/dataset/`` holds only what a reader loads (the card
``README.md``, ``data/...parquet``, ``pairs/...parquet``); its bookkeeping, the manifest, lives
beside it in ``<run_dir>/dataset.manifest.json`` and is written last, after the folder is in
place, so a manifest that exists describes a finished folder.

Manifest: ``{"run_name", "recipe_hash", "built_at", "rows": {config: {split: n}},
"pairs": {split: n}, "files": [{"path": relative to the folder, "rows", "bytes", "sha256"}],
"source_fingerprint"}``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.stages.pairs import PAIRS_DIR
from pipeline.store import StageStore

if TYPE_CHECKING:
    from pipeline.recipe import Recipe

DATASET_DIR = "dataset"
MANIFEST = "dataset.manifest.json"
VERSIONS = "dataset.versions.json"  # one entry per build whose inputs changed: version, rows, rows added


def dataset_dir(run_dir: Path | str) -> Path:
    return Path(run_dir) / DATASET_DIR


def manifest_path(run_dir: Path | str) -> Path:
    return Path(run_dir) / MANIFEST


def read_manifest(run_dir: Path | str) -> dict | None:
    """The finished dataset's manifest, or None when no dataset was built (or it is unreadable)."""
    try:
        return json.loads(manifest_path(run_dir).read_text())
    except (OSError, ValueError):
        return None


def versions_path(run_dir: Path | str) -> Path:
    return Path(run_dir) / VERSIONS


def read_versions(run_dir: Path | str) -> list[dict]:
    try:
        return json.loads(versions_path(run_dir).read_text())
    except (OSError, ValueError):
        return []


def recipe_hash(run_dir: Path) -> str:
    return hashlib.sha256((run_dir / "recipe.yaml").read_bytes()).hexdigest()[:12]


def fingerprint(run_dir: Path, recipe: Recipe) -> str:
    """What the folder is made of: every finished export/pairs part (stats and file identity) and
    the export settings. A redone upstream part clears its export part, so that is covered too."""
    h = hashlib.sha256(recipe.export.model_dump_json().encode())
    h.update(recipe_hash(run_dir).encode())
    for name in ("export", PAIRS_DIR):
        store = StageStore(run_dir, name)
        for index in store.done_parts():
            stat = store.part_path(index).stat()
            h.update(f"{name}:{index}:{stat.st_size}:{stat.st_mtime_ns}:".encode())
            h.update(store.stats_path(index).read_bytes())
    return h.hexdigest()


def is_current(run_dir: Path, recipe: Recipe) -> bool:
    manifest = read_manifest(run_dir)
    return (
        manifest is not None
        and dataset_dir(run_dir).is_dir()
        and manifest.get("source_fingerprint") == fingerprint(run_dir, recipe)
    )
