"""What to commit, and committing it: local files against the repo's files, in commits of at most 100.

Each round reads the repo (head commit, then its files), plans what differs, uploads the LFS content
of the first batch and commits it with ``parent_commit`` = that head. A rerun, or a round after a
412, starts from what the Hub really holds, so nothing is uploaded twice, and a commit whose answer
was lost is seen as done rather than made again. The card goes last: when more than 100 files must
go, only the final commit carries the card (and the deletion of stale data files); the commits
before it hold data files only, and their message says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

from pipeline.publish.hub import Hub, Stale
from pipeline.publish.local import CARD, LocalFile

MAX_FILES_PER_COMMIT = 100
OWNED = ("data", "pairs")  # top-level folders the dataset owns: remote files there that it lacks are stale


@dataclass(frozen=True)
class Op:
    path: str
    file: LocalFile | None  # None: delete ``path``

    @property
    def size(self) -> int:
        return self.file.size if self.file else 0


@dataclass
class PushResult:
    head: str | None = None  # the commit the repo ends at
    commits: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    uploaded: list[Op] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    already_there: int | None = None  # files the Hub had when the first step looked


def same_content(remote, local: LocalFile) -> bool:
    """The remote file holds ``local``'s bytes: by LFS sha256, else git blob oid, else size."""
    if remote is None:
        return False
    if remote.lfs is not None:
        return remote.lfs.sha256 == local.sha256
    if remote.blob_id:
        return remote.blob_id == local.git_sha1
    return remote.size == local.size


def plan(files: list[LocalFile], card: LocalFile, remote: dict, owned: tuple[str, ...] = OWNED) -> list[Op]:
    """Additions (sorted), then deletions of stale files under ``owned``, then the card, last."""
    local = {f.path for f in files}
    ops = [Op(f.path, f) for f in files if not same_content(remote.get(f.path), f)]
    ops += [Op(p, None) for p in sorted(remote) if p.split("/")[0] in owned and p not in local]
    if not same_content(remote.get(CARD), card):
        ops.append(Op(CARD, card))
    return ops


def batches(ops: list[Op], limit: int = MAX_FILES_PER_COMMIT) -> list[list[Op]]:
    return [ops[i : i + limit] for i in range(0, len(ops), limit)]


def commit_message(manifest: dict, part: int | None = None) -> str:
    """Names the run and the recipe hash; a ``part`` is a data-only commit before the final one."""
    message = f"Publish run {manifest['run_name']} (recipe {manifest['recipe_hash']})"
    return f"{message} [part {part}: data files, the card follows]" if part else message


def _operations(ops: list[Op]) -> list:
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete

    return [
        CommitOperationAdd(path_in_repo=op.path, path_or_fileobj=str(op.file.source))
        if op.file
        else CommitOperationDelete(path_in_repo=op.path)
        for op in ops
    ]


def push(hub: Hub, files: list[LocalFile], card: LocalFile, manifest: dict) -> PushResult:
    """Commit until the repo holds ``files`` and ``card``; every call retried by ``hub.retrying``."""
    result, stale, lost = PushResult(), 0, None
    while True:
        head = hub.retrying("read the repository", hub.refs)[0]
        todo = plan(files, card, hub.retrying("list the repository", partial(hub.files, head)))
        if result.already_there is None:
            result.already_there = len(files) + 1 - sum(1 for op in todo if op.file)
        if not todo:
            result.head = head
            if lost:  # our commit went through, its answer did not: report it as made
                _record(result, head, *lost)
            return result
        batch, final = batches(todo)[0], len(todo) <= MAX_FILES_PER_COMMIT
        message = commit_message(manifest, None if final else len(result.commits) + 1)
        try:
            sha = _commit_batch(hub, _operations(batch), message, head)
        except Stale as exc:
            stale, lost = stale + 1, (batch, message)
            hub.backoff("commit", f"the repository moved ({exc})", stale)
            continue
        stale, lost = 0, None
        _record(result, sha, batch, message)
        if final:
            return result


def _commit_batch(hub: Hub, operations: list, message: str, head: str | None) -> str:
    hub.retrying("upload", partial(hub.preupload, operations))
    # The parent guards a retried commit (412 rather than a second commit); without one, re-read instead.
    commit = partial(hub.commit, operations, message, head)
    return hub.retrying("commit", commit, stale=True, repeatable=head is not None)


def _record(result: PushResult, sha: str, batch: list[Op], message: str) -> None:
    result.head = sha
    result.commits.append(sha)
    result.messages.append(message)
    result.uploaded += [op for op in batch if op.file]
    result.deleted += [op.path for op in batch if not op.file]
