"""``<run_dir>/publish/history.json``: what this run published where, the source of the card's changelog.

``{"publishes": [entry, ...], "pending": {repo_id: entry}, "card": {"built": sha256, "written": sha256}}``.
An entry is planned ``pending`` before anything is uploaded and moves to ``publishes`` (with the
commit) once the Hub has the whole dataset, so a rerun after an interruption reuses the same
version and date and the card it uploads is byte-identical. ``card`` records which README the
publisher wrote over which built one (the manifest's sha256 of the card stays the builder's).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pipeline.errors import UserError
from pipeline.store import write_json_atomic

HISTORY = Path("publish") / "history.json"


def history_path(run_dir: Path) -> Path:
    return run_dir / HISTORY


def load_history(run_dir: Path) -> dict[str, Any]:
    path = history_path(run_dir)
    if not path.exists():
        return {"publishes": [], "pending": {}, "card": None}
    try:
        history = json.loads(path.read_text())
    except ValueError as exc:
        raise UserError(f"{path}: not valid JSON ({exc}); fix or remove it (it only feeds the changelog)") from None
    return {"publishes": [], "pending": {}, "card": None, **history}


def save_history(run_dir: Path, history: dict[str, Any]) -> None:
    write_json_atomic(history_path(run_dir), history)


def build_id(manifest: dict) -> str:
    """Identifies a build by its recipe and data files (not the card, which the publisher rewrites)."""
    files = sorted((f["path"], f["sha256"]) for f in manifest["files"] if f["path"] != "README.md")
    blob = json.dumps({"recipe_hash": manifest["recipe_hash"], "files": files}).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def _total(counts: dict) -> int:
    """Rows of ``{config: {split: n}}`` or ``{split: n}``."""
    return sum(_total(n) if isinstance(n, dict) else int(n) for n in counts.values())


def published(history: dict, repo_id: str) -> list[dict]:
    return [e for e in history["publishes"] if e["repo_id"] == repo_id]


def plan_entry(history: dict, repo_id: str, manifest: dict, today: str) -> dict | None:
    """This publish's changelog entry (the pending one when a rerun resumes it), or None when the
    repo's last publish from this run was this very build."""
    done = published(history, repo_id)
    last = done[-1] if done else None
    bid = build_id(manifest)
    if last and last["build_id"] == bid:
        return None
    version = (last["version"] + 1) if last else 1
    pending = history["pending"].get(repo_id)
    if pending and pending["build_id"] == bid and pending["version"] == version:
        return pending
    rows_total = _total(manifest["rows"])
    return {
        "repo_id": repo_id,
        "version": version,
        "date": today,
        "run_name": manifest["run_name"],
        "recipe_hash": manifest["recipe_hash"],
        "build_id": bid,
        "rows": manifest["rows"],
        "pairs": manifest.get("pairs", {}),
        "rows_total": rows_total,
        "rows_added": rows_total - (last["rows_total"] if last else 0),
        "pairs_total": _total(manifest.get("pairs", {})),
    }


def changelog_entries(history: dict, repo_id: str, entry: dict | None) -> list[dict]:
    return published(history, repo_id) + ([entry] if entry else [])


def complete(history: dict, entry: dict, commit: str | None) -> None:
    """Move ``entry`` from pending to publishes, with the commit that finished it."""
    history["pending"].pop(entry["repo_id"], None)
    history["publishes"].append({**entry, "commit": commit})


def record_tag(history: dict, repo_id: str, tag: str, commit: str) -> None:
    for entry in reversed(published(history, repo_id)):
        if entry.get("commit") == commit:
            entry.setdefault("tags", []).append(tag)
            return
