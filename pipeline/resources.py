"""Where bundled resources (prompts/, data/) live: the source tree, or <prefix>/share/cotdistill."""

from __future__ import annotations

import sys
from pathlib import Path

_SOURCE_ROOT = Path(__file__).resolve().parents[1]


def resource_dir(name: str) -> Path:
    for root in (_SOURCE_ROOT, Path(sys.prefix) / "share" / "cotdistill"):
        if (root / name).is_dir():
            return root / name
    raise FileNotFoundError(f"bundled folder {name!r} not found next to the package or in {sys.prefix}/share")
