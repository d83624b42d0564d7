"""Item pipelines and dataset writers: validate, deduplicate, store, write Parquet/CSV folders."""
