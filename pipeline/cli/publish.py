"""`distill publish RUN_DIR --repo-id ORG/NAME`: the finished dataset to a Hub dataset repository.

The token comes only from huggingface_hub's own lookup (HF_TOKEN, then `hf auth login`'s cache):
it is never an option, never printed, never logged. The log of a publish (retries included) goes to
``<run_dir>/logs/publish-<time>-<pid>.log``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from pathlib import Path
from typing import Annotated, Iterator, Optional

import typer

from pipeline.cli.common import handle_errors, plain_console


@contextlib.contextmanager
def _logging(run_dir: Path) -> Iterator[None]:
    """Everything logged (ours and huggingface_hub's) into the run's log; our retry notes also on stderr."""
    if not run_dir.is_dir():
        yield
        return
    logs = run_dir / "logs"
    logs.mkdir(exist_ok=True)
    to_file = logging.FileHandler(logs / f"publish-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}.log")
    to_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    to_stderr = logging.StreamHandler(sys.stderr)
    to_stderr.setLevel(logging.WARNING)
    root, ours = logging.getLogger(), logging.getLogger("pipeline.publish")
    level = root.level
    root.addHandler(to_file)
    root.setLevel(logging.INFO)
    ours.addHandler(to_stderr)
    try:
        yield
    finally:
        ours.removeHandler(to_stderr)
        root.removeHandler(to_file)
        root.setLevel(level)
        to_file.close()


@handle_errors
def publish(
    run_dir: Annotated[
        Path, typer.Argument(help="A run directory whose dataset/ is finished (has its manifest).", show_default=False)
    ],
    repo_id: Annotated[
        str, typer.Option("--repo-id", help="ORG/NAME of the Hub dataset repository; created when missing.")
    ],
    private: Annotated[
        bool, typer.Option("--private", help="Create the repository private (an existing public one is refused).")
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Print (and write to RUN_DIR/publish/dry-run.json) the files, commit message and changelog "
            "entry; contact nothing, change nothing.",
        ),
    ] = False,
    tag: Annotated[
        Optional[str], typer.Option("--tag", help="Tag the publish commit, e.g. v3; an existing tag is refused.")
    ] = None,
    backoff: Annotated[
        float, typer.Option("--backoff", min=0.0, hidden=True, help="First wait between retries, in seconds.")
    ] = 1.0,
) -> None:
    """Publish a run's finished dataset to the Hugging Face Hub: card with a changelog, data files, one commit.

    Needs the network (refuses HF_HUB_OFFLINE=1) and a token with write access from HF_TOKEN or
    `hf auth login`. Rerunning after an interruption sends only what the repository lacks; more than
    100 files go in several commits, the card in the last one.
    """
    from pipeline.publish import RetryPolicy
    from pipeline.publish import publish as run_publish

    with _logging(run_dir):
        result = run_publish(
            run_dir, repo_id, private=private, dry_run=dry_run, tag=tag, policy=RetryPolicy(base_s=backoff)
        )
    _print(result)


def _entry_line(entry: dict | None) -> str:
    if entry is None:
        return "none (this build is already the repository's latest publish from this run)"
    rows = f"{entry['rows_total']} rows ({entry['rows_added']:+d}), {entry['pairs_total']} pairs"
    return f"v{entry['version']}, {entry['date']}: {rows}"


def _print(result) -> None:
    out = plain_console(soft_wrap=True)
    if result.dry_run:
        total = sum(size for _, size in result.files)
        out.print(f"Dry run: nothing contacted, the dataset and the Hub unchanged. Would publish to {result.repo_id}:")
        out.print(f"{len(result.files)} files, {total:,} bytes (a real publish skips those the Hub already holds):")
        for path, size in result.files:
            out.print(f"  {size:>14,}  {path}")
        for message in result.messages:
            out.print(f"commit: {message}")
        out.print(f"changelog entry: {_entry_line(result.entry)}")
        if result.tag:
            out.print(f"tag: {result.tag}")
        out.print(f"plan written to {result.plan_path}")
        return
    pushed = result.pushed
    sent = sum(op.size for op in pushed.uploaded)
    if not pushed.commits:
        out.print(f"Nothing to upload: {result.repo_id} already holds this dataset (commit {str(pushed.head)[:12]}).")
    else:
        out.print(f"Published to {result.url}")
        for sha, message in zip(pushed.commits, pushed.messages, strict=True):
            out.print(f"  commit {sha[:12]}: {message}")
    out.print(
        f"  {len(pushed.uploaded)} files uploaded ({sent:,} bytes), {pushed.already_there} already on the Hub, "
        f"{len(pushed.deleted)} stale files deleted; {result.retries} Hub errors retried"
    )
    out.print(f"  changelog entry: {_entry_line(result.entry)}")
    if result.tag:
        out.print(f"  tag: {result.tag} -> {str(pushed.head)[:12]}")
