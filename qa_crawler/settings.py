"""Scrapy settings of the qa-crawler project: polite defaults, our pipelines and extensions."""

BOT_NAME = "qa_crawler"
SPIDER_MODULES = ["qa_crawler.spiders"]
NEWSPIDER_MODULE = "qa_crawler.spiders"

# Who we are: a User-Agent that names the project and how to reach whoever runs it. The add-on
# builds USER_AGENT from these when the crawler is made, so `-s QA_CONTACT=mailto:you@example.org`
# reaches the server; a USER_AGENT given outright wins.
QA_CONTACT = "https://github.com/qa-crawler/qa-crawler"
QA_USER_AGENT = "qa-crawler/{version} (+{contact}; research crawler of public Q&A pages)"
ADDONS = {
    "qa_crawler.addon.QACrawlerAddon": 0,
}

# Politeness.
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 4
DOWNLOAD_DELAY = 0.5
DOWNLOAD_DELAY_JITTER = 0.5
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 8 * 1024 * 1024
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
# Nor Scrapy's remote control (2.19): an HTTP server in every crawl that runs the Python code
# sent to it, its token written under the user's home; nothing here uses it, and its aiohttp
# server cost every start 0.2 s.
REMOTE_CONTROL_ENABLED = False

# Retries: 5xx, 429, timeouts and resets, with exponential backoff (see the middleware).
RETRY_ENABLED = True
RETRY_TIMES = 4
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
QA_RETRY_BACKOFF_BASE = 1.0
QA_RETRY_BACKOFF_MAX = 60.0
DOWNLOADER_MIDDLEWARES = {
    # Before robots.txt (100): a redirect off the site is dropped before anything is sent.
    "qa_crawler.middlewares.SiteRule": 40,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    # The same, without decoding a page that cannot hold a meta refresh.
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "qa_crawler.middlewares.MetaRefreshMiddleware": 580,
    "qa_crawler.middlewares.BackoffRetryMiddleware": 550,
    # The archive sees every response after decompression and before redirects and retries; the
    # wire headers are noted before decompression (moved up from 590 for that).
    "qa_crawler.middlewares.WireHeadersMiddleware": 615,
    "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": 610,
    "qa_crawler.middlewares.WarcMiddleware": 605,
    # With --redis (REDIS_URL), the add-on adds qa_crawler.cluster.ClusterPolitenessMiddleware
    # (qa_crawler.addon): the politeness budget shared by every worker of the crawl.
}

# Scrapy's stats collector without the wrapper that looks up, on every call of its methods, a
# ``spider`` argument deprecated in Scrapy 2.13 (qa_crawler.extensions.Stats).
STATS_CLASS = "qa_crawler.extensions.Stats"

# One record per callback: Scrapy starts CONCURRENT_ITEMS tasks per callback otherwise.
CONCURRENT_ITEMS = 1

ITEM_PIPELINES = {
    "pipelines.validate.ValidationPipeline": 200,
    "pipelines.store.StorePipeline": 800,
}
SPIDER_MIDDLEWARES = {
    # A callback that cannot write the folder (disk full) stops the crawl in one line.
    "qa_crawler.guard.StorageGuardMiddleware": 50,
}
EXTENSIONS = {
    # Owns the crawl state and registers the cluster: what the other components share.
    "qa_crawler.context.CrawlContext": 100,
    "qa_crawler.progress.Progress": 500,
    "qa_crawler.extensions.RunLifecycle": 600,
    "qa_crawler.extensions.CollectorThreshold": 700,
}
FEED_EXPORTERS = {
    "parquet": "pipelines.feed.ParquetItemExporter",
    "csv": "pipelines.feed.JsonListsCsvItemExporter",
}

# qa-crawler's own settings.
# QA_OUT_DIR: the dataset folder (set by `qa-crawler crawl --out`); empty for plain `scrapy crawl`
# without it, where only feed exports (-O x.parquet) write output.
QA_OUT_DIR = ""
QA_START_URL = "https://doctorqna.com/en/"
# A Q&A page URL: the named group "id" is the site's id of the page.
QA_ARTICLE_URL_PATTERN = r"/article/(?P<id>[^/?#]+?)(?:\.html?)?/?$"
# Paths and queries never fetched: share, search, login, print, feeds.
QA_DENY_PATTERNS = [
    r"/(?:search|share|sharer|login|logout|signin|signup|register|print|feed|rss|cdn-cgi)(?:[/?.]|$)",
    r"[?&](?:share|print|replytocom|lang|hl)=",
]
# Re-fetch stored pages fetched longer ago than this (e.g. "30d"); empty: never.
QA_RECHECK_OLDER_THAN = ""
# Drop records that fail validation (they go to the failures table); False keeps them.
QA_DROP_INVALID = True
QA_PROGRESS_INTERVAL = 5.0
QA_WORKER = "main"
# Keep every raw response in WARC files under DIR/.qa-crawler/warc (for `rebuild` and `show`).
QA_WARC_ENABLED = True
QA_WARC_MAX_BYTES = 1 << 30
# Seconds an export (the crawl's closing one, `qa-crawler export`) waits for another export of
# the same folder to finish before it gives up (exit status 3).
QA_EXPORT_LOCK_WAIT = 300.0
# Distributed mode (--redis): seconds a worker waits on an empty frontier with nothing in flight
# anywhere before it stops (two of its asks, QA_REDIS_POLL_SECONDS apart: a page is in flight
# until it is stored, so nothing can come later but the links of a page another worker has just
# stored and not yet queued; a worker gone early leaves no page behind, only fewer hands); heartbeat
# lifetime after which a silent worker counts as dead.
QA_REDIS_IDLE_SECONDS = 1.0
QA_REDIS_HEARTBEAT_TTL = 15
# Seconds between a worker's asks of an empty frontier for requests the others added (Scrapy's
# engine asks every 5 s otherwise).
QA_REDIS_POLL_SECONDS = 0.5
# Redis key prefix of the crawl; empty: derived from the site and the output folder's name.
QA_REDIS_PREFIX = ""
# Language prefix crawled when the start URL has none (/zh/..., /ja/... are skipped).
QA_LANGUAGE = "en"
# Read pages (parse, validate, route their links) in one worker process, off the crawler's
# event loop (qa_crawler/worker.py): "auto" does when the site lets us fetch fast (DOWNLOAD_DELAY
# 0 and AutoThrottle off, e.g. a mirror with politeness lifted), and reads them in the crawl's
# own process otherwise, where a page costs the reactor nothing worth a second process; 1 always,
# 0 never. See benchmarks/results.md.
QA_PARSE_PROCESSES = "auto"

# Researchers' options of the dataset (`--redact`, `--split-ratios`); None/"" keep what the
# folder was last exported with. QA_REDACT: column names, each NAME, NAME:hash or NAME:drop.
QA_REDACT = None
QA_SPLIT_RATIOS = ""
# Write the dataset folder when the crawl ends (off for the workers of a distributed crawl, whose
# dataset `qa-crawler export` writes).
QA_EXPORT_ON_CLOSE = True
# Keep pages withdrawn from the site (a re-check answered 404 or 410; their removed_at is set)
# in the published tables (`--keep-removed`); by default they are left out.
QA_KEEP_REMOVED = False
# Draw report.html (charts, `qa-crawler report`) after the dataset is written at the end of a run.
QA_REPORT = True
# Draw it in a process of its own that outlives the crawl (its log: DIR/.qa-crawler/report.log),
# so that a crawl ends as soon as the dataset is written; False: the crawl draws it, then ends.
QA_REPORT_BACKGROUND = True
# Python's cyclic garbage collector runs when this many container objects more were made than
# freed (Python's own threshold is 700): a crawl's objects live until their page is stored, so
# at 700 the collector ran ~1,800 times a 5,000-page crawl for 1.9 s of the crawler's CPU
# (qa_crawler.extensions.CollectorThreshold). 0 leaves Python's.
QA_GC_THRESHOLD = 50_000

# After-run monitors (pipelines/monitor.py); a failed one makes `qa-crawler crawl` exit 4.
# Q&A pages found vs the previous run, at least:
QA_MONITOR_MIN_FOUND_RATIO = 0.8
# Fall in a required column's fill rate vs the previous dataset (absolute), at most:
QA_MONITOR_MAX_FILL_DROP = 0.2
# Failed requests / pages fetched, at most:
QA_MONITOR_MAX_FAILED_SHARE = 0.1
# Records with parse issues / records parsed, at most (a markup change or an unknown template
# shows itself so):
QA_MONITOR_MAX_ISSUE_SHARE = 0.25
# Responses answered 403 or 429 (the site pushing back) / responses, at most:
QA_MONITOR_MAX_BAN_SHARE = 0.05
# During the run: every QA_MONITOR_INTERVAL seconds (0: only at the end) the failed and ban
# shares are checked, once at least QA_MONITOR_MIN_REQUESTS responses came; a check that fails
# is alerted on (QA_MONITOR_ON_FAIL = "alert") or also stops the crawl ("stop").
QA_MONITOR_INTERVAL = 600.0
QA_MONITOR_MIN_REQUESTS = 100
QA_MONITOR_ON_FAIL = "alert"

# Alerts when a monitor fails or the crawl cannot run (qa_crawler/alerts.py): Apprise URLs
# (json://host/path POSTs JSON; slack://, mmost://, discord://, ntfy://, mailto://...), and a
# command run with the summary as JSON on its standard input.
QA_ALERT_URLS = []
QA_ALERT_COMMAND = ""

LOG_LEVEL = "INFO"
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
FEED_EXPORT_ENCODING = "utf-8"
