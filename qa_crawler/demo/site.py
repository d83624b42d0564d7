"""The sample site's routes: a deterministic generated mirror of doctorqna.com answering request
paths (Q&A pages, listings, FAQ pages, robots.txt, static files) with status, headers and body.
The pages' data is in model.py, their HTML in templates.py."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
from email.utils import format_datetime
from urllib.parse import parse_qs, urlsplit

from qa_crawler.demo import words as W
from qa_crawler.demo.model import (  # noqa: F401 - RECORD_KEYS, TEMPLATES, slugify: the public API
    DEPT_BY_SLUG, DEPT_SLUGS, DEPT_TOPICS, FAQ_LIST_LIMIT, MUTATION_EPOCH, PER_PAGE, RECORD_KEYS,
    SITE_EPOCH, TEMPLATES, TOPIC_BY_SLUG, TOPICS, SiteModel, raw_date, slugify)
from qa_crawler.demo.templates import escape, render_article, shell, simple_page

__all__ = ["SampleSite", "RECORD_KEYS", "TEMPLATES", "slugify"]

HTML_TYPE = "text/html; charset=utf-8"

ROBOTS_TXT = """\
# doctorqna.com (sample mirror)
User-agent: *
Disallow: /en/private/
Disallow: /en/search

"""

LOGO_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGOQz9/8HwAEMwJBsPfBjgAAAABJRU5ErkJggg=="
)

APP_CSS = """\
body{font-family:"Helvetica Neue",Arial,sans-serif;color:#333;margin:0}
.navbar{background:#0b6e99;padding:.5rem 1rem}.navbar a{color:#fff;text-decoration:none}
.container{max-width:1140px;margin:0 auto}.qa-title{font-size:1.6rem}
.share-bar a{display:inline-block;width:24px;height:24px;margin-right:4px}
.ad-slot{min-height:90px;background:#f5f5f5;text-align:center;color:#999}
.similar-item{border-top:1px solid #eee;padding:1rem 0}.d-none{display:none!important}
"""


def _http_date(moment: dt.datetime) -> str:
    return format_datetime(moment, usegmt=True)



class SampleSite(SiteModel):
    """A fake doctorqna.com with ``n_pages`` Q&A pages, generated on the fly from (seed, page).

    ``render(path)`` answers any request path; ``expected_record(qa_id, base_url)`` is the
    ground truth a parser should produce for a Q&A page served under ``base_url``.
    ``similar_only_per_mille`` of the pages are linked only from the Similar Q&A of the page
    before them, which makes chains: at 750, most pages are found only through other Q&A pages.
    """

    _render_article = staticmethod(render_article)

    # ----- HTTP --------------------------------------------------------------------------------

    def render(self, path_with_query: str) -> tuple[int, dict[str, str], bytes]:
        """Answer one request path: (status, headers, body)."""
        parts = urlsplit(path_with_query)
        path, query = parts.path or "/", parse_qs(parts.query)
        if path == "/robots.txt":
            return self._ok(ROBOTS_TXT, "text/plain; charset=utf-8", self._site_modified())
        if path == "/static/app.css":
            return self._ok(APP_CSS, "text/css; charset=utf-8", SITE_EPOCH)
        if path == "/static/logo.png":
            return self._ok(LOGO_PNG, "image/png", SITE_EPOCH)
        if path == "/":
            return self._ok(self._home(), HTML_TYPE, self._site_modified())
        if path == "/en/faq/":
            return self._ok(self._faq_index(), HTML_TYPE, self._site_modified())
        if path.startswith("/en/private/"):
            return self._ok(simple_page("Members only", "<p>Please log in to see your questions.</p>"),
                            HTML_TYPE, SITE_EPOCH)
        if path == "/en/search":
            q = escape(query.get("q", [""])[0])
            return self._ok(simple_page("Search", f"<p>No results for \u201c{q}\u201d.</p>"),
                            HTML_TYPE, SITE_EPOCH)
        m = re.fullmatch(r"/en/article/([0-9]+)", path)
        if m:
            i = self._index(m.group(1))
            if i is not None:
                return self._article(i)
        m = re.fullmatch(r"/en/department/([a-z0-9-]+)", path)
        if m and m.group(1) in DEPT_BY_SLUG:
            page = query.get("page", ["1"])[0]
            if page.isdigit():
                body = self._listing(DEPT_BY_SLUG[m.group(1)], int(page))
                if body is not None:
                    return self._ok(body, HTML_TYPE, self._site_modified())
        m = re.fullmatch(r"/en/faq/([a-z0-9-]+)", path)
        if m and m.group(1) in TOPIC_BY_SLUG:
            return self._ok(self._faq_topic(TOPIC_BY_SLUG[m.group(1)]), HTML_TYPE,
                            self._site_modified())
        body = simple_page("Page not found", "<p>The page you requested does not exist.</p>")
        return 404, {"Content-Type": HTML_TYPE}, body.encode()

    def _site_modified(self) -> dt.datetime:
        if self._last_add:
            return MUTATION_EPOCH + dt.timedelta(hours=self._last_add)
        return SITE_EPOCH

    @staticmethod
    def _ok(body: str | bytes, ctype: str, modified: dt.datetime) -> tuple[int, dict, bytes]:
        data = body.encode() if isinstance(body, str) else body
        etag = '"' + hashlib.sha1(data).hexdigest()[:20] + '"'
        return 200, {"Content-Type": ctype, "Last-Modified": _http_date(modified), "ETag": etag,
                     "Cache-Control": "max-age=0, must-revalidate"}, data

    def _article(self, i: int) -> tuple[int, dict, bytes]:
        v = self._versions.get(i, 0)
        page = self._page(i, v)
        if v:
            modified = MUTATION_EPOCH + dt.timedelta(hours=self._changed_at[i])
        else:
            modified = dt.datetime.combine(page["reply"], dt.time(12), tzinfo=dt.timezone.utc)
        return self._ok(render_article(page), HTML_TYPE, modified)

    def _entry(self, j: int) -> str:
        c = self._core(j, self._versions.get(j, 0))
        return (
            # Query strings and fragments, as real listings have: the crawler fetches each page once.
            f'<li class="qa-item"><h3><a href="/en/article/{c["id"]}?from=list#reply">'
            f'{escape(c["title"])}</a></h3>'
            f'<p class="excerpt">{escape(c["question_excerpt"])}</p>'
            f'<div class="meta">Dr. {escape(c["doctor"])} reply {escape(c["dept"])} \u00b7 {raw_date(c["reply"])}</div></li>'
        )

    def _home(self) -> str:
        depts = "".join(
            f'<li><a href="/en/department/{s}">{escape(d["name"])}</a></li>'
            for s, d in zip(DEPT_SLUGS, W.DEPARTMENTS)
        )
        newest = sorted(
            (lst[0] for lst in self._dept_listed if lst), reverse=True
        )[:10]
        latest = "".join(self._entry(j) for j in newest)
        body = (
            '<section class="hero"><h1>Ask a doctor, free of charge</h1>'
            "<p>Physicians answer health questions from the public. Browse by department or "
            'read our <a href="/en/faq/">Health FAQ</a>.</p>'
            '<form action="/en/search" method="get"><input name="q" placeholder="Search">'
            "<button>Search</button></form>"
            '<p>Popular searches: <a href="/en/search?q=headache">headache</a></p>'
            '<p><a href="/en/private/my-questions">My questions</a> (members)</p></section>'
            f'<section><h2>Departments</h2><ul class="departments">{depts}</ul></section>'
            f'<section><h2>Latest questions</h2><ul class="latest">{latest}</ul></section>'
        )
        return shell("DoctorQnA - Ask a Doctor", body, zh="/zh/")

    def _listing(self, d: int, page: int) -> str | None:
        lst = self._dept_listed[d]
        pages = max(1, -(-len(lst) // PER_PAGE))
        if not 1 <= page <= pages:
            return None
        name, slug = W.DEPARTMENTS[d]["name"], DEPT_SLUGS[d]
        items = "".join(self._entry(j) for j in lst[(page - 1) * PER_PAGE: page * PER_PAGE])
        nav = []
        if page > 1:
            prev = f"/en/department/{slug}" + (f"?page={page - 1}" if page > 2 else "")
            nav.append(f'<a href="{prev}" rel="prev">Previous</a>')
        nav.append(f"<span>Page {page} of {pages}</span>")
        if page < pages:
            nav.append(f'<a href="/en/department/{slug}?page={page + 1}" rel="next">Next</a>')
        body = (
            f"<h1>{escape(name)}</h1><p>Questions answered by our {escape(name)} physicians, newest first.</p>"
            f'<ul class="qa-list">{items}</ul><div class="pagination">{" ".join(nav)}</div>'
        )
        return shell(f"{name} - Questions and Answers", body)

    def _faq_index(self) -> str:
        groups = []
        for d, dept in enumerate(W.DEPARTMENTS):
            links = "".join(
                f'<li><a href="/en/faq/{TOPICS[t][2]}">{escape(TOPICS[t][0])}</a></li>' for t in DEPT_TOPICS[d]
            )
            groups.append(f"<h2>{escape(dept['name'])}</h2><ul>{links}</ul>")
        return shell("Health FAQ", "<h1>Health FAQ</h1>" + "".join(groups))

    def _faq_topic(self, t: int) -> str:
        name, d, _ = TOPICS[t]
        dept = W.DEPARTMENTS[d]["name"]
        items = "".join(self._entry(j) for j in self._topic_listed[t][:FAQ_LIST_LIMIT])
        blurb = W.FAQ_BLURBS[t % len(W.FAQ_BLURBS)].format(topic_l=name.lower())
        body = (
            f"<h1>{escape(name)} ({escape(dept)})</h1><p>{escape(blurb)}</p>"
            f'<ul class="qa-list">{items or "<li>No questions yet.</li>"}</ul>'
            f'<p><a href="/en/department/{DEPT_SLUGS[d]}">All {escape(dept)} questions</a> \u00b7 '
            f'<a href="/en/faq/">All FAQ topics</a></p>'
        )
        return shell(f"{name} - Health FAQ", body)
