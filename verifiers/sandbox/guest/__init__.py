"""Files that run *inside* the sandbox: stdlib only, copied into the box under the names below.

A package only so the host can import ``common`` (one copy of the memory exit code and the pidfd
wait) and find these files; inside the box they are plain scripts and modules with no
``verifiers`` package around them. This ``__init__`` is host-side and never copied.
"""

from pathlib import Path

GUEST_DIR = Path(__file__).resolve().parent

# Guest file -> its name in the box (the in-box imports use these names). The box dir comes
# first on the solution's sys.path: underscored names shadow no module a solution imports.
BOX_NAMES = {
    "boot.py": "_boot.py",
    "serve.py": "_serve.py",
    "harness.py": "harness.py",
    "guard.py": "_guard.py",
    "common.py": "_common.py",
}


def box_files(*guest_files: str) -> dict[str, str]:
    """{name in the box: text} for the given guest files, e.g. ``box_files("boot.py", "common.py")``."""
    return {BOX_NAMES[name]: (GUEST_DIR / name).read_text() for name in guest_files}
