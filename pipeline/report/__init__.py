"""`distill report`: one self-contained HTML page about a run (funnel, token lengths, pass rates,
drop reasons, contamination, throughput), with its plots embedded as PNG images.

Read only, like ``distill status``: counts come from ``pipeline.status.run_status``, and the
Parquet parts are streamed column by column for the distributions.
"""

from pipeline.report.page import REPORT_FILE, build_page, write_report

__all__ = ["REPORT_FILE", "build_page", "write_report"]
