"""qa-crawler: crawl doctorqna.com Q&A pages and export them as a documented dataset."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "load_dataset"]


def load_dataset(path, columns=None, filters=None, table="qa"):
    """Load the ``qa`` table of a dataset folder (or ``table="similar"``, ``"related_topics"``,
    ``"failures"``) as a pandas DataFrame (see :mod:`qa_crawler.load`)."""
    from qa_crawler.load import load_dataset as _load

    return _load(path, columns=columns, filters=filters, table=table)
