"""Read a run directory: progress per stage, the funnel, teacher comparison (``distill status``).

Everything comes from visible files (plans, stats, markers), so it works on a run in progress,
from another machine, or after a crash.
"""

from pipeline.status.collect import run_status, unfinished
from pipeline.status.teachers import compare_teachers

__all__ = ["compare_teachers", "run_status", "unfinished"]
