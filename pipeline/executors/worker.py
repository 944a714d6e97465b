"""Entry point of one worker process: ``python -m pipeline.executors.worker '<spec json>'``.

Runs ``pipeline.runner.run_stages`` for the shard the spec names and exits 0 (done), 2 (bad
input) or 1 (anything else, with the traceback in its log). Progress goes, as plain lines, to
the spec's progress file, which the supervising process relays.
"""

from __future__ import annotations

import json
import logging
import os
import sys

from pipeline.errors import UserError


def main(argv: list[str]) -> int:
    spec = json.loads(argv[1])
    os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from pipeline.preflight import load_checked_recipe
    from pipeline.progress import PlainProgress
    from pipeline.runner import run_stages

    with open(spec["progress_file"], "a", buffering=1) as stream:
        try:
            recipe = load_checked_recipe(spec["recipe"])
            run_stages(
                recipe,
                spec["run_dir"],
                spec["stages"],
                shard=spec["shard"],
                num_shards=spec["num_shards"],
                force=spec["force"],
                overrides=spec["overrides"],
                progress=PlainProgress(stream, spec["progress_interval"]),
            )
        except UserError as exc:
            print(f"Error: {exc}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
