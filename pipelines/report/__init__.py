"""The dataset report: ``report.html``, one self-contained page of charts about a dataset folder.

Everything the page shows is inside the file: the charts are PNGs drawn with matplotlib (Agg)
and embedded as ``data:`` URIs, the style is inline, and there is no script. A Content Security
Policy forbids the browser to load anything else, so the report opens offline, tells no third
party who reads it, and a stray external reference would fail visibly.

The chart columns are read with the project's own loader, :func:`qa_crawler.load.load_dataset`;
the long texts are only measured, by pyarrow, one column and 256 rows at a time; so a large
dataset is never loaded whole.
"""

from pipelines.report.charts import age_band
from pipelines.report.page import REPORT_NAME, render_report, try_write_report, write_report

__all__ = ["REPORT_NAME", "age_band", "render_report", "try_write_report", "write_report"]
