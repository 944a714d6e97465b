"""``publish(run_dir, repo_id)``: check the finished dataset, write the changelog, upload, tag.

Order matters for "a rerun completes what an interruption left": everything that can refuse
(repo id, tag name, unfinished folder, offline mode, token, existing tag) is checked before anything
is written; the changelog entry is recorded ``pending`` before the card is rewritten; the entry
becomes a publish only once the Hub holds every file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from pipeline.errors import UserError
from pipeline.publish import card as cards
from pipeline.publish import history as hist
from pipeline.publish.hub import Hub, RetryPolicy, check_online, find_token
from pipeline.publish.local import CARD, LocalFile, check_repo_id, check_tag, git_sha1, load_finished
from pipeline.publish.upload import Op, PushResult, batches, commit_message, push

DRY_RUN = Path("publish") / "dry-run.json"


@dataclass
class Publish:
    """What a publish did (or, with ``dry_run``, would do)."""

    repo_id: str
    dry_run: bool
    files: list[tuple[str, int]]  # every file of the dataset, card included, with its size
    messages: list[str]  # the commit messages (dry run: if the Hub had none of the files)
    entry: dict | None  # the changelog entry; None when this build was already published there
    tag: str | None = None
    url: str | None = None
    pushed: PushResult = field(default_factory=PushResult)
    retries: int = 0
    plan_path: Path | None = None


def _today() -> str:
    return datetime.now(timezone.utc).date().isoformat()


def _card_file(path: Path, data: bytes) -> LocalFile:
    return LocalFile(CARD, path, len(data), cards.sha256_of(data), git_sha1(data))


def _built_card_sha(manifest: dict) -> str | None:
    return next((f["sha256"] for f in manifest["files"] if f["path"] == CARD), None)


def publish(
    run_dir: Path,
    repo_id: str,
    *,
    private: bool = False,
    dry_run: bool = False,
    tag: str | None = None,
    policy: RetryPolicy | None = None,
    today: str | None = None,
) -> Publish:
    """Publish ``run_dir``'s finished dataset to the dataset repo ``repo_id`` (see the module doc)."""
    check_repo_id(repo_id)
    if tag is not None:
        check_tag(tag)
    if not dry_run:  # cheap refusals before hashing the whole dataset
        check_online()
        token = find_token()
    history = hist.load_history(run_dir)
    dataset = load_finished(run_dir, cards.card_is_ours(history))
    entry = hist.plan_entry(history, repo_id, dataset.manifest, today or _today())
    card_bytes = cards.new_card(dataset.card, hist.changelog_entries(history, repo_id, entry))
    card = _card_file(dataset.card, card_bytes)
    every = [*dataset.files, card]
    files = [(f.path, f.size) for f in every]
    if dry_run:
        parts = len(batches([Op(f.path, f) for f in every]))
        messages = [commit_message(dataset.manifest, part) for part in range(1, parts)]
        messages.append(commit_message(dataset.manifest))
        result = Publish(repo_id, True, files, messages, entry, tag)
        result.plan_path = _write_plan(run_dir, result, private)
        return result

    hub = Hub(repo_id, token, policy or RetryPolicy())
    url = hub.retrying("create the repository", lambda: hub.ensure_repo(private))
    if tag is not None:
        target = hub.retrying("read the tags", hub.refs)[1].get(tag)
        if target is not None:
            raise UserError(f"tag {tag} already exists on {repo_id} (commit {target[:12]}): choose another tag")
    if entry is not None:
        history["pending"][repo_id] = entry
        hist.save_history(run_dir, history)
    cards.write_card(run_dir, history, dataset.card, card_bytes, _built_card_sha(dataset.manifest))
    pushed = push(hub, dataset.files, card, dataset.manifest)
    if entry is not None:
        hist.complete(history, entry, pushed.head)
        hist.save_history(run_dir, history)
    if tag is not None and pushed.head is not None:
        hub.retrying("create the tag", lambda: hub.tag(tag, pushed.head))
        hist.record_tag(history, repo_id, tag, pushed.head)
        hist.save_history(run_dir, history)
    return Publish(repo_id, False, files, pushed.messages, entry, tag, url, pushed, hub.retries)


def _write_plan(run_dir: Path, result: Publish, private: bool) -> Path:
    from pipeline.store import write_json_atomic

    path = run_dir / DRY_RUN
    plan = {
        "repo_id": result.repo_id,
        "private": private,
        "files": [{"path": p, "bytes": n} for p, n in result.files],
        "commits": result.messages,
        "changelog_entry": result.entry,
        "tag": result.tag,
        "note": "a real publish skips the files the Hub already holds (same sha256)",
    }
    write_json_atomic(path, plan)
    return path
