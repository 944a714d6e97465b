"""The Hub side of a publish: huggingface_hub's ``HfApi`` behind one retry policy and one error vocabulary.

huggingface_hub retries some of its own calls (preupload, LFS batch and upload, tree pages) on
429/5xx, but not repo creation, refs, the commit or tags, and never on 412. ``Hub.retrying`` retries
a call on 408/412/429/5xx and connection errors with exponential backoff, fails at once on 401/403,
and turns what is left into one-line errors. Commits carry ``parent_commit``: retrying one whose
answer was lost gets a 412 (the branch moved), never a second commit; ``Stale`` hands that 412 back
to the caller, which re-reads the repository.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator, TypeVar

from pipeline.errors import RunFailed, UserError

log = logging.getLogger(__name__)
T = TypeVar("T")
REPO_TYPE = "dataset"
_TRANSIENT_STATUS = {408, 412, 429}  # and every 5xx


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` tries per call (the first included), waiting ``base_s``, then twice as long each time."""

    attempts: int = 6
    base_s: float = 1.0
    max_s: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)

    def wait_s(self, failure: int, retry_after: float | None) -> float:
        wait = min(self.max_s, self.base_s * 2 ** (failure - 1))
        return max(wait, min(retry_after, self.max_s)) if retry_after else wait


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and its causes: huggingface_hub wraps upload errors in RuntimeError."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def classify(exc: BaseException) -> str | None:
    """Auth (401/403), transient (408/412/429/5xx, connection errors) or None: the first status decides."""
    import httpx2
    from huggingface_hub.errors import OfflineModeIsEnabled

    for e in _chain(exc):
        status = _status(e)
        if status is not None:
            if status in (401, 403):
                return "auth"
            return "transient" if status in _TRANSIENT_STATUS or status >= 500 else None
        if isinstance(e, OfflineModeIsEnabled):
            return None
        if isinstance(e, (httpx2.TransportError, ConnectionError, TimeoutError)):
            return "transient"
    return None


def _status_of(exc: BaseException) -> int | None:
    return next((s for s in map(_status, _chain(exc)) if s is not None), None)


def one_line(exc: BaseException, secret: str | None = None) -> str:
    """A one-line description of a Hub error, the token (if it ever appeared) masked."""
    status = _status_of(exc)
    if status is not None:
        e = next(e for e in _chain(exc) if _status(e) == status)
        request = getattr(e.response, "request", None)
        where = f" ({request.method} {request.url.path})" if request is not None else ""
        server = "; ".join(dict.fromkeys(filter(None, (getattr(e, "server_message", None) or "").splitlines())))
        text = f"{status} {e.response.reason_phrase}{where}" + (f": {server}" if server else "")
    else:
        text = next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
    text = " ".join(text.split())
    return text.replace(secret, "***") if secret else text


def _retry_after(exc: BaseException) -> float | None:
    for e in _chain(exc):
        value = getattr(getattr(e, "response", None), "headers", {}).get("retry-after", "")
        if str(value).strip().isdigit():
            return float(value)
    return None


def _is_true(value: str | None) -> bool:
    return (value or "").strip().upper() in {"1", "ON", "YES", "TRUE"}


def check_online() -> None:
    """Publishing needs the network: refuse offline mode loudly instead of failing on the first call.

    huggingface_hub reads HF_HUB_OFFLINE once, at import; the variable as it is now counts too.
    """
    from huggingface_hub import constants

    var = next((v for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE") if _is_true(os.environ.get(v))), None)
    if var is None and constants.is_offline_mode():
        var = "HF_HUB_OFFLINE"
    if var:
        raise UserError(
            f"{var} is set (offline mode, as the Makefile sets for tests and the quickstart): publishing needs "
            f"the network; run it with {var}=0, or use --dry-run"
        )


def find_token() -> str:
    """The token from huggingface_hub's own lookup (HF_TOKEN, then the login cache); never an argument."""
    from huggingface_hub import get_token

    token = get_token()
    if not token:
        raise UserError("no Hugging Face token: set HF_TOKEN or run `hf auth login` (a token with write access)")
    return token


class Stale(Exception):
    """A 412: the repository moved since it was read (maybe by our own commit, answer lost)."""


class Hub:
    """One dataset repository on the Hub, with ``retries`` counting the transient errors retried."""

    def __init__(self, repo_id: str, token: str, policy: RetryPolicy) -> None:
        from huggingface_hub import HfApi

        self.repo_id, self.policy, self.retries = repo_id, policy, 0
        self.api = HfApi(token=token)
        self._secret = token

    def retrying(self, what: str, call: Callable[[], T], stale: bool = False, repeatable: bool = True) -> T:
        """``call()``, again after a backoff while it fails transiently, at most ``policy.attempts`` times.

        With ``stale`` a 412 raises ``Stale`` instead, and so does any transient error when the call is
        not ``repeatable`` (a commit without a parent to guard it): the caller re-reads and decides.
        """
        failure = 0
        while True:
            try:
                return call()
            except (UserError, RunFailed):
                raise
            except Exception as exc:
                kind, text = classify(exc), one_line(exc, self._secret)
                if stale and (_status_of(exc) == 412 or (kind == "transient" and not repeatable)):
                    raise Stale(text) from None
                if kind == "auth":
                    raise UserError(self._auth_message(_status_of(exc), text)) from None
                if _status_of(exc) == 400 and "/api/validate-yaml" in text:
                    raise UserError(f"README.md: the Hub refuses the card's YAML header ({text})") from None
                if kind is None:
                    log.debug("%s failed", what, exc_info=True)
                    raise RunFailed(f"{self.repo_id}: {what} failed: {text}") from None
                failure += 1
                self.backoff(what, text, failure, _retry_after(exc))

    def backoff(self, what: str, text: str, failure: int, retry_after: float | None = None) -> None:
        """Wait before try ``failure + 1``, or give up once ``policy.attempts`` tries failed."""
        if failure >= self.policy.attempts:
            raise RunFailed(
                f"the Hub kept failing ({what}: {text}) after {failure} attempts; rerun the same command "
                "later: what was uploaded is kept and only the rest is sent"
            )
        wait = self.policy.wait_s(failure, retry_after)
        self.retries += 1
        log.warning("%s: %s; retry %d/%d in %.1fs", what, text, failure, self.policy.attempts - 1, wait)
        self.policy.sleep(wait)

    def _auth_message(self, status: int | None, text: str) -> str:
        if status == 403:
            org = self.repo_id.split("/")[0]
            return f"the token may not write to {self.repo_id} ({text}): use a token with write access to {org}"
        return f"the Hub refused the token ({text}): it is invalid or expired; set HF_TOKEN or run `hf auth login`"

    def ensure_repo(self, private: bool) -> str:
        """Create the dataset repo unless it exists; ``--private`` refuses an existing public repo."""
        url = self.api.create_repo(self.repo_id, repo_type=REPO_TYPE, private=True if private else None, exist_ok=True)
        if private and not self.api.dataset_info(self.repo_id).private:
            raise UserError(f"{self.repo_id} exists and is public: --private does not change an existing repository")
        return str(url)

    def refs(self) -> tuple[str | None, dict[str, str]]:
        """(the commit main points at, {tag: commit})."""
        refs = self.api.list_repo_refs(self.repo_id, repo_type=REPO_TYPE)
        head = next((b.target_commit for b in refs.branches if b.name == "main"), None)
        return head, {t.name: t.target_commit for t in refs.tags}

    def files(self, revision: str | None) -> dict:
        """{path: RepoFile} of every file at ``revision`` (nothing when the repo has no commit)."""
        from huggingface_hub.hf_api import RepoFile

        if revision is None:
            return {}
        tree = self.api.list_repo_tree(self.repo_id, recursive=True, revision=revision, repo_type=REPO_TYPE)
        return {entry.path: entry for entry in tree if isinstance(entry, RepoFile)}

    def preupload(self, operations: list) -> None:
        """Upload the LFS content of ``operations`` (kept on them: a retry sends only what is missing)."""
        additions = [op for op in operations if hasattr(op, "upload_info")]
        self.api.preupload_lfs_files(self.repo_id, additions, repo_type=REPO_TYPE, free_memory=False)

    def commit(self, operations: list, message: str, parent: str | None) -> str:
        info = self.api.create_commit(
            self.repo_id, operations, commit_message=message, repo_type=REPO_TYPE, parent_commit=parent
        )
        return info.oid

    def tag(self, tag: str, commit: str) -> None:
        """Tag ``commit``; a tag already there is fine only when it is ours (a lost answer, retried)."""
        from huggingface_hub.errors import HfHubHTTPError

        try:
            self.api.create_tag(self.repo_id, tag=tag, revision=commit, repo_type=REPO_TYPE)
        except HfHubHTTPError as exc:
            if _status(exc) != 409:
                raise
            target = self.refs()[1].get(tag)
            if target != commit:
                raise UserError(f"tag {tag} already exists on {self.repo_id} (commit {str(target)[:12]})") from None
