"""Reports: figures (functions from a data frame to a matplotlib Figure) and one
self-contained HTML page per run or sweep.

    >>> from emergelab import open_store
    >>> from emergelab.report import write_report
    >>> write_report(open_store(), "grokking-3f2a", "grokking.html")

Both modules import matplotlib, pandas and jinja2 inside their functions, so importing
this package costs nothing until a report is actually built.
"""

from emergelab.report.figures import curves_figure, sweep_figure, to_svg
from emergelab.report.html import group_metrics, run_report, sweep_report, write_report

__all__ = [
    "curves_figure", "sweep_figure", "to_svg", "group_metrics", "run_report", "sweep_report", "write_report",
]  # fmt: skip
