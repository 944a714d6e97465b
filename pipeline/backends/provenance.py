"""Where a teacher's weights came from, as a short fingerprint stored on every row."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

SOURCE_FILE = "cotdistill_source.json"  # written next to converted embedded models
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf", ".pt")


def _folder_fingerprint(path: Path) -> str:
    if path.parent.name == "snapshots":  # a Hub cache snapshot is named by its commit
        return path.name
    source = path / SOURCE_FILE
    if source.is_file():
        return json.loads(source.read_text())["fingerprint"]
    # Config bytes plus every weight file's name and size: cheap, and changes with the weights.
    digest = hashlib.sha256()
    if (path / "config.json").is_file():
        digest.update((path / "config.json").read_bytes())
    for weight in sorted(p for p in path.iterdir() if p.suffix in _WEIGHT_SUFFIXES):
        digest.update(f"{weight.name}:{weight.stat().st_size}".encode())
    return "files-sha256:" + digest.hexdigest()[:16]


def fingerprint(model: str) -> str:
    """Hub commit for a Hub id (from the local cache), else a hash of the local files."""
    path = Path(model).expanduser()
    if path.is_dir():
        return _folder_fingerprint(path)
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(model, local_files_only=True)).name
    except Exception:  # not cached locally: vLLM will say why if it cannot load it either
        return "unknown"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
