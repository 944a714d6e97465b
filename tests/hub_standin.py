"""A loopback stand-in for the Hugging Face Hub HTTP routes a dataset upload uses, for the real client.

Routes (as huggingface_hub 2.x calls them): whoami-v2, repos/create, dataset info, refs, tree
(paginated with a Link header), paths-info, preupload, validate-yaml, the LFS batch API with basic
uploads and verify, commit (NDJSON) and tag; plus agent-harnesses, the registry huggingface_hub
fetches once per process for its user agent (public, never faulted, left out of ``count()``).
Files live in memory, per commit. Only the legacy LFS transfer is spoken: Xet (hf_xet's own
protocol) is not, so the client must run with HF_HUB_DISABLE_XET=1; its token route answers 501
saying so, and any route not listed is recorded in ``unknown`` and answered 404.

Faults, decided before a request is handled (so a faulted call changed nothing):
- ``refuse = 401`` (or 403): every call refused so;
- ``fault_share`` of calls answered with one of ``fault_statuses``, chosen by a hash of
  (seed, route, path, how many times that path was called): deterministic whatever the thread order;
- ``down``: every call 503;
- ``down_after[route] = n``: ``down`` switches on after n successful calls of that route (an outage
  mid-publish); ``lose_commit_answers = n``: the next n commits are applied, then answered 503.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

REPO = r"(?P<repo>[^/]+/[^/]+?)"
BACKGROUND = "agent_harnesses"
REV = r"(?P<rev>[^/]+)"


def git_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Blob:
    data: bytes
    lfs: bool

    def entry(self, path: str) -> dict:
        out = {"type": "file", "path": path, "size": len(self.data)}
        if not self.lfs:
            return {**out, "oid": git_sha1(self.data)}
        sha = hashlib.sha256(self.data).hexdigest()
        pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha}\nsize {len(self.data)}\n".encode()
        return {
            **out,
            "oid": git_sha1(pointer),
            "lfs": {"oid": sha, "size": len(self.data), "pointerSize": len(pointer)},
        }


@dataclass
class Commit:
    oid: str
    message: str
    files: dict[str, Blob]


@dataclass
class Repo:
    repo_id: str
    private: bool
    commits: list[Commit] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def head(self) -> Commit:
        return self.commits[-1]

    def resolve(self, rev: str) -> Commit | None:
        rev = unquote(rev)
        if rev == "main":
            return self.head
        if rev in self.tags:
            rev = self.tags[rev]
        return next((c for c in reversed(self.commits) if c.oid.startswith(rev)), None)


class Reply(Exception):
    def __init__(self, status: int, body: object = None, headers: dict | None = None):
        self.status, self.body, self.headers = status, body, headers or {}


@dataclass
class Call:
    method: str
    route: str
    path: str
    status: int


class HubStandin:
    """``with HubStandin(token=...) as hub:`` serves on ``hub.url`` until the block ends."""

    def __init__(self, token: str, *, fault_share: float = 0.0, fault_statuses=(429, 503, 412), seed: int = 0):
        self.token, self.fault_share, self.fault_statuses, self.seed = token, fault_share, tuple(fault_statuses), seed
        self.refuse: int | None = None
        self.down = False
        self.down_after: dict[str, int] = {}
        self.lose_commit_answers = 0
        self.page_size = 50
        self.repos: dict[str, Repo] = {}
        self.lfs: dict[str, bytes] = {}
        self.calls: list[Call] = []
        self.unknown: list[str] = []
        self._seen: dict[tuple[str, str], int] = {}
        self._ok: dict[str, int] = {}
        self._lock = threading.RLock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._routes = [
            ("GET", r"/api/agent-harnesses", BACKGROUND, self._agent_harnesses),
            ("GET", r"/api/whoami-v2", "whoami", self._whoami),
            ("POST", r"/api/repos/create", "create_repo", self._create_repo),
            ("GET", rf"/api/datasets/{REPO}/refs", "refs", self._refs),
            ("GET", rf"/api/datasets/{REPO}/tree/{REV}(?:/(?P<sub>.+))?", "tree", self._tree),
            ("POST", rf"/api/datasets/{REPO}/paths-info/{REV}", "paths_info", self._paths_info),
            ("POST", rf"/api/datasets/{REPO}/preupload/{REV}", "preupload", self._preupload),
            ("POST", rf"/api/datasets/{REPO}/commit/{REV}", "commit", self._commit),
            ("POST", rf"/api/datasets/{REPO}/tag/{REV}", "tag", self._tag),
            ("GET", rf"/api/datasets/{REPO}/xet-write-token/.*", "xet", self._xet),
            ("GET", rf"/api/datasets/{REPO}(?:/revision/{REV})?", "repo_info", self._info),
            ("POST", r"/api/validate-yaml", "validate_yaml", self._validate_yaml),
            ("POST", rf"/datasets/{REPO}\.git/info/lfs/objects/batch", "lfs_batch", self._lfs_batch),
            ("PUT", r"/_lfs/(?P<oid>[0-9a-f]{64})", "lfs_upload", self._lfs_upload),
            ("POST", r"/_lfs/verify", "lfs_verify", self._lfs_verify),
        ]

    # --- lifecycle and what tests read ---
    def __enter__(self) -> HubStandin:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def count(self, route: str | None = None, status: int | None = None) -> int:
        """Calls answered (by route and/or status), huggingface_hub's background registry fetch left out."""
        with self._lock:
            calls = [c for c in self.calls if c.route != BACKGROUND or route == BACKGROUND]
            return sum(1 for c in calls if route in (None, c.route) and status in (None, c.status))

    def api_commits(self, repo_id: str) -> list[Commit]:
        """Commits made through the commit route (not the repo's initial commit)."""
        return self.repos[repo_id].commits[1:] if repo_id in self.repos else []

    def files(self, repo_id: str, rev: str = "main") -> dict[str, bytes]:
        commit = self.repos[repo_id].resolve(rev)
        return {path: blob.data for path, blob in commit.files.items()}

    # --- dispatch ---
    def handle(self, method: str, target: str, headers, body: bytes) -> tuple[int, object, dict]:
        url = urlsplit(target)
        route, func, match = "unknown", None, None
        for m, pattern, name, fn in self._routes:
            if m == method and (match := re.fullmatch(pattern, url.path)):
                route, func = name, fn
                break
        with self._lock:
            key = (route, url.path)
            nth = self._seen[key] = self._seen.get(key, 0) + 1
        try:
            self._gate(route, url.path, nth, headers)
            if func is None:
                self.unknown.append(f"{method} {url.path}")
                raise Reply(404, {"error": f"stand-in: no route {method} {url.path}"})
            with self._lock:
                status, payload, extra = 200, func(match, parse_qs(url.query), body), {}
                self._ok[route] = self._ok.get(route, 0) + 1
                if self.down_after.get(route) is not None and self._ok[route] >= self.down_after[route]:
                    self.down = True
        except Reply as reply:
            status, payload, extra = reply.status, reply.body, reply.headers
        with self._lock:
            self.calls.append(Call(method, route, url.path, status))
        return status, payload, extra

    def _gate(self, route: str, path: str, nth: int, headers) -> None:
        """Faults first: a refused call never changes anything."""
        if route == BACKGROUND:
            return
        if self.refuse == 403:
            raise Reply(403, {"error": "You don't have the rights to create a dataset under this namespace"})
        presigned = route == "lfs_upload"  # like a storage URL: the client sends no token there
        if self.refuse == 401 or (not presigned and headers.get("authorization") != f"Bearer {self.token}"):
            raise Reply(401, {"error": "Invalid credentials in Authorization header"})
        if self.down:
            raise Reply(503, {"error": "stand-in: service unavailable"})
        digest = hashlib.sha256(f"{self.seed}:{route}:{path}:{nth}".encode()).digest()
        if int.from_bytes(digest[:4], "big") / 2**32 < self.fault_share:
            status = self.fault_statuses[digest[4] % len(self.fault_statuses)]
            raise Reply(status, {"error": f"stand-in: injected {status}"})

    def _repo(self, match) -> Repo:
        repo = self.repos.get(match["repo"])
        if repo is None:
            raise Reply(404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
        return repo

    def _commit_at(self, repo: Repo, rev: str) -> Commit:
        commit = repo.resolve(rev)
        if commit is None:
            raise Reply(404, {"error": "Invalid rev id"}, {"X-Error-Code": "RevisionNotFound"})
        return commit

    def _new_commit(self, repo: Repo, message: str, files: dict[str, Blob]) -> Commit:
        seed = f"{repo.repo_id}:{len(repo.commits)}:{message}:{sorted(files)}".encode()
        commit = Commit(hashlib.sha1(seed).hexdigest(), message, files)
        repo.commits.append(commit)
        return commit

    # --- routes ---
    def _agent_harnesses(self, match, query, body):
        return {"standardEnvVars": [], "harnesses": {}}

    def _whoami(self, match, query, body):
        return {"type": "user", "name": "standin", "orgs": [], "auth": {"accessToken": {"role": "write"}}}

    def _create_repo(self, match, query, body):
        payload = json.loads(body)
        repo_id = f"{payload.get('organization') or 'standin'}/{payload['name']}"
        if payload.get("type") != "dataset":
            raise Reply(400, {"error": "stand-in: dataset repos only"})
        url = f"{self.url}/datasets/{repo_id}"
        if repo_id in self.repos:
            raise Reply(409, {"error": "You already created this dataset repo", "url": url})
        repo = self.repos[repo_id] = Repo(repo_id, payload.get("visibility") == "private")
        attributes = Blob(b"*.parquet filter=lfs diff=lfs merge=lfs -text\n", lfs=False)
        self._new_commit(repo, "initial commit", {".gitattributes": attributes})
        return {"url": url, "name": repo_id}

    def _info(self, match, query, body):
        repo = self._repo(match)
        commit = self._commit_at(repo, match["rev"] or "main")
        siblings = [{"rfilename": p} for p in sorted(commit.files)]
        return {"id": repo.repo_id, "sha": commit.oid, "private": repo.private, "siblings": siblings}

    def _refs(self, match, query, body):
        repo = self._repo(match)
        main = {"name": "main", "ref": "refs/heads/main", "targetCommit": repo.head.oid}
        tags = [{"name": t, "ref": f"refs/tags/{t}", "targetCommit": oid} for t, oid in repo.tags.items()]
        return {"branches": [main], "converts": [], "tags": tags}

    def _entries(self, commit: Commit, sub: str, recursive: bool) -> list[dict]:
        prefix = f"{sub}/" if sub else ""
        files = {p: b for p, b in commit.files.items() if p.startswith(prefix)}
        folders = {"/".join(p.split("/")[:i]) for p in files for i in range(1, p.count("/") + 1)}
        entries = [b.entry(p) for p, b in files.items()] + [
            {"type": "directory", "path": d, "oid": git_sha1(d.encode()), "size": 0} for d in folders
        ]
        depth = prefix.count("/")
        return sorted(
            (e for e in entries if e["path"].startswith(prefix) and (recursive or e["path"].count("/") == depth)),
            key=lambda e: e["path"],
        )

    def _tree(self, match, query, body):
        commit = self._commit_at(self._repo(match), match["rev"])
        entries = self._entries(commit, unquote(match["sub"] or ""), query.get("recursive", ["false"])[0] == "true")
        start = int(query.get("cursor", ["0"])[0])
        page = entries[start : start + self.page_size]
        if start + self.page_size >= len(entries):
            return page
        rest = f"recursive={query.get('recursive', ['false'])[0]}&cursor={start + self.page_size}"
        link = f'<{self.url}/api/datasets/{match["repo"]}/tree/{match["rev"]}?{rest}>; rel="next"'
        raise Reply(200, page, {"Link": link})

    def _paths_info(self, match, query, body):
        commit = self._commit_at(self._repo(match), match["rev"])
        wanted = parse_qs(body.decode()).get("paths", [])
        return [e for e in self._entries(commit, "", True) if e["path"] in wanted]

    def _preupload(self, match, query, body):
        commit = self._commit_at(self._repo(match), match["rev"])
        out = []
        for f in json.loads(body)["files"]:
            lfs = f["path"].endswith(".parquet") or f["size"] > 10_000_000
            blob = commit.files.get(f["path"])
            oid = None if blob is None else ((blob.entry(f["path"]).get("lfs") or {}).get("oid") or git_sha1(blob.data))
            mode = "lfs" if lfs else "regular"
            out.append({"path": f["path"], "uploadMode": mode, "shouldIgnore": False, "oid": oid})
        return {"files": out, "commitOid": commit.oid}

    def _validate_yaml(self, match, query, body):
        content = json.loads(body)["content"]
        header = re.match(r"---\n(.*?)\n---\n", content, re.S)
        try:
            yaml.safe_load(header.group(1)) if header else None
        except yaml.YAMLError as exc:
            message = " ".join(str(exc).split())
            raise Reply(400, {"error": message, "errors": [{"message": message}]}) from None
        return {"errors": [], "warnings": []}

    def _lfs_batch(self, match, query, body):
        self._repo(match)
        objects = []
        for obj in json.loads(body)["objects"]:
            item = {"oid": obj["oid"], "size": obj["size"], "authenticated": True}
            if obj["oid"] not in self.lfs:  # no actions: the content is already there
                item["actions"] = {
                    "upload": {"href": f"{self.url}/_lfs/{obj['oid']}"},
                    "verify": {"href": f"{self.url}/_lfs/verify"},
                }
            objects.append(item)
        return {"transfer": "basic", "objects": objects}

    def _lfs_upload(self, match, query, body):
        if hashlib.sha256(body).hexdigest() != match["oid"]:
            raise Reply(400, {"error": "stand-in: content does not match its oid"})
        self.lfs[match["oid"]] = body
        return {}

    def _lfs_verify(self, match, query, body):
        obj = json.loads(body)
        if obj["oid"] not in self.lfs or len(self.lfs[obj["oid"]]) != obj["size"]:
            raise Reply(404, {"error": "stand-in: object not uploaded"})
        return {}

    def _commit(self, match, query, body):
        repo = self._repo(match)
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        header = next(line["value"] for line in lines if line["key"] == "header")
        if unquote(match["rev"]) != "main":
            raise Reply(400, {"error": "stand-in: commits go to main"})
        if header.get("parentCommit") and not repo.head.oid.startswith(header["parentCommit"]):
            raise Reply(412, {"error": "A commit has happened since. Please refresh and try again."})
        files = dict(repo.head.files)
        for line in lines:
            key, value = line["key"], line["value"]
            if key == "file":
                files[value["path"]] = Blob(base64.b64decode(value["content"]), lfs=False)
            elif key == "lfsFile":
                if value["oid"] not in self.lfs:
                    raise Reply(422, {"error": f"stand-in: LFS object {value['oid']} was never uploaded"})
                files[value["path"]] = Blob(self.lfs[value["oid"]], lfs=True)
            elif key == "deletedFile":
                if files.pop(value["path"], None) is None:
                    raise Reply(404, {"error": f"stand-in: {value['path']} does not exist"})
            elif key == "deletedFolder":
                files = {p: b for p, b in files.items() if not p.startswith(value["path"].rstrip("/") + "/")}
        commit = self._new_commit(repo, header["summary"], files)
        if self.lose_commit_answers:
            self.lose_commit_answers -= 1
            raise Reply(503, {"error": "stand-in: the commit went through, its answer is lost"})
        url = f"{self.url}/datasets/{repo.repo_id}/commit/{commit.oid}"
        return {"commitUrl": url, "commitOid": commit.oid, "success": True, "pullRequestUrl": None}

    def _tag(self, match, query, body):
        repo = self._repo(match)
        commit = self._commit_at(repo, match["rev"])
        tag = json.loads(body)["tag"]
        if tag in repo.tags:
            raise Reply(409, {"error": f"Tag {tag} already exists"})
        repo.tags[tag] = commit.oid
        return {}

    def _xet(self, match, query, body):
        raise Reply(501, {"error": "stand-in: no Xet here; run the client with HF_HUB_DISABLE_XET=1"})


def _handler(hub: HubStandin) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _body(self) -> bytes:
            if self.headers.get("transfer-encoding", "").lower() == "chunked":
                data = b""
                while size := int(self.rfile.readline().split(b";")[0], 16):
                    data += self.rfile.read(size)
                    self.rfile.readline()
                self.rfile.readline()
                return data
            return self.rfile.read(int(self.headers.get("content-length") or 0))

        def _serve(self) -> None:
            body = self._body()  # read it all first: the connection is kept alive
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, payload, extra = hub.handle(self.command, self.path, headers, body)
            data = json.dumps(payload).encode() if payload is not None else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if status >= 400 and isinstance(payload, dict) and "error" in payload:
                self.send_header("X-Error-Message", str(payload["error"]))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = _serve

        def log_message(self, format, *args) -> None:  # quiet: tests read hub.calls
            pass

    return Handler
