"""What both in-box launchers (``boot.py``, ``warm_boot.py``) share; the host imports it too.

Stdlib only: copied into the box as ``_common.py`` and imported there under ``python -I -S``
(no ``verifiers`` package inside). The host imports ``MEMORY_EXIT`` and ``exited_within`` from
this same file as ``verifiers.sandbox.guest.common``, so each exists once.
"""

import math
import os
import resource
import select

MEMORY_EXIT = 117  # a launcher exits with this on MemoryError; the host maps it to `memory_limit`


def _limit(kind: int, soft: int, hard: int | None = None) -> None:
    hard = soft if hard is None else hard
    _, cur_hard = resource.getrlimit(kind)
    if cur_hard != resource.RLIM_INFINITY:  # never ask for more than we were given
        soft, hard = min(soft, cur_hard), min(hard, cur_hard)
    resource.setrlimit(kind, (soft, hard))


def apply_limits(limits: dict) -> None:
    """Set this process's rlimits from a ``Limits`` as a dict (its ``__dict__``)."""
    mb = 1 << 20
    cpu = max(1, math.ceil(limits["time_s"]))
    _limit(resource.RLIMIT_CPU, cpu, cpu + 1)  # soft -> SIGXCPU, hard -> SIGKILL if SIGXCPU is caught
    _limit(resource.RLIMIT_AS, limits["memory_mb"] * mb)
    _limit(resource.RLIMIT_FSIZE, limits["output_mb"] * mb)  # also caps stdout/stderr: they are files
    _limit(resource.RLIMIT_NOFILE, limits["nofile"])
    _limit(resource.RLIMIT_NPROC, limits["nproc"])  # counted per uid: each sandbox gets its own uid
    _limit(resource.RLIMIT_STACK, limits["stack_mb"] * mb)  # judges run Python with a big stack
    _limit(resource.RLIMIT_CORE, 0)


def drop_privileges(uid: int) -> None:
    """Become ``uid`` (as its own group, no supplementary groups), for good.

    Root only until here (bwrap gave us CAP_SETUID/SETGID); afterwards no capability is left,
    so hard limits set before can no longer be raised.
    """
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)


def exited_within(pid: int, timeout_s: float) -> bool:
    """True if ``pid`` (a child not yet reaped) exits within ``timeout_s``; it is not reaped.

    A pidfd wakes us at once (``Popen.wait`` polls, up to 50 ms late).
    Raises OSError or AttributeError where pidfds are missing (Linux < 5.3, Python < 3.9).
    """
    fd = os.pidfd_open(pid)
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(timeout_s * 1000))
    finally:
        os.close(fd)
