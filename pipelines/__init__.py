"""Item pipelines and dataset writers: validate, deduplicate, store, write Parquet/CSV folders."""

import qa_crawler  # noqa: F401  (first: it chooses Arrow's memory pool before pyarrow loads)
