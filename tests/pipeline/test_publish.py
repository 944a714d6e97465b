"""`distill publish` against a loopback stand-in of the Hub (tests/hub_standin.py), driven by the real
huggingface_hub client. No test reaches the real Hub; retries are counted, never timed."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
import types
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from helpers import REPO
from hub_standin import HubStandin
from pipeline.cli.publish import publish as publish_command
from pipeline.errors import RunFailed, UserError
from pipeline.publish import RetryPolicy, publish
from pipeline.publish.card import with_changelog
from pipeline.publish.history import load_history

TOKEN = "hf_CANARYtokenNEVERprintMe0123456789"  # recognisable: must appear nowhere
REPO_ID = "cotdistill-test/long-cot"
CARD = """---
configs:
- config_name: default
  data_files:
  - split: train
    path: data/train-*
---
# long-cot

Traces distilled by cotdistill.
"""

app = typer.Typer()
app.command()(publish_command)
runner = CliRunner()


# --- a finished run, as the dataset builder leaves it ---
def _write(folder: Path, rel: str, data: bytes) -> dict:
    path = folder / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return {"path": rel, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _parquet(rows: list[dict]) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pylist(rows), sink)
    return sink.getvalue().to_pybytes()


def make_run(run_dir: Path, shard_rows: list[int], pairs: int = 2, recipe_hash: str = "a1b2c3d4e5f6a7b8") -> Path:
    """``run_dir`` with dataset/ (card, one train shard per entry of ``shard_rows``, pairs) and its manifest."""
    folder = run_dir / "dataset"
    if folder.exists():
        for path in sorted(folder.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
    files, n, first = [_write(folder, "README.md", CARD.encode())], len(shard_rows), 0
    for i, count in enumerate(shard_rows):
        rows = [{"problem_id": f"p{first + j}", "answer_text": str(first + j)} for j in range(count)]
        files.append(_write(folder, f"data/train-{i:05d}-of-{n:05d}.parquet", _parquet(rows)))
        first += count
    pair_rows = [{"prompt": f"q{j}", "chosen": "right", "rejected": "wrong"} for j in range(pairs)]
    files.append(_write(folder, "pairs/train-00000-of-00001.parquet", _parquet(pair_rows)))
    manifest = {
        "run_name": "quick",
        "recipe_hash": recipe_hash,
        "built_at": "2025-01-01T00:00:00Z",
        "rows": {"default": {"train": sum(shard_rows)}},
        "pairs": {"train": pairs},
        "files": files,
    }
    (run_dir / "dataset.manifest.json").write_text(json.dumps(manifest))
    return run_dir


def local_files(run_dir: Path) -> dict[str, bytes]:
    folder = run_dir / "dataset"
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def remote_dataset(hub: HubStandin, rev: str = "main") -> dict[str, bytes]:
    return {p: b for p, b in hub.files(REPO_ID, rev).items() if p != ".gitattributes"}


def assert_no_token(run_dir: Path, hub: HubStandin | None, *texts: str) -> None:
    for text in texts:
        assert TOKEN not in text
    for path in run_dir.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path
    if hub is not None:
        for repo in hub.repos.values():
            assert all(TOKEN.encode() not in b.data for c in repo.commits for b in c.files.values())


# --- the client pointed at the stand-in ---
@pytest.fixture
def hub(monkeypatch, tmp_path):
    """A running stand-in, with huggingface_hub (already imported, so its constants are set) pointed at it."""
    import importlib

    from huggingface_hub import constants
    from huggingface_hub.utils import _http

    with HubStandin(token=TOKEN, seed=7) as standin:
        env = {"HF_ENDPOINT": standin.url, "HF_HUB_OFFLINE": "0", "HF_HUB_DISABLE_XET": "1", "HF_TOKEN": TOKEN}
        for name, value in {**env, "HF_HOME": str(tmp_path / "hf-home")}.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
        monkeypatch.setattr(constants, "ENDPOINT", standin.url)
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
        monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
        monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "hf-home" / "token"))  # no login cache
        monkeypatch.setattr(importlib.import_module("huggingface_hub.utils.tqdm"), "HF_HUB_DISABLE_PROGRESS_BARS", True)
        # huggingface_hub's own backoff (preupload, LFS) waits 1, 2, 4 s: count those waits instead.
        standin.client_sleeps = []
        monkeypatch.setattr(_http, "time", types.SimpleNamespace(sleep=standin.client_sleeps.append))
        yield standin
    assert standin.unknown == []


def policy(attempts: int = 8) -> RetryPolicy:
    return RetryPolicy(attempts=attempts, base_s=0.0, sleep=lambda seconds: None)


def cli(*args: str):
    return runner.invoke(app, [*args, "--backoff", "0"])


# --- success, faults, commits ---
def test_publish_with_injected_faults_makes_one_commit_of_the_exact_bytes(hub, tmp_path):
    run = make_run(tmp_path / "run", [3, 2, 4])
    hub.fault_share = 0.3  # 429, 503 and 412, deterministic (seeded)
    result = publish(run, REPO_ID, tag="v1", policy=policy(), today="2025-02-03")

    injected = sum(hub.count(status=s) for s in (429, 503, 412))
    assert injected >= 5 and result.retries >= 1  # faults happened and were retried...
    commits = hub.api_commits(REPO_ID)
    assert len(commits) == 1  # ...without a duplicate commit
    assert commits[0].message == "Publish run quick (recipe a1b2c3d4e5f6a7b8)"
    assert remote_dataset(hub) == local_files(run)  # byte for byte, the rewritten card included
    assert hub.repos[REPO_ID].tags == {"v1": commits[0].oid}
    card = remote_dataset(hub)["README.md"].decode()
    assert card.startswith(CARD) and "| v1 | 2025-02-03 | 9 | +9 | 2 | quick | `a1b2c3d4e5f6` |" in card
    history = load_history(run)
    assert history["pending"] == {}
    assert [(e["version"], e["commit"], e["tags"]) for e in history["publishes"]] == [(1, commits[0].oid, ["v1"])]


def test_a_commit_whose_answer_was_lost_is_not_made_twice(hub, tmp_path):
    run = make_run(tmp_path / "run", [2, 2])
    hub.lose_commit_answers = 1
    result = publish(run, REPO_ID, policy=policy())
    # The retry carries the same parent commit: the Hub refuses it (412), the re-read finds it done.
    assert [c.status for c in hub.calls if c.route == "commit"] == [503, 412]
    assert [c.oid for c in hub.api_commits(REPO_ID)] == result.pushed.commits
    assert result.retries == 2 and remote_dataset(hub) == local_files(run)


def test_more_than_100_files_go_in_batches_and_only_the_last_commit_carries_the_card(hub, tmp_path):
    run = make_run(tmp_path / "run", [1] * 150)  # 150 shards + pairs + card = 152 files
    publish(run, REPO_ID, policy=policy())
    first, last = hub.api_commits(REPO_ID)
    assert first.message.endswith("[part 1: data files, the card follows]")
    assert last.message == "Publish run quick (recipe a1b2c3d4e5f6a7b8)"
    assert "README.md" not in first.files and len(first.files) == 1 + 100  # .gitattributes + 100 shards
    assert remote_dataset(hub) == local_files(run)


@pytest.mark.parametrize(
    "outage, shards, first_lfs, already_there",
    [({"lfs_upload": 2}, [1, 1, 1, 1], 2, 0), ({"commit": 1}, [1] * 150, 100, 100)],
    ids=["during-lfs-uploads", "between-commits"],
)
def test_a_rerun_after_an_interruption_uploads_only_what_is_missing(
    hub, tmp_path, outage, shards, first_lfs, already_there
):
    run = make_run(tmp_path / "run", shards)
    hub.down_after = outage
    with pytest.raises(RunFailed, match="the Hub kept failing"):
        publish(run, REPO_ID, policy=policy(attempts=3))
    assert hub.count("lfs_upload", 200) == first_lfs
    hub.down, hub.down_after = False, {}

    result = publish(run, REPO_ID, policy=policy())
    total_lfs = len(shards) + 1  # shards + pairs
    assert hub.count("lfs_upload", 200) == total_lfs  # the rerun sent only the missing objects
    assert result.pushed.already_there == already_there  # committed before the outage: not sent again
    assert len(result.pushed.uploaded) == total_lfs + 1 - already_there
    assert remote_dataset(hub) == local_files(run)
    history = load_history(run)
    assert [e["version"] for e in history["publishes"]] == [1] and history["pending"] == {}


def test_a_second_publish_with_more_rows_adds_a_changelog_entry_and_drops_stale_shards(hub, tmp_path):
    run = make_run(tmp_path / "run", [3, 2])
    publish(run, REPO_ID, policy=policy(), today="2025-02-03")
    make_run(run, [3, 2, 4], pairs=3, recipe_hash="ffff0000eeee1111")  # rebuilt: 3 shards, new names
    result = publish(run, REPO_ID, policy=policy(), today="2025-03-04")

    assert len(hub.api_commits(REPO_ID)) == 2
    assert remote_dataset(hub) == local_files(run)  # the 2 shards "of-00002" are gone from the repo
    assert sorted(result.pushed.deleted) == ["data/train-00000-of-00002.parquet", "data/train-00001-of-00002.parquet"]
    card = remote_dataset(hub)["README.md"].decode()
    changelog = card[card.index("## Changelog") :].splitlines()
    assert changelog[-2:] == [
        "| v2 | 2025-03-04 | 9 | +4 | 3 | quick | `ffff0000eeee` |",
        "| v1 | 2025-02-03 | 5 | +5 | 2 | quick | `a1b2c3d4e5f6` |",
    ]
    assert card.count("## Changelog") == 1

    again = publish(run, REPO_ID, policy=policy(), today="2025-04-05")  # nothing new: no commit, no entry
    assert again.entry is None and again.pushed.commits == [] and len(hub.api_commits(REPO_ID)) == 2


def test_an_existing_tag_is_refused_before_anything_is_uploaded(hub, tmp_path):
    run = make_run(tmp_path / "run", [2])
    assert cli(str(run), "--repo-id", REPO_ID, "--tag", "v1").exit_code == 0
    make_run(run, [2, 3])
    result = cli(str(run), "--repo-id", REPO_ID, "--tag", "v1")
    assert result.exit_code == 2 and "Error: tag v1 already exists" in result.output
    assert len(hub.api_commits(REPO_ID)) == 1 and load_history(run)["pending"] == {}


def test_cli_reports_the_publish_and_never_the_token(hub, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="huggingface_hub")  # its request logs too
    run = make_run(tmp_path / "run", [2, 2])
    hub.fault_share = 0.2
    result = cli(str(run), "--repo-id", REPO_ID, "--private", "--tag", "v1")
    assert result.exit_code == 0, result.output
    assert f"Published to {hub.url}/datasets/{REPO_ID}" in result.output
    assert "4 files uploaded" in result.output and "tag: v1" in result.output
    assert hub.repos[REPO_ID].private
    assert "retry" in next((run / "logs").glob("publish-*.log")).read_text()
    assert "Request" in caplog.text and "authenticated: True" in caplog.text
    assert_no_token(run, hub, result.output, caplog.text)


# --- dry run ---
def test_dry_run_contacts_nothing_and_changes_nothing(hub, tmp_path, monkeypatch):
    run = make_run(tmp_path / "run", [3, 2])
    monkeypatch.delenv("HF_TOKEN")  # needs no token either
    card_before = (run / "dataset" / "README.md").read_bytes()
    result = cli(str(run), "--repo-id", REPO_ID, "--tag", "v1", "--dry-run")
    assert result.exit_code == 0, result.output
    assert hub.count() == 0 and hub.repos == {}
    assert (run / "dataset" / "README.md").read_bytes() == card_before and not (run / "publish/history.json").exists()
    for path, data in local_files(run).items():
        if path != "README.md":
            assert f"{len(data):,}  {path}" in result.output
    assert "commit: Publish run quick (recipe a1b2c3d4e5f6a7b8)" in result.output
    assert "changelog entry: v1" in result.output and "5 rows (+5)" in result.output
    plan = json.loads((run / "publish" / "dry-run.json").read_text())
    assert [f["path"] for f in plan["files"]][-1] == "README.md" and plan["changelog_entry"]["rows_total"] == 5
    assert_no_token(run, hub, result.output)


# --- faults that must fail, and how ---
@pytest.mark.parametrize(
    "status, message",
    [
        (401, "Error: the Hub refused the token (401 Unauthorized (POST /api/repos/create): Invalid credentials"),
        (403, f"Error: the token may not write to {REPO_ID} (403 Forbidden (POST /api/repos/create): You don"),
    ],
)
def test_401_and_403_fail_fast_with_one_line(hub, tmp_path, status, message):
    run = make_run(tmp_path / "run", [2])
    hub.refuse = status
    result = cli(str(run), "--repo-id", REPO_ID)
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and result.output.startswith(message), result.output
    assert hub.count() == 2 and hub.client_sleeps == []  # create, then its exist_ok look-up: no retry
    assert_no_token(run, hub, result.output)


def test_private_refuses_an_existing_public_repo(hub, tmp_path):
    run = make_run(tmp_path / "run", [2])
    assert cli(str(run), "--repo-id", REPO_ID).exit_code == 0
    result = cli(str(run), "--repo-id", REPO_ID, "--private")
    assert result.exit_code == 2 and f"Error: {REPO_ID} exists and is public" in result.output


def test_a_hub_that_keeps_answering_503_fails_after_the_retry_budget_and_a_rerun_completes(hub, tmp_path):
    run = make_run(tmp_path / "run", [2])
    hub.down = True
    with pytest.raises(RunFailed, match=r"the Hub kept failing \(create the repository: 503"):
        publish(run, REPO_ID, policy=policy(attempts=4))
    assert hub.count() == 4  # one call per attempt
    result = cli(str(run), "--repo-id", REPO_ID)  # the CLI's exit code, same fault
    assert result.exit_code == 1 and result.output.count("Error:") == 1
    hub.down = False
    assert cli(str(run), "--repo-id", REPO_ID).exit_code == 0
    assert remote_dataset(hub) == local_files(run)


def _corrupt(run: Path) -> None:
    (run / "dataset" / "data" / "train-00000-of-00001.parquet").write_bytes(b"not the built file")


@pytest.mark.parametrize(
    "args, setup, message",
    [
        (["--repo-id", "long-cot"], None, "expected ORG/NAME"),
        (["--repo-id", "org/a/b"], None, "expected ORG/NAME"),
        (["--repo-id", "org/bad--name"], None, "no '--' or '..'"),
        (["--repo-id", REPO_ID, "--tag", "v 1"], None, "--tag 'v 1'"),
        (["--repo-id", REPO_ID], lambda run: (run / "dataset.manifest.json").unlink(), "the dataset is not finished"),
        (["--repo-id", REPO_ID], _corrupt, "train-00000-of-00001.parquet: size differs"),
        (["--repo-id", REPO_ID], lambda run: (run / "dataset" / "extra.txt").write_text("x"), "extra.txt: not in"),
        (["--repo-id", REPO_ID], lambda run: os.environ.pop("HF_TOKEN"), "no Hugging Face token"),
    ],
    ids=["no-namespace", "two-slashes", "double-dash", "bad-tag", "no-manifest", "changed", "extra", "no-token"],
)
def test_bad_input_is_one_line_exit_2_and_contacts_nothing(hub, tmp_path, args, setup, message):
    run = make_run(tmp_path / "run", [2])
    if setup:
        setup(run)
    result = cli(str(run), *args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0], result.output
    assert hub.count() == 0


def test_offline_mode_is_an_error_not_a_silent_no_op(hub, tmp_path, monkeypatch):
    from huggingface_hub import constants

    run = make_run(tmp_path / "run", [2])
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    result = cli(str(run), "--repo-id", REPO_ID)
    assert result.exit_code == 2
    assert result.output.strip() == (
        "Error: HF_HUB_OFFLINE is set (offline mode, as the Makefile sets for tests and the quickstart): "
        "publishing needs the network; run it with HF_HUB_OFFLINE=0, or use --dry-run"
    )
    assert hub.count() == 0
    assert cli(str(run), "--repo-id", REPO_ID, "--dry-run").exit_code == 0  # a dry run needs no network


# --- the card ---
def test_changelog_section_is_replaced_where_it_is_or_appended():
    section = "## Changelog\n\nnew\n"
    assert with_changelog("---\na: 1\n---\n# T\n", section) == "---\na: 1\n---\n# T\n\n## Changelog\n\nnew\n"
    card = "---\na: 1\n---\n# T\n\n## Changelog\n\nold\n\n## License\n\nMIT\n"
    assert with_changelog(card, section) == "---\na: 1\n---\n# T\n\n## Changelog\n\nnew\n\n## License\n\nMIT\n"


def test_a_card_the_hub_refuses_is_bad_input_and_a_fixed_rerun_completes(hub, tmp_path):
    run = make_run(tmp_path / "run", [2])
    card, manifest_file = run / "dataset" / "README.md", run / "dataset.manifest.json"
    broken = CARD.replace("config_name: default", "config_name: [default")
    card.write_text(broken)
    manifest = json.loads(manifest_file.read_text())
    manifest["files"][0].update(bytes=len(broken), sha256=hashlib.sha256(broken.encode()).hexdigest())
    manifest_file.write_text(json.dumps(manifest))
    result = cli(str(run), "--repo-id", REPO_ID)
    assert result.exit_code == 2 and result.output.startswith("Error: README.md: the Hub refuses the card's YAML")
    assert hub.api_commits(REPO_ID) == []
    make_run(run, [2])  # rebuilt with a good card
    assert cli(str(run), "--repo-id", REPO_ID).exit_code == 0
    assert remote_dataset(hub) == local_files(run) and len(hub.api_commits(REPO_ID)) == 1


def test_a_card_edited_by_someone_else_is_refused(hub, tmp_path):
    run = make_run(tmp_path / "run", [2])
    publish(run, REPO_ID, policy=policy())
    publish(run, REPO_ID, policy=policy())  # the card the publisher rewrote is recognised
    card = run / "dataset" / "README.md"
    card.write_text(card.read_text() + "\nhand edit\n")
    with pytest.raises(UserError, match="README.md: sha256 differs"):
        publish(run, REPO_ID, policy=policy())


# --- as a real process, the environment read at import ---
def _subprocess(run: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    code = "import typer; from pipeline.cli.publish import publish; app = typer.Typer(); app.command()(publish); app()"
    return subprocess.run(
        [sys.executable, "-c", code, str(run), *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )


def test_publish_as_a_subprocess(tmp_path):
    run = make_run(tmp_path / "run", [2, 3])
    with HubStandin(token=TOKEN) as standin:
        env = {
            **os.environ,
            "HF_ENDPOINT": standin.url,
            "HF_HUB_OFFLINE": "0",
            "HF_HUB_DISABLE_XET": "1",
            "HF_HUB_DISABLE_PROGRESS_BARS": "1",
            "HF_TOKEN": TOKEN,
            "HF_HOME": str(tmp_path / "hf-home"),
        }
        done = _subprocess(run, env, "--repo-id", REPO_ID, "--tag", "v1")
        assert done.returncode == 0, done.stderr
        assert len(standin.api_commits(REPO_ID)) == 1 and remote_dataset(standin) == local_files(run)

        calls = standin.count()
        offline = _subprocess(run, {**env, "HF_HUB_OFFLINE": "1"}, "--repo-id", REPO_ID)
        assert offline.returncode == 2 and offline.stderr.startswith("Error: HF_HUB_OFFLINE is set")
        assert standin.count() == calls
        assert_no_token(run, standin, done.stdout, done.stderr, offline.stdout, offline.stderr)
