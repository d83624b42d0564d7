"""One crawl split across processes and machines on Redis, built on scrapy-redis.

scrapy-redis gives the shared frontier (a Redis sorted set of requests) and the shared seen set
(its RFPDupeFilter). What it leaves open, and this module closes:

- In-flight requests of a killed worker. scrapy-redis pops a request and forgets it, so a
  worker killed with -9 loses what it had claimed. Here a pop moves the request into the
  worker's in-flight hash in the same Lua script, the worker acks it once the page is stored
  (or has finally failed), and live workers move a dead worker's in-flight requests back into
  the frontier (a worker is dead when its heartbeat key has expired).
- Stopping. A worker stops when the frontier is empty and no live worker has anything in
  flight, for ``QA_REDIS_IDLE_SECONDS``; the last one out deletes the run's keys.
- Runs. Each crawl run has its own keys (``<prefix>:<run>:...``): the first worker creates the
  run, later ones join it. The seen set lives in Redis only for the run; which pages are already
  stored is rebuilt from the output folder at each start, because the folder is the durable
  record (a Redis without persistence may lose everything) and it is what ``export`` reads.
- Politeness for the whole cluster: the per-domain delay and concurrency are enforced through
  Redis (see :class:`ClusterPolitenessMiddleware`), not per worker.
- The released scrapy-redis only offers ``start_requests()`` on its spiders, which Scrapy 2.16+
  no longer calls; we use its scheduler and dupefilter with our own spider's ``async start()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import socket
import time
import uuid
from urllib.parse import urlsplit

import redis
from scrapy import signals
from scrapy.exceptions import DontCloseSpider, NotConfigured
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler
from twisted.internet import task

from qa_crawler import stats as stats_keys
from qa_crawler.context import context_of

logger = logging.getLogger(__name__)

# The scripts below keep one invariant, whatever moment a worker is killed at: a request the run
# has seen is in the frontier, in the in-flight hash of a worker of the run's workers set, or
# finished. So a pop registers its worker in the set (a worker taken for dead while it was only
# slow, its heartbeat late, and recovered, is registered again by its next pop), and recovery
# checks the heartbeat, moves the requests and unregisters the worker in one step.
_POP = """
local items = redis.call('ZRANGE', KEYS[1], 0, 0)
if #items == 0 then return false end
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, 0)
redis.call('HSET', KEYS[2], ARGV[1], items[1])
redis.call('SADD', KEYS[3], ARGV[2])
return items[1]
"""
_REQUEUE = """
local entries = redis.call('HVALS', KEYS[1])
for _, v in ipairs(entries) do redis.call('ZADD', KEYS[2], 0, v) end
redis.call('DEL', KEYS[1])
return #entries
"""
_RECOVER = """
if redis.call('EXISTS', KEYS[3]) == 1 then return -1 end
local entries = redis.call('HVALS', KEYS[1])
for _, v in ipairs(entries) do redis.call('ZADD', KEYS[2], 0, v) end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[4], ARGV[1])
return #entries
"""
# Seen and queued together: a kill between the two would leave a request seen (so refused when
# the folder's frontier offers it again) and in no queue.
# A request made from one in flight here (a redirect's, whose meta carries the token) stops
# being in flight as it is queued, in the same step.
_ENQUEUE = """
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
if ARGV[4] ~= '' then redis.call('HDEL', KEYS[3], ARGV[4]) end
return 1
"""
_NEXT_SLOT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
local at = math.max(nxt, now)
redis.call('SET', KEYS[1], at + tonumber(ARGV[1]), 'PX', 600000)
return at - now
"""
_LEASE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
  return 1
end
return 0
"""

# Seconds between two asks for a slot while the cluster's budget for a domain is all in use
# (sooner when this worker releases one).
_SLOT_POLL_SECONDS = 0.05


def default_worker_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def crawl_prefix(settings) -> str:
    """Keys of one crawl: ``QA_REDIS_PREFIX``, else the site and the output folder's name."""
    if settings.get("QA_REDIS_PREFIX"):
        return settings.get("QA_REDIS_PREFIX")
    site = urlsplit(settings.get("QA_START_URL") or "").netloc
    folder = os.path.basename(os.path.abspath(settings.get("QA_OUT_DIR") or "."))
    digest = hashlib.sha1(f"{site}|{folder}".encode()).hexdigest()[:10]
    return f"qa-crawler:{digest}"


def check_url(url: str) -> None:
    """ValueError naming ``url`` unless it is ``redis[s]://[...@]HOST[:PORT][/DB]`` with a number
    for DB, or ``unix://PATH``: redis-py reads ``/abc`` as database 0 and ``/1/2`` as 12."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise ValueError(f"invalid Redis URL {url!r}: it must start with redis://, rediss:// "
                         "or unix://")
    if parts.scheme == "unix":
        return
    try:
        parts.port
    except ValueError:
        raise ValueError(f"invalid Redis URL {url!r}: the port is not a number") from None
    db = parts.path.strip("/")
    if not parts.hostname or db and not db.isdigit():
        raise ValueError(f"invalid Redis URL {url!r}: expected redis://HOST:PORT/DB with DB a "
                         "number (0, 1, ...)")


def connect(url: str) -> redis.Redis:
    """A Redis client for ``url``; ConnectionError/ValueError name the URL when it is unusable."""
    check_url(url)
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=30)
        client.ping()
    except ValueError as exc:
        raise ValueError(f"invalid Redis URL {url!r}: {exc}") from None
    except redis.RedisError as exc:
        raise ConnectionError(f"cannot reach Redis at {url}: {exc}") from None
    return client


class ReliableQueue(PriorityQueue):
    """scrapy-redis's priority queue, with each pop kept in the worker's in-flight hash."""

    inflight_key: str = ""
    workers_key: str = ""
    worker: str = ""

    def pop(self, timeout=0):
        token = uuid.uuid4().hex
        data = self.server.eval(_POP, 3, self.key, self.inflight_key, self.workers_key, token,
                                self.worker)
        if not data:
            return None
        request = self._decode_request(data)
        request.meta["qa_inflight"] = token
        return request

    def push(self, request):
        token = request.meta.pop("qa_inflight", None)
        super().push(request)
        if token:  # a retry goes back to the frontier: it is no longer in flight here
            self.server.hdel(self.inflight_key, token)

    def push_unseen(self, request, fingerprint: str, seen_key: str) -> bool:
        """Queue ``request`` unless the run has seen ``fingerprint``, marking it seen in the same
        step; whether it was queued."""
        token = request.meta.pop("qa_inflight", None)
        queued = bool(self.server.eval(_ENQUEUE, 3, seen_key, self.key, self.inflight_key,
                                       fingerprint, -request.priority,
                                       self._encode_request(request), token or ""))
        if token and not queued:
            request.meta["qa_inflight"] = token  # still this worker's to ack (request_dropped)
        return queued


class ClusterScheduler(Scheduler):
    """scrapy-redis's scheduler for one run of one crawl, with heartbeats, recovery and idling."""

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        url = settings.get("REDIS_URL")
        if not url:
            raise NotConfigured("REDIS_URL is not set")
        server = connect(url)
        prefix = crawl_prefix(settings)
        run = _join_run(server, prefix)
        worker = settings.get("QA_WORKER") or default_worker_name()
        keys = f"{prefix}:{run}"
        instance = cls(
            server=server, persist=True, queue_key=f"{keys}:requests",
            queue_cls="qa_crawler.cluster.ReliableQueue",
            dupefilter_key=f"{keys}:dupefilter",
            dupefilter_cls="scrapy_redis.dupefilter.RFPDupeFilter",
            idle_before_close=0,
        )
        from scrapy_redis.dupefilter import RFPDupeFilter

        instance.df = RFPDupeFilter(server, key=f"{keys}:dupefilter")
        instance.stats = crawler.stats
        instance.crawler = crawler
        instance.url = url
        instance.prefix, instance.run, instance.keys, instance.worker = prefix, run, keys, worker
        instance.idle_seconds = settings.getfloat("QA_REDIS_IDLE_SECONDS")
        instance.ttl = settings.getint("QA_REDIS_HEARTBEAT_TTL")
        instance.idle_since = None
        instance.lost = False
        instance._found = []
        # Scrapy's engine asks an empty scheduler again only on its heartbeat (5 s): a worker
        # whose frontier was empty for a moment (at the start, or while the others hold every
        # page in flight) would sit out 5 s with the frontier refilled. A Redis frontier is
        # refilled by the other workers, so this worker's engine asks more often.
        engine = getattr(crawler, "engine", None)
        if engine is not None and hasattr(engine, "_SLOT_HEARTBEAT_INTERVAL"):
            engine._SLOT_HEARTBEAT_INTERVAL = settings.getfloat("QA_REDIS_POLL_SECONDS")
        # Registered with the crawl's shared objects: the politeness middleware and the store
        # (which acks each finished page) find it there.
        context_of(crawler).cluster = instance
        crawler.signals.connect(instance.spider_idle, signal=signals.spider_idle)
        return instance

    # -- keys --------------------------------------------------------------------------------
    def _inflight(self, worker: str) -> str:
        return f"{self.keys}:inflight:{worker}"

    def _alive(self, worker: str) -> str:
        return f"{self.keys}:alive:{worker}"

    # -- the run's counts, every worker's, for the monitors ----------------------------------
    def found(self, url: str) -> None:
        """A Q&A page this worker found (parsed, unchanged, a duplicate, or stored before and
        skipped): counted for the run once, whichever workers find it. Published with the
        page's ack (the same round trip), or with the next heartbeat or idle poll."""
        self._found.append(url)

    def publish_counts(self) -> None:
        """This worker's Q&A pages found since it last published, into the run's set of found
        pages (a page several workers find, or a worker killed and started again finds again,
        is one member: the set is as large as the run's seen-URL filter), and its number of
        pages dropped as invalid."""
        # (Pages that passed validation are in the set once stored: only the dropped are apart.)
        invalid = self.stats.get_value(stats_keys.VALIDATION_DROPPED, 0)
        with self.server.pipeline(transaction=False) as pipe:
            pipe.hset(f"{self.keys}:invalid", self.worker, invalid)
            self._add_found(pipe)

    def _add_found(self, pipe) -> None:
        """Send the found pages not yet published with ``pipe`` (executed here); kept for the
        next try if Redis fails."""
        found, self._found = self._found, []
        try:
            for i in range(0, len(found), 1000):
                pipe.sadd(f"{self.keys}:found", *found[i:i + 1000])
            pipe.execute()
        except BaseException:
            self._found = found + self._found
            raise

    def run_counts(self) -> tuple[int, int]:
        """(Q&A pages found, pages read as Q&A pages) by all the run's workers, as published."""
        found = self.server.scard(f"{self.keys}:found")
        invalid = sum(int(v) for v in self.server.hvals(f"{self.keys}:invalid"))
        return found, found + invalid

    def _counted(self, when: str) -> None:
        """Publish this worker's counts; a failure only costs the monitors the run's totals."""
        try:
            self.publish_counts()
        except Exception as exc:  # noqa: BLE001 - never fatal: the crawl goes on
            logger.warning("Could not publish this worker's counts to Redis %s (%s: %s)", when,
                           type(exc).__name__, exc)

    # -- lifecycle ---------------------------------------------------------------------------
    def open(self, spider):
        # Not super().open(): scrapy-redis 0.9.1 calls APIs Scrapy deprecates (Spider.log).
        self.spider = spider
        self.queue = ReliableQueue(server=self.server, spider=spider, key=self.queue_key,
                                   serializer=self.serializer)
        self.queue.inflight_key = self._inflight(self.worker)
        self.queue.workers_key, self.queue.worker = f"{self.keys}:workers", self.worker
        if len(self.queue):
            logger.info("Joining crawl run %s: %d requests in the frontier", self.keys,
                        len(self.queue))
        self.server.sadd(f"{self.keys}:workers", self.worker)
        self._beat()
        self.heartbeat = task.LoopingCall(self._beat)
        self.heartbeat.start(max(self.ttl / 3, 1), now=False)
        self.recover_dead()
        self.stats.set_value(stats_keys.CLUSTER_RUN, f"{self.keys}")
        self.stats.set_value(stats_keys.CLUSTER_WORKER, self.worker)
        logger.info("Worker %s joined crawl run %s on %s", self.worker, self.keys, self.url)

    def _beat(self) -> None:
        try:
            with self.server.pipeline(transaction=False) as pipe:
                pipe.set(self._alive(self.worker), str(time.time()), ex=self.ttl)
                # (Again, if a late heartbeat had it taken for dead and recovered.)
                pipe.sadd(f"{self.keys}:workers", self.worker)
                pipe.execute()
        except redis.RedisError as exc:
            self._lost(exc)
            return
        self._counted("on its heartbeat")

    def close(self, reason):
        if getattr(self, "heartbeat", None) is not None and self.heartbeat.running:
            self.heartbeat.stop()
        if self.lost:
            return
        try:
            # The run's counts as this worker leaves it (the scrapers have closed, so its own
            # are final; the others published theirs while idle): what its monitors judge.
            self.publish_counts()
            found, read_as_qa = self.run_counts()
        except Exception as exc:  # noqa: BLE001 - the monitors then say they cannot judge
            logger.warning("Could not read the run's counts from Redis at %s (%s: %s)", self.url,
                           type(exc).__name__, exc)
        else:
            self.stats.set_value(stats_keys.CLUSTER_PAGES_FOUND, found)
            self.stats.set_value(stats_keys.CLUSTER_READ_AS_QA, read_as_qa)
        try:
            # What this worker still holds goes back to the frontier for the others.
            self.server.eval(_REQUEUE, 2, self._inflight(self.worker), self.queue.key)
            self.server.srem(f"{self.keys}:workers", self.worker)
            self.server.delete(self._alive(self.worker))
            if not self.server.scard(f"{self.keys}:workers") and not len(self.queue):
                # The last worker out: this run of the crawl is over.
                self.server.delete(self.queue.key, self.df.key, f"{self.keys}:workers")
                self.server.delete(f"{self.prefix}:run")
                for key in self.server.scan_iter(f"{self.keys}:*"):
                    self.server.delete(key)
        except redis.RedisError as exc:
            logger.error("Redis at %s was lost while closing: %s", self.url, exc)

    # -- scheduling with a lost Redis: stop cleanly, keep what was stored --------------------
    def _lost(self, exc) -> None:
        if not self.lost:
            self.lost = True
            logger.error("Lost the connection to Redis at %s: %s; stopping this worker (what it "
                         "stored is kept; run it again to go on)", self.url, exc)
            self.stats.set_value(stats_keys.REDIS_LOST, f"{self.url}: {exc}")
            spider = self.crawler.spider
            self.crawler.engine.close_spider(spider, "redis_lost")

    def has_pending_requests(self):
        if self.lost:
            return False
        try:
            return len(self) > 0
        except redis.RedisError as exc:
            self._lost(exc)
            return False

    def enqueue_request(self, request):
        if self.lost:
            return False
        try:
            if request.dont_filter:
                self.queue.push(request)
            elif not self.queue.push_unseen(request, self.df.request_fingerprint(request),
                                            self.df.key):
                return False
        except redis.RedisError as exc:
            self._lost(exc)
            return False
        self.stats.inc_value("scheduler/enqueued/redis")
        return True

    def next_request(self):
        if self.lost:
            return None
        try:
            request = self.queue.pop()
            while request is not None and self._stored(request):
                # A killed worker's in-flight request whose page it stored before its ack
                # (and maybe before it published the page as found).
                self.found(request.url)  # (sent with the ack)
                self.ack(request)
                self.stats.inc_value(stats_keys.CLUSTER_SKIPPED_STORED)
                request = self.queue.pop()
        except redis.RedisError as exc:
            self._lost(exc)
            return None
        if request is not None:
            self.idle_since = None
            self.stats.inc_value("scheduler/dequeued/redis")
        return request

    def _stored(self, request) -> bool:
        stored = getattr(self.crawler.spider, "stored", None)
        return bool(stored and stored(request.url))

    def ack(self, request) -> None:
        """The page of ``request`` is stored (or finally failed): it is no longer in flight."""
        token = request.meta.get("qa_inflight")
        if token and not self.lost:
            try:
                with self.server.pipeline(transaction=False) as pipe:
                    pipe.hdel(self._inflight(self.worker), token)
                    self._add_found(pipe)  # the page, counted as found as it stops being in flight
            except redis.RedisError as exc:
                self._lost(exc)

    # -- idling and recovery -----------------------------------------------------------------
    def recover_dead(self) -> int:
        moved = 0
        for raw in self.server.smembers(f"{self.keys}:workers"):
            worker = raw.decode() if isinstance(raw, bytes) else raw
            if worker == self.worker:
                continue
            count = self.server.eval(_RECOVER, 4, self._inflight(worker), self.queue.key,
                                     self._alive(worker), f"{self.keys}:workers", worker)
            if count > 0:
                moved += count
                logger.warning("Worker %s is gone; %d request(s) it held are back in the frontier",
                               worker, count)
        if moved:
            self.stats.inc_value(stats_keys.CLUSTER_RECOVERED, moved)
        return moved

    def others_busy(self) -> bool:
        for raw in self.server.smembers(f"{self.keys}:workers"):
            worker = raw.decode() if isinstance(raw, bytes) else raw
            if worker != self.worker and self.server.hlen(self._inflight(worker)):
                return True
        return False

    def spider_idle(self, spider):
        if self.lost:
            return
        # While idle, this worker's counts stay current for a worker about to leave.
        self._counted("while idle")
        try:
            self.recover_dead()
            if len(self) or self.others_busy():
                self.idle_since = None
                raise DontCloseSpider
        except redis.RedisError as exc:
            self._lost(exc)
            return
        now = time.monotonic()
        if self.idle_since is None:
            self.idle_since = now
        if now - self.idle_since < self.idle_seconds:
            raise DontCloseSpider


def _join_run(server: redis.Redis, prefix: str) -> str:
    """The current run of the crawl: the one in progress, or a new one."""
    candidate = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    server.set(f"{prefix}:run", candidate, nx=True)
    run = server.get(f"{prefix}:run")
    return run.decode() if isinstance(run, bytes) else run


class ClusterPolitenessMiddleware:
    """The site's politeness budget for the whole cluster: ``DOWNLOAD_DELAY`` between any two
    requests to a domain and at most ``CONCURRENT_REQUESTS_PER_DOMAIN`` in flight, all workers
    together. Slots are reserved in Redis with the server's clock, so workers on machines whose
    clocks disagree still space their requests. Leases expire, so a killed worker frees its slots.
    """

    def __init__(self, crawler):
        if not crawler.settings.get("REDIS_URL"):
            raise NotConfigured
        # The scheduler registers itself there when the engine opens, after this is built.
        self.context = context_of(crawler)
        self.delay_ms = int(crawler.settings.getfloat("DOWNLOAD_DELAY", 0) * 1000)
        self.limit = crawler.settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN", 8)
        self.lease_ms = int((crawler.settings.getfloat("DOWNLOAD_TIMEOUT", 180) + 30) * 1000)
        # Per slots key: the lock the worker's requests queue behind (only the first asks Redis
        # for a slot, so 32 waiting requests make one poll, not 32), and the event a slot this
        # worker releases sets (the first request takes it at once instead of at its next poll).
        self._gates: dict[str, tuple[asyncio.Lock, asyncio.Event]] = {}

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    @property
    def cluster(self) -> ClusterScheduler | None:
        return self.context.cluster

    def _key(self, request, kind: str) -> str:
        return f"{self.cluster.keys}:{kind}:{urlsplit(request.url).netloc}"

    async def process_request(self, request, spider=None):
        cluster = self.cluster
        if cluster is None or cluster.lost:
            return None
        try:
            token = uuid.uuid4().hex
            await self._lease(cluster, self._key(request, "slots"), token)
            request.meta["qa_lease"] = token
            if self.delay_ms:
                wait = cluster.server.eval(_NEXT_SLOT, 1, self._key(request, "next"),
                                           self.delay_ms)
                if wait > 0:
                    await asyncio.sleep(wait / 1000)
        except redis.RedisError as exc:
            cluster._lost(exc)
        return None

    async def _lease(self, cluster: ClusterScheduler, key: str, token: str) -> None:
        """Wait for one of the domain's slots (every worker's together) and hold it as ``token``."""
        if key not in self._gates:
            self._gates[key] = (asyncio.Lock(), asyncio.Event())
        gate, freed = self._gates[key]
        async with gate:
            while not cluster.server.eval(_LEASE, 1, key, self.limit, token, self.lease_ms):
                freed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(freed.wait(), _SLOT_POLL_SECONDS)

    def _release(self, request) -> None:
        token = request.meta.pop("qa_lease", None)
        cluster = self.cluster
        if token and cluster is not None and not cluster.lost:
            key = self._key(request, "slots")
            try:
                cluster.server.zrem(key, token)
            except redis.RedisError as exc:
                cluster._lost(exc)
            if key in self._gates:
                self._gates[key][1].set()

    def process_response(self, request, response, spider=None):
        self._release(request)
        return response

    def process_exception(self, request, exception, spider=None):
        self._release(request)
        return None
