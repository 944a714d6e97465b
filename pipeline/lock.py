"""One writer per run dir: a lock file per shard, ``<run_dir>/.locks/shard-I-of-N.json``.

Shards of one run (``--shard i --num-shards n``, Slurm array tasks) hold different locks and
work side by side; a second run of the same shard, or a run sharded differently, is refused
while a live lock exists. A lock is live while its holder renews its lease (every
``LEASE_S / 3``); it is stale, and reclaimed with a message, when its process is gone (same
host) or its lease expired (any host: a node that died). Worker processes started by a holder
(``--dp``) inherit ``COTDISTILL_RUN_LOCK`` and do not lock again; nested calls in the holder
reuse its lock.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from pipeline.errors import UserError

log = logging.getLogger(__name__)

LOCK_DIR = ".locks"
LEASE_S = 300.0
ENV = "COTDISTILL_RUN_LOCK"
_HELD: dict[str, int] = {}  # run dir -> nesting depth, in this process
_MUTEX = threading.Lock()


def _key(run_dir: Path) -> str:
    return str(Path(run_dir).resolve())


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (one we may not signal counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stale_reason(info: dict) -> str | None:
    """Why a lock no longer counts, or None while its holder is alive."""
    if info.get("host") == socket.gethostname() and not pid_alive(int(info.get("pid", 0))):
        return f"process {info.get('pid')} on this host is gone"
    if float(info.get("lease_until", 0)) < time.time():
        return f"its lease expired at {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(info['lease_until']))}"
    return None


def live_locks(run_dir: Path) -> list[dict]:
    """Locks of ``run_dir`` whose holders are alive (a stale or unreadable one is left out)."""
    out = []
    for path in sorted((Path(run_dir) / LOCK_DIR).glob("shard-*.json")):
        try:
            info = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if stale_reason(info) is None:
            out.append({**info, "path": str(path)})
    return out


@contextmanager
def run_lock(run_dir: Path, shard: int = 0, num_shards: int = 1) -> Iterator[None]:
    """Hold the lock of this shard of ``run_dir`` for the ``with`` block (see the module doc)."""
    key = _key(run_dir)
    inherited = os.environ.get(ENV, "").split("|", 1)[0] == key
    with _MUTEX:
        nested = _HELD.get(key, 0) > 0
        if nested or inherited:
            _HELD[key] = _HELD.get(key, 0) + 1
    if nested or inherited:
        try:
            yield
        finally:
            with _MUTEX:
                _HELD[key] -= 1
        return
    path, token = _acquire(Path(run_dir), shard, num_shards)
    stop = threading.Event()
    renewer = threading.Thread(target=_renew, args=(path, token, stop), daemon=True, name="run-lock-lease")
    renewer.start()
    with _MUTEX:
        _HELD[key] = 1
    previous = os.environ.get(ENV)
    os.environ[ENV] = f"{key}|{token}"  # our worker processes work under this lock
    try:
        yield
    finally:
        with _MUTEX:
            _HELD.pop(key, None)
        if previous is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = previous
        stop.set()
        renewer.join()
        _release(path, token)


def _acquire(run_dir: Path, shard: int, num_shards: int) -> tuple[Path, str]:
    locks = run_dir / LOCK_DIR
    locks.mkdir(parents=True, exist_ok=True)
    mine = locks / f"shard-{shard}-of-{num_shards}.json"
    for other in live_locks(run_dir):
        if Path(other["path"]) == mine or other.get("num_shards") != num_shards:
            raise UserError(
                f"{run_dir} is in use: {_describe(other)}; wait for it to finish, stop it, or use another --run-dir"
            )
    token = uuid.uuid4().hex
    info = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "shard": shard,
        "num_shards": num_shards,
        "started": time.time(),
        "lease_until": time.time() + LEASE_S,
        "token": token,
    }
    if mine.exists():  # stale (a live one was refused above): say what we take over
        try:
            old = json.loads(mine.read_text())
            log.warning("reclaiming the stale lock %s: %s", mine, stale_reason(old) or "unreadable")
            print(f"note: reclaimed a stale run-dir lock ({stale_reason(old)})", flush=True)
        except (OSError, ValueError):
            pass
        mine.unlink(missing_ok=True)
    try:
        fd = os.open(mine, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise UserError(f"{run_dir} is in use: another run took shard {shard} of {num_shards} just now") from None
    with os.fdopen(fd, "w") as f:
        json.dump(info, f)
    return mine, token


def _describe(info: dict) -> str:
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.get("started", 0)))
    return (
        f"shard {info.get('shard')} of {info.get('num_shards')} held by pid {info.get('pid')} on "
        f"{info.get('host')} since {started}"
    )


def _renew(path: Path, token: str, stop: threading.Event) -> None:
    while not stop.wait(LEASE_S / 3):
        try:
            info = json.loads(path.read_text())
            if info.get("token") != token:
                return  # taken over (we were presumed dead): the new holder's file stays
            info["lease_until"] = time.time() + LEASE_S
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(info))
            os.replace(tmp, path)
        except (OSError, ValueError):
            pass


def _release(path: Path, token: str) -> None:
    try:
        if json.loads(path.read_text()).get("token") == token:
            path.unlink()
    except (OSError, ValueError):
        pass
