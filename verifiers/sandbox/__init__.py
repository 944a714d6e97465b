"""The code sandbox: run untrusted Python with no network, no secrets and hard limits.

Host side: ``cold`` (``run_python``: a run on a warm server where they work, else a fresh
sandbox per run) and ``warm`` (pooled long-lived sandbox servers, a forked process per test),
built on ``isolation`` (bwrap or the rlimits fallback), ``slots`` (a uid and a
directory per concurrent run) and ``limits``. ``guest/`` holds the stdlib-only files copied
into the box.
"""

from verifiers.sandbox.cold import run_python
from verifiers.sandbox.guest import GUEST_DIR
from verifiers.sandbox.isolation import Mode, bwrap_path, resolve_mode
from verifiers.sandbox.limits import Limits, RunResult
from verifiers.sandbox.warm import run_warm, warm_available

__all__ = [
    "GUEST_DIR",
    "Limits",
    "Mode",
    "RunResult",
    "bwrap_path",
    "resolve_mode",
    "run_python",
    "run_warm",
    "warm_available",
]
