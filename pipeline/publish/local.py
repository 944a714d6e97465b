"""The local side of a publish: the repo id, and a finished dataset folder checked against its manifest.

A folder is publishable only when ``dataset.manifest.json`` exists (written last by the builder) and
every file it lists is there with the listed size and sha256, and nothing else is: a folder that
changed after it was built is refused rather than half-published. ``README.md`` is the exception the
publisher itself makes: it rewrites the card's changelog, and records in ``publish/history.json`` which
card it wrote for which built card (see ``card.card_is_ours``).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from pipeline.dataset.layout import dataset_dir, manifest_path, read_manifest
from pipeline.errors import UserError

CARD = "README.md"
# The Hub's own rule (huggingface_hub.utils.validate_repo_id), with the namespace required.
_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?"
_REPO_ID = re.compile(rf"{_NAME}/{_NAME}")
_TAG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class LocalFile:
    """One file to publish: ``path`` in the repo (= relative to ``dataset/``), where it is, its hashes."""

    path: str
    source: Path
    size: int
    sha256: str
    git_sha1: str  # what the Hub reports as ``oid`` for a file stored in git (not LFS)


@dataclass(frozen=True)
class FinishedDataset:
    run_dir: Path
    manifest: dict
    files: list[LocalFile]  # the data files, sorted by path; the card is separate
    card: Path


def check_repo_id(repo_id: str) -> None:
    """``ORG/NAME`` with the Hub's characters, or a ``UserError`` saying what is wrong."""
    if repo_id.count("/") != 1:
        raise UserError(f"--repo-id {repo_id!r}: expected ORG/NAME (a namespace and a dataset name)")
    if not _REPO_ID.fullmatch(repo_id) or "--" in repo_id or ".." in repo_id or repo_id.endswith(".git"):
        raise UserError(
            f"--repo-id {repo_id!r}: names use letters, digits, '-', '_', '.', at most 96 characters, "
            "not starting or ending with '-' or '.', no '--' or '..'"
        )


def check_tag(tag: str) -> None:
    if not _TAG.fullmatch(tag) or ".." in tag or tag.endswith((".", ".lock")):
        raise UserError(f"--tag {tag!r}: use letters, digits, '.', '_', '-' (e.g. v3)")


def hash_file(path: Path) -> tuple[int, str, str]:
    """(size, sha256, git blob sha1) in one read."""
    size = path.stat().st_size
    sha256, git = hashlib.sha256(), hashlib.sha1()
    git.update(f"blob {size}\0".encode())
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            sha256.update(chunk)
            git.update(chunk)
    return size, sha256.hexdigest(), git.hexdigest()


def git_sha1(data: bytes) -> str:
    return hashlib.sha1(f"blob {len(data)}\0".encode() + data).hexdigest()


def _entries(run_dir: Path, manifest: dict) -> dict[str, dict]:
    where = manifest_path(run_dir)
    missing = [key for key in ("run_name", "recipe_hash", "rows", "files") if key not in manifest]
    if missing:
        raise UserError(f"{where}: missing {', '.join(missing)}: not a finished dataset manifest")
    entries = {}
    for entry in manifest["files"]:
        path = str(entry.get("path", ""))
        if not path or path.startswith("/") or ".." in Path(path).parts or "sha256" not in entry:
            raise UserError(f"{where}: bad file entry {entry!r}")
        entries[path] = entry
    return entries


def load_finished(run_dir: Path, card_is_ours: Callable[[str, str], bool]) -> FinishedDataset:
    """The finished dataset of ``run_dir``, every file checked against the manifest (size, sha256).

    ``card_is_ours(built_sha256, sha256)`` says whether a card that differs from the manifest is the
    one the publisher wrote for that build.
    """
    folder, where = dataset_dir(run_dir), manifest_path(run_dir)
    if not run_dir.is_dir():
        raise UserError(f"{run_dir}: run directory not found")
    manifest = read_manifest(run_dir)
    if manifest is None:
        state = "is unreadable" if where.exists() else "is missing"
        raise UserError(f"{run_dir}: the dataset is not finished ({where.name} {state}); build it first")
    entries = _entries(run_dir, manifest)
    on_disk = {
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    }  # hidden names are temp files of an interrupted atomic write, never part of the dataset
    problems = [f"{p}: missing" for p in sorted(set(entries) - on_disk)]
    problems += [f"{p}: not in the manifest" for p in sorted(on_disk - set(entries) - {CARD})]
    if CARD not in on_disk and CARD not in entries:
        problems.append(f"{CARD}: missing")
    files = []
    for path in sorted(set(entries) & on_disk):
        size, sha256, git = hash_file(folder / path)
        expected = entries[path]
        if path == CARD:
            if sha256 != expected["sha256"] and not card_is_ours(expected["sha256"], sha256):
                problems.append(f"{path}: sha256 differs")
            continue
        if size != expected.get("bytes", size):
            problems.append(f"{path}: size differs")
        elif sha256 != expected["sha256"]:
            problems.append(f"{path}: sha256 differs")
        files.append(LocalFile(path, folder / path, size, sha256, git))
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise UserError(
            f"{folder}: does not match {where.name}: {problems[0]}{more}; the folder changed after it was "
            "built or the build did not finish: rebuild it"
        )
    return FinishedDataset(run_dir, manifest, files, folder / CARD)
