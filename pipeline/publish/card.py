"""The dataset card's ``## Changelog`` section: rendered from the history, swapped into README.md.

Only that section changes; the YAML header (configs, features) and the rest of the card stay as the
builder wrote them. The section is replaced where it is, or appended at the end of the card.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable

from pipeline.publish.history import save_history
from pipeline.store import write_bytes_atomic

HEADING = "## Changelog"


def render_changelog(entries: list[dict]) -> str:
    """The section, newest version first; ``added`` counts rows against the version before it."""
    lines = [
        HEADING,
        "",
        "Rows added are counted against the previous version of this repository.",
        "",
        "| version | date | rows | added | pairs | run | recipe |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    for e in reversed(entries):
        lines.append(
            f"| v{e['version']} | {e['date']} | {e['rows_total']} | {e['rows_added']:+d} | {e['pairs_total']} "
            f"| {e['run_name']} | `{e['recipe_hash'][:12]}` |"
        )
    return "\n".join(lines) + "\n"


def _body_start(lines: list[str]) -> int:
    """Index of the first line after the YAML header (0 without one)."""
    if lines and lines[0].rstrip() == "---":
        for i in range(1, len(lines)):
            if lines[i].rstrip() == "---":
                return i + 1
    return 0


def with_changelog(card: str, section: str) -> str:
    """``card`` with its changelog section replaced by ``section`` (appended when it has none).

    >>> with_changelog("# T\\n\\n## Changelog\\nold\\n\\n## License\\nMIT\\n", "## Changelog\\nnew\\n")
    '# T\\n\\n## Changelog\\nnew\\n\\n## License\\nMIT\\n'
    """
    lines = card.splitlines(keepends=True)
    start = next((i for i in range(_body_start(lines), len(lines)) if lines[i].rstrip() == HEADING), None)
    if start is None:
        return card.rstrip("\n") + "\n\n" + section
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith(("# ", "## "))), len(lines))
    rest = "".join(lines[end:])
    return "".join(lines[:start]) + section + ("\n" + rest if rest else "")


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def card_is_ours(history: dict) -> Callable[[str, str], bool]:
    """A check for ``local.load_finished``: is this card one we wrote over that built card?"""
    record = history.get("card") or {}
    return lambda built, actual: record.get("built") == built and actual in record.get("written", [])


def new_card(card_path: Path, entries: list[dict]) -> bytes:
    return with_changelog(card_path.read_text(encoding="utf-8"), render_changelog(entries)).encode("utf-8")


def write_card(run_dir: Path, history: dict, card_path: Path, data: bytes, built: str | None) -> None:
    """Replace README.md with ``data``, recording it in the history first: a crash in between leaves
    a card that is still recognised (the built one, or one written before)."""
    if card_path.read_bytes() == data:
        return
    record = history.get("card") or {}
    written = record.get("written", []) if record.get("built") == built else []
    history["card"] = {"built": built, "written": [*written, sha256_of(data)][-20:]}
    save_history(run_dir, history)
    write_bytes_atomic(card_path, data)
