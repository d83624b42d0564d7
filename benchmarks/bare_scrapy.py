"""The baseline crawler: a bare Scrapy spider with Scrapy's default settings that only fetches.

``python -m benchmarks.bare_scrapy BASE_URL PATHS_FILE`` fetches every path of the list (the
same pages the qa crawl fetches) and does nothing with the responses. Scrapy's defaults
(CONCURRENT_REQUESTS 16, 8 per domain, no delay, no AutoThrottle, robots.txt not consulted);
only LOG_LEVEL is raised to WARNING so that one DEBUG line per response is not written.
Prints one JSON line: pages, bytes, seconds (from engine start to close), statuses.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import scrapy
from scrapy.crawler import CrawlerProcess


class BareSpider(scrapy.Spider):
    name = "bare"

    def __init__(self, urls: list[str], **kwargs):
        super().__init__(**kwargs)
        self.urls = urls
        self.pages = 0
        self.bytes = 0
        self.statuses: dict[int, int] = {}

    async def start(self):
        for url in self.urls:
            yield scrapy.Request(url, callback=self.parse, errback=self.failed)

    def parse(self, response):
        self.pages += 1
        self.bytes += len(response.body)
        self.statuses[response.status] = self.statuses.get(response.status, 0) + 1

    def failed(self, failure):
        self.statuses[-1] = self.statuses.get(-1, 0) + 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bare_scrapy")
    parser.add_argument("base_url")
    parser.add_argument("paths_file")
    args = parser.parse_args(argv)
    base = args.base_url.rstrip("/")
    with open(args.paths_file) as fh:
        urls = [base + line.strip() for line in fh if line.strip()]
    process = CrawlerProcess({"LOG_LEVEL": "WARNING"})
    crawler = process.create_crawler(BareSpider)
    began = time.perf_counter()
    process.crawl(crawler, urls=urls)
    process.start()
    seconds = time.perf_counter() - began
    spider = crawler.spider
    print(json.dumps({"pages": spider.pages, "bytes": spider.bytes, "seconds": round(seconds, 3),
                      "statuses": {str(k): v for k, v in spider.statuses.items()}}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
