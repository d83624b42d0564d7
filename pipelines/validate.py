"""Validate each fetched page's record against the record declaration's JSON Schema.

A record that fails is counted per field in the crawl stats (``qa/validation/<field>``) and, when
``QA_DROP_INVALID`` is on (the default), kept out of the dataset: the page becomes a failure
outcome (``invalid_record``, with the reason) that the store records, with the page's links. It
only validates: it writes nothing. Items that are not fetched pages pass through unchanged, and
so do pages whose ``stored`` JSON is already set: the page worker (:mod:`qa_crawler.worker`)
checked them with the same :class:`JsonChecker` where it read them.

The schema is checked by a validator compiled once with fastjsonschema (0.1 ms a record, against
2.6 ms for jsonschema, profiled on the sample site's records); a record it rejects is checked
again by jsonschema, whose errors name every failing field for the stats and the failures
table. The schema uses only keywords draft 7 has, so both read the same rules.
"""

from __future__ import annotations

import functools
import logging

import fastjsonschema

from qa_crawler import stats as keys
from qa_crawler.fetched import INVALID_RECORD, Failed, FetchedPage
from qa_crawler.record import json_schema, to_json_dict

logger = logging.getLogger(__name__)
DRAFT_7 = "http://json-schema.org/draft-07/schema#"


class JsonChecker:
    """A record's JSON form if it passes the schema (the fast validator), else None."""

    def __init__(self):
        self.fast = fastjsonschema.compile({**json_schema(), "$schema": DRAFT_7})

    def __call__(self, record) -> dict | None:
        data = to_json_dict(record)
        try:
            self.fast(data)
        except fastjsonschema.JsonSchemaException:
            return None
        return data


class ValidationPipeline:
    def __init__(self, crawler):
        self.stats = crawler.stats
        self.drop = crawler.settings.getbool("QA_DROP_INVALID")
        self.check = JsonChecker()

    @functools.cached_property
    def validator(self):
        """jsonschema's validator, made for the first record the fast one rejects (importing
        jsonschema took 24 ms of every crawl's start, for crawls that mostly never need it)."""
        import jsonschema

        return jsonschema.Draft202012Validator(
            json_schema(), format_checker=jsonschema.FormatChecker())

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_item(self, item):
        if not isinstance(item, FetchedPage):
            return item
        record = item.record
        if item.stored is None:
            item.stored = self.check(record)
        if item.stored is not None:
            self.stats.inc_value(keys.VALIDATION_PASSED)
            return item
        data = to_json_dict(record)
        errors = sorted(self.validator.iter_errors(data), key=lambda e: list(e.path))
        if not errors:  # the two validators disagree: jsonschema's word, as before
            item.stored = data
            self.stats.inc_value(keys.VALIDATION_PASSED)
            return item
        fields = sorted({str(e.path[0]) if e.path else "(record)" for e in errors})
        for name in fields:
            self.stats.inc_value(keys.VALIDATION + name)
        reason = "; ".join(
            f"{'.'.join(map(str, e.path)) or 'record'}: {e.message}" for e in errors
        )[:500]
        if not self.drop:
            logger.warning("Invalid record kept (QA_DROP_INVALID off) %s: %s", record.url, reason)
            return item
        self.stats.inc_value(keys.VALIDATION_DROPPED)
        logger.warning("Invalid record dropped %s: %s", record.url, reason)
        return Failed(urls=item.urls or (item.key,), links=item.links, kind=INVALID_RECORD,
                      status=item.fetch.status, error=reason)
