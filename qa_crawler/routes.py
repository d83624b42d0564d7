"""The crawl's rule for URLs: which page a URL names (its canonical form) and whether the crawl
may fetch it. Pure (no Scrapy, no I/O) and picklable, so that the page worker
(:mod:`qa_crawler.worker`) applies it to a page's links where it reads the page, and the spider,
which keeps what depends on the crawl so far (what it asked for, what is stored), to the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urlsplit, urlunsplit

from w3lib.url import canonicalize_url

# Language prefixes such as /zh/ or /zh-tw/: only the start URL's language (else QA_LANGUAGE) is
# crawled. A closed list, so that a two-letter path such as /qa/ on another site is not taken
# for a language.
LANG_PREFIX = re.compile(
    r"^/((?:zh|en|ja|jp|ko|kr|fr|de|es|pt|ru|vi|th|ms|ar|hi|tr|pl|nl|sv|tw|cn)"
    r"(?:[-_][a-z]{2,4})?)(?:/|$)", re.I)


@dataclass(eq=False)
class Routes:
    """``site`` is the start URL's host and port ("www." dropped), ``lang`` the crawl's language
    prefix ("" for any), ``ignored`` the file extensions never fetched (Scrapy's list, given by
    the spider so that this module needs no Scrapy)."""

    id_pattern: str
    site: str
    lang: str = ""
    deny: tuple[str, ...] = ()
    ignored: frozenset[str] = frozenset()
    _article: re.Pattern = field(init=False, repr=False)
    _deny: list[re.Pattern] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._article = re.compile(self.id_pattern)
        self._deny = [re.compile(d) for d in self.deny]
        # Per instance: pages repeat the same menu and listing links.
        self.canonical = lru_cache(maxsize=16384)(self.canonical)
        # A link's route depends on the link alone: the similar Q&As, menus and listings of
        # the pages repeat the same links (the worker's profile had routing at 0.5 ms a page).
        # Small: the repeats are the menus and listings; with 65,536 entries the worker grew
        # with every Q&A page linked (1.7 KB a page; the memory figure's slope).
        self._route = lru_cache(maxsize=4096)(self._route)

    def __getstate__(self) -> dict:
        return {"id_pattern": self.id_pattern, "site": self.site, "lang": self.lang,
                "deny": self.deny, "ignored": self.ignored}

    def __setstate__(self, state: dict) -> None:
        self.__init__(**state)

    def is_article(self, url: str) -> bool:
        return bool(self._article.search(urlsplit(url).path))

    def canonical(self, url: str) -> str:
        """One URL per page: article URLs lose query and fragment; others lose the fragment."""
        if self.is_article(url):
            p = urlsplit(url)
            return urlunsplit((p.scheme, p.netloc.lower(), p.path, "", ""))
        return canonicalize_url(url, keep_fragments=False)

    def on_site(self, url: str) -> bool:
        """Same site as the start URL: host and port; subdomains too."""
        netloc = urlsplit(url).netloc.lower().rsplit("@", 1)[-1]
        return netloc == self.site or netloc.endswith("." + self.site)

    def wanted(self, url: str) -> bool:
        """A URL the crawl may fetch: same site (host and port; subdomains too), not denied, not
        a static file, in the crawl's language."""
        if not self.on_site(url):
            return False
        parts = urlsplit(url)
        _, dot, ext = parts.path.rsplit("/", 1)[-1].rpartition(".")
        if dot and ext.lower() in self.ignored:
            return False
        if any(d.search(url) for d in self._deny):
            return False
        if self.lang:
            m = LANG_PREFIX.match(parts.path)
            if m and m.group(1).lower() != self.lang:
                return False
        return True

    def links(self, urls) -> list[tuple[str, bool]]:
        """The canonical URLs of ``urls`` the crawl may fetch, each once, in their order, with
        whether each is a Q&A page."""
        out: dict[str, bool] = {}
        route = self._route
        for url in urls:
            url, article = route(url)
            if url is not None and url not in out:
                out[url] = article
        return list(out.items())

    def _route(self, url: str) -> tuple[str | None, bool]:
        """The canonical URL of a link and whether it is a Q&A page; (None, False) when the
        crawl may not fetch it."""
        url = self.canonical(url)
        if not self.wanted(url):
            return None, False
        return url, self.is_article(url)
