"""Downloader middleware: retries with exponential backoff that honour ``Retry-After``."""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time

from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.utils.response import response_status_message

logger = logging.getLogger(__name__)


def retry_after_seconds(value: bytes | str | None) -> float | None:
    """``Retry-After`` as seconds: either a number of seconds or an HTTP date."""
    if not value:
        return None
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's RetryMiddleware, waiting ``base * 2**attempt`` (or ``Retry-After``) before a retry."""

    def __init__(self, settings):
        super().__init__(settings)
        self.base = settings.getfloat("QA_RETRY_BACKOFF_BASE", 1.0)
        self.cap = settings.getfloat("QA_RETRY_BACKOFF_MAX", 60.0)

    def _delay(self, request, response=None) -> float:
        if response is not None:
            after = retry_after_seconds(response.headers.get(b"Retry-After"))
            if after is not None:
                return min(after, self.cap)
        attempt = request.meta.get("retry_times", 0)
        return min(self.cap, self.base * (2 ** attempt)) * random.uniform(0.5, 1.0)

    async def process_response(self, request, response, spider=None):
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        delay = self._delay(request, response)
        retry = self._retry(request, response_status_message(response.status))
        if retry is None:
            return response
        if delay > 0:
            logger.debug("Retrying %s in %.1fs (HTTP %s)", request.url, delay, response.status)
            await asyncio.sleep(delay)
        return retry

    async def process_exception(self, request, exception, spider=None):
        if not isinstance(exception, self.exceptions_to_retry) or request.meta.get("dont_retry"):
            return None
        delay = self._delay(request)
        retry = self._retry(request, exception)
        if retry is not None and delay > 0:
            await asyncio.sleep(delay)
        return retry
