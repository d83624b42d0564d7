"""The one writer of the crawl state during a crawl: every outcome the spider yields ends here.

For each outcome (:mod:`qa_crawler.fetched`) one state transaction (:mod:`qa_crawler.state`)
holds all it changes: the links found on the page added to the frontier; the record upserted
(deduplicated by qa_id), the failure recorded, the 304 noted, or the stored page marked
withdrawn (a 404/410 of a page the folder holds); an earlier failure of the page cleared; and
the page's URLs (with those it was redirected from) marked done. So a page is finished only
with its links in the frontier, a kill at any moment loses nothing, and a write that fails (a
full disk) leaves the page pending for the next run. On one machine those transactions are
committed a few pages at a time (:data:`COMMIT_PAGES`, :data:`COMMIT_SECONDS`; each page's a
savepoint of the commit's): a page not committed when the crawl is killed is not done either,
and the next run fetches it again. In a distributed crawl each page is committed, then its
request acked (:mod:`qa_crawler.cluster`), never before.

It also counts what it wrote (``qa/records/...``, ``qa/failures/...``, ``qa/removed``). Records go
on to the feed exports, if any; the other outcomes stop here. Without a crawl state (plain
``scrapy crawl -O``) it only counts and passes records on. The dataset folder is written from the
state at the end of the run (:mod:`qa_crawler.extensions`).
"""

from __future__ import annotations

import contextlib
import logging

from scrapy import signals
from scrapy.exceptions import DropItem

from pipelines.privacy import export_options
from qa_crawler import stats as keys
from qa_crawler.context import context_of
from qa_crawler.fetched import INVALID_RECORD, Failed, FetchedPage, NotModified, Outcome
from qa_crawler.guard import storage_failed
from qa_crawler.record import QARecord, to_json_dict
from qa_crawler.state import STATE_DIRNAME, StorageError

logger = logging.getLogger(__name__)
# Statuses that say a stored page was withdrawn from the site (its row gets removed_at).
WITHDRAWN = frozenset({404, 410})
# A crawl on one machine commits its pages this many at a time, or this many seconds after the
# first one not committed, whichever comes first (and as it closes). A kill loses none: a page
# not committed is not done in the state either, and the next run fetches it again. (A
# distributed crawl commits each page before its ack: the cluster then forgets the request.)
COMMIT_PAGES = 32
COMMIT_SECONDS = 0.5


class Consumed(DropItem):
    """An outcome that ends at the store, written (feed exports take records only)."""


class NotStoredItem(DropItem):
    """An outcome the state could not take (the folder cannot be written): its page stays
    pending, and is not acked."""


class StorePipeline:
    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats
        self.context = context_of(crawler)
        self.state = self.context.state
        self.seen: set[str] = set()
        self._held_pages = 0  # pages written in the open batch
        self._due = None  # the timer of the next commit
        settings = crawler.settings
        if self.state is not None:
            # Kept in the folder now, so a killed crawl's next run and `export` apply them too.
            export_options(
                self.state.out_dir / STATE_DIRNAME,
                settings.getlist("QA_REDACT") if settings.get("QA_REDACT") is not None else None,
                settings.get("QA_SPLIT_RATIOS") or None,
            )

    @classmethod
    def from_crawler(cls, crawler):
        store = cls(crawler)
        crawler.signals.connect(store.item_finished, signal=signals.item_scraped)
        crawler.signals.connect(store.item_finished, signal=signals.item_dropped)
        crawler.signals.connect(store.request_dropped, signal=signals.request_dropped)
        return store

    # -- outcomes ----------------------------------------------------------------------------
    def process_item(self, item):
        if not isinstance(item, Outcome):
            return item
        duplicate = isinstance(item, FetchedPage) and item.record.qa_id in self.seen
        written = "duplicate" if duplicate else None  # None: no state to write to
        if self.state is not None:
            batched = self.context.cluster is None  # (the cluster registers as the engine opens)
            try:
                if batched:
                    self._hold()
                with self.state.transaction():
                    self.state.add_pending(item.links)
                    if not duplicate:
                        written = self._write(item)
                    self.state.mark_done(item.urls or (item.key,))
                if batched:
                    self._held_pages += 1
                    if self._held_pages >= COMMIT_PAGES:
                        self.commit()
            except StorageError as exc:
                # Its own writes are undone; the pages before it are committed if the state
                # still can be written (else they are pending again, as it is).
                with contextlib.suppress(StorageError):
                    self.commit()
                storage_failed(self.crawler, exc)
                raise NotStoredItem(f"not stored: {exc}", log_level="DEBUG") from None
        self._count(item, written)
        cluster = self.context.cluster
        if cluster is not None and (isinstance(item, FetchedPage) or written == "touched"):
            cluster.found(item.key)  # a Q&A page of the run, for the whole cluster's monitors
        if duplicate:
            raise DropItem(f"duplicate qa_id {item.record.qa_id} ({item.record.url})")
        if isinstance(item, FetchedPage):
            self.seen.add(item.record.qa_id)
            return item.record  # feed exports, if any, get the record
        raise Consumed(f"{type(item).__name__} {item.key}", log_level="DEBUG")

    # -- commits a few pages at a time -------------------------------------------------------
    def _hold(self) -> None:
        """A batch begun, unless one is open (another may have committed the last one: the
        end of the run does, before the export)."""
        if self.state.holding or self.state.db.in_transaction:
            return
        from twisted.internet import reactor

        self.state.hold()
        self._held_pages = 0
        if self._due is not None and self._due.active():
            self._due.cancel()
        self._due = reactor.callLater(COMMIT_SECONDS, self._commit_due)

    def _commit_due(self) -> None:
        self._due = None
        try:
            self.commit()
        except StorageError as exc:
            storage_failed(self.crawler, exc)

    def commit(self) -> None:
        """Commit the pages gathered (StorageError if the state cannot: none of them is)."""
        due, self._due, self._held_pages = self._due, None, 0
        if due is not None and due.active():
            due.cancel()
        if self.state is not None:
            self.state.commit_held()

    def close_spider(self, spider=None) -> None:
        try:
            self.commit()
        except StorageError as exc:
            storage_failed(self.crawler, exc)

    def _write(self, item: Outcome) -> str:
        """Write what ``item`` says of its page, inside the store's transaction; what it was."""
        state, key = self.state, item.key
        if isinstance(item, FetchedPage):
            fetch = item.fetch
            return state.upsert(item.stored or to_json_dict(item.record), key, etag=fetch.etag,
                                last_modified=fetch.last_modified, seen_at=fetch.fetched_at,
                                signature=item.signature if item.stored else None,
                                encoded=item.encoded if item.stored else None)
        if isinstance(item, NotModified):
            state.touch(key)
            return "touched"
        if isinstance(item, Failed):
            if item.status in WITHDRAWN and state.mark_removed(key):
                return "removed"
            state.record_failure(key, item.kind, status=item.status, error=item.error,
                                 attempts=item.attempts)
            return "failed"
        state.clear_failure(key)  # a page read: whatever failed before is over
        return "read"

    def _count(self, item: Outcome, written: str | None) -> None:
        if isinstance(item, FetchedPage):
            if written == "duplicate":
                self.stats.inc_value(keys.DUPLICATES)
            elif written is not None:
                self.stats.inc_value(keys.RECORDS + written)
        elif written == "removed":
            # A stored page the site no longer has: withdrawn, not a failure.
            self.stats.inc_value(keys.REMOVED)
            logger.info("Withdrawn from the site (HTTP %d): %s", item.status, item.key)
        elif isinstance(item, Failed) and item.kind != INVALID_RECORD:
            # (An invalid record is counted by the validation pipeline.)
            self.stats.inc_value(keys.FAILURES + item.kind)
            if item.start:
                self.stats.set_value(keys.START_FAILED, item.error)
            logger.warning("Failed %s (%s) after %d attempt(s): %s", item.key, item.kind,
                           item.attempts, item.error)

    # -- the page's request: finished in the cluster too -------------------------------------
    def item_finished(self, item, response=None, exception=None, **kwargs) -> None:
        """After an outcome is written (or dropped as a duplicate), its request is acked in a
        distributed crawl; one the state could not take stays in flight."""
        if isinstance(exception, NotStoredItem) or not isinstance(item, (Outcome, QARecord)):
            return
        # An errback's items come with its Failure, which names the request too.
        self._ack(getattr(response, "request", None))

    def request_dropped(self, request, **kwargs) -> None:
        """A redirect to a page already scheduled: the redirecting URLs are finished (the page
        is another request's). Other drops are duplicates of a request still under way."""
        if not request.meta.get("redirect_urls"):
            return
        finishing = getattr(self.crawler.spider, "finishing", None)
        if self.state is not None and finishing is not None:
            try:
                self.state.mark_done(finishing(request))
            except StorageError as exc:
                storage_failed(self.crawler, exc)
                return  # not finished: the next run fetches it again
        self._ack(request)

    def _ack(self, request) -> None:
        cluster = self.context.cluster
        if cluster is not None and request is not None:
            cluster.ack(request)
