"""doctorqna.com Q&A page to record: pure (HTML bytes and URL in, record out), no Scrapy, no I/O.

We do not have the site's markup, so nothing here keys on class names. The page is read as the
lines a reader sees (:mod:`qa_crawler.parsers.reader`) and the parts are found by their visible
labels and their order, as the seed page shows them::

    <title> - <Department>            (h1, else <title>/og:title)
    Share to:                         (+ share links: chrome, skipped)
    <subject>
    <question paragraphs>
    <asker line>. Ask Date: YYYY/MM/DD
    Dr. <Doctor> reply <Department>
    <answer paragraphs>
    Reply Date: YYYY/MM/DD
    More Info / <paragraphs>
    Similar Q&A / (<title> <question excerpt> Dr. X reply Dept <answer excerpt> [Read More] ..)*
    Related FAQ / (<topic> (<Department>))*
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit, urlunsplit

from lxml import etree
from w3lib.encoding import (
    html_body_declared_encoding,
    html_to_unicode,
    http_content_type_encoding,
    read_bom,
    to_unicode,
)

from qa_crawler.parsers import normalize as n
from qa_crawler.parsers.reader import _native
from qa_crawler.parsers.reader import (
    Line,
    TooDeep,
    document_links,
    head_info,
    parse_html,
    read_lines,
    safe_urljoin,
)
from qa_crawler.record import REQUIRED_PARTS, QARecord, RelatedTopic, SimilarQA

PARSER_VERSION = "1.1.0"
DEFAULT_ID_PATTERN = r"/article/(?P<id>[^/?#]+?)(?:\.html?)?/?$"


class NotQAPage(ValueError):
    """The document is not a Q&A page (or cannot be read); ``reason`` is one line."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(slots=True)
class ParseResult:
    """A record, and the required parts the page lacked (their fields are null)."""

    record: QARecord
    missing: tuple[str, ...]


# str.lower(), and the lower-cased texts of lines: compiled where the line pass was built (the
# same results, held equal by tests/test_line_pass.py), else Python's.
_lower = str.lower if _native is None else _native.lower


def _lower_texts(lines: list[Line]) -> list[str]:
    if _native is not None:
        return _native.lower_texts(lines)
    return [line.text.lower() for line in lines]


_ASK = re.compile(r"\bAsk(?:ed)?\s*(?:Date|on)\s*[:：]?", re.I)
_REPLY_DATE = re.compile(r"\bRepl(?:y|ied)\s*(?:Date|on)\s*[:：]?", re.I)
_REPLY_HEADER = re.compile(
    r"^(?P<doctor>(?:Dr\.?|Doctor)\s*[^?!:;]{1,80}?|[^?!:;.]{1,60}?)\s+(?:reply|replied|replies|answer)"
    r"\s*[:：]?\s*(?P<dept>[^?!;]{0,80}?)\s*$",
    re.I,
)
_HEADER_HINT = re.compile(r"repl|answer", re.I)


@lru_cache(maxsize=4096)
def _header_hint(text: str) -> bool:
    """The line holds a reply header's verb (each line is asked up to three times)."""
    return _HEADER_HINT.search(text) is not None
_MORE_INFO = re.compile(r"^More\s+Info(?:rmation)?\s*[:：]?$", re.I)
_MORE_INFO_INLINE = re.compile(r"^More\s+Info(?:rmation)?\s*[:：]\s*(?P<rest>\S.*)$", re.I)
# The first characters the section labels can start with (case-insensitive matching lets the
# long s U+017F stand for "s").
_SECTION_FIRST = frozenset("MmSsRr\u017f")
_SIMILAR = re.compile(r"^Similar\s+Q\s*(?:&|and)\s*A(?:s|'s)?\b.{0,20}$", re.I)
_RELATED = re.compile(r"^Related\s+FAQs?\b.{0,20}$", re.I)
_READ_MORE = re.compile(r"^\[?\s*Read\s+More\s*\]?\s*(?:[:»>›]\s*)?", re.I)
_SHARE = re.compile(
    r"^(?:share(?:\s+(?:to|on|this|via))?\s*:?|facebook|twitter|x|line|whatsapp|telegram|e-?mail|"
    r"weibo|wechat|linkedin|pinterest|reddit|print|copy(?:\s+link)?|link)$",
    re.I,
)
_SHARE_LABEL = re.compile(r"^Share(?:\s+(?:to|on|this|via))?\s*[:：]", re.I)
_AD = re.compile(r"^(?:advertisement|advertising|sponsored|ads?)$", re.I)


def _is_ad(text: str) -> bool:
    """An ad slot's label (``_AD``: no text longer than 14 characters matches it)."""
    return len(text) <= 14 and _AD.match(text) is not None
_STOP = re.compile(r"(?:©|\bcopyright\b|all rights reserved|^disclaimer\b)", re.I)
# Words a line must hold (lower-cased) before a pattern is tried on it: a substring test is
# much cheaper than a case-insensitive regex scan of every long line of the page.
_HINTS = {_ASK: "ask", _REPLY_DATE: "repl"}


def _is_stop(text: str, low: str | None = None) -> bool:
    """The page's footer starts here (copyright, disclaimer); ``low``: the text lower-cased."""
    if low is None:
        low = text.lower()
    return ("©" in low or "copyright" in low or "all rights reserved" in low
            or low.startswith("disclaimer")) and _STOP.search(text) is not None
# "Topic (Department)", after any separator of an inline list ("A (X) · B (Y) | C (Z), ...").
_TOPIC_PAIR = re.compile(
    r"[\s·|•,;/]*(?P<topic>[^()（）·|•]{0,100}?)\s*[(（](?P<dept>[^()（）]{1,60})[)）][\s·|•,;/]*"
)
# Post metadata that forum and CMS templates put around a question: counters, bylines, page
# counts, "Was this helpful?" widgets. Never the subject or a paragraph of the question.
_POST_META = re.compile(
    # "12 replies", "1 post • Page 1 of 1" (not "3 replies from other doctors did not help")
    r"^(?:\d[\d,.]*\s+(?:posts?|repl(?:y|ies)|answers?|comments?|views?|reads?|hits)"
    r"(?:\s*[•|·].{0,40})?"
    r"|page\s+\d+\s+of\s+\d+.{0,40}"
    r"|by\s+\S.{0,60}?\s[»|]\s.{0,60}"
    r"|(?:views?|hits|reads?|viewed|read)\s*[:：]?\s*[\d,.]+k?(?:\s+times)?"
    r"|was\s+this\s+(?:answer\s+|reply\s+|page\s+)?(?:helpful|useful)\b.{0,40}"
    r"|(?:helpful|useful)\s*[?:：]?\s*(?:yes|no|\d).{0,30}"
    r"|(?:posted|published|updated|last\s+updated)\s*(?:on|at|:)\s*.{0,40}"
    r")$",
    re.I,
)
_CRUMB_SPLIT = re.compile(r"\s+[»›>/|]\s+|\s*[»›]\s*")
_QUESTION_WORDS = frozenset(
    "what why how when where which who should can could is are do does did will would may i my "
    "me you your it this that".split()
)
_ASKER_HINT = re.compile(
    r"(?:\byears?\s*old\b|\b(?:fe)?male\b|\b(?:under|over)\s+\d|\d+\s*~\s*\d+|"
    r"^(?:Mr|Mrs|Ms|Miss|Mx)\.?\s)",
    re.I,
)
_AGE_PART = re.compile(
    r"(?:(?:under|below|over|above)\s+\d{1,3}|\d{1,3}\s*[~\-–]\s*\d{1,3}|\d{1,3})"
    r"\s*(?:years?\s*old|y/?o)?",
    re.I,
)
# Where the age band or the gender word of an asker line starts.
_ASKER_PARTS = re.compile(
    r"(?:\b(?:under|below|over|above)\s+\d{1,3}|(?<![\w.])\d{1,3}(?:\s*[~\-–]\s*\d{1,3})?\b|"
    r"\b(?:fe)?male\b)", re.I)
_TRAILING_READ_MORE = re.compile(r"\s*\[\s*Read\s+More\s*\]\s*[»>›]?\s*$", re.I)
_SITE_NAME = re.compile(r"doctor\s*q\s*n?\s*&?\s*a|doctorqna", re.I)


def decode(body: bytes | str, content_type: str | None = None) -> str:
    """Body bytes to text, honouring a BOM, the Content-Type charset or a ``<meta>`` charset.

    As browsers do (HTML's encoding sniffing), a ``<meta>`` that declares UTF-16 or UTF-32 in a
    byte stream without a BOM is read as UTF-8: a page that could carry that ASCII ``<meta>`` is
    not UTF-16.
    """
    return _decoded(body, content_type)[0]


def _decoded(body: bytes | str, content_type: str | None) -> tuple[str, bytes | None]:
    """:func:`decode`'s text, and the body itself when it is that text's UTF-8 (valid UTF-8
    without a BOM: what most pages are), for the parser to read without encoding it again."""
    if isinstance(body, str):
        return body, None
    if _header_encoding(content_type) == "utf-8" and read_bom(body)[0] is None:
        # What html_to_unicode does with such a body (no BOM, the header's charset wins), less
        # its second reading of the header.
        text = body.decode("utf-8", "replace")
        return text, (body if "\ufffd" not in text else None)
    # The declarations are read from the body less an unfinished last tag (``...<meta`` of a
    # cut-off page): such a tag declares nothing (the HTML prescan stops at the end of the
    # input), and w3lib 2.6's scanner (frostwork, Rust) panics on it when nothing declares
    # an encoding before it in the 1,024 bytes it scans (a short page, or one cut in <head>).
    # (Only such a cut-off body is decoded twice: its sniffed part, then the whole of it.)
    sniff = without_unfinished_tag(body)
    try:
        encoding, text = _sniffed(body, content_type, sniff)
    except BaseException as exc:  # noqa: BLE001 - only a panic of w3lib's scanner is taken
        if not is_panic(exc):
            raise
        encoding, text = "utf-8", None  # what w3lib takes when nothing declares an encoding
    if text is None or sniff is not body:
        text = to_unicode(body, encoding)
    # Decoded as UTF-8 with no byte replaced (U+FFFD) and no BOM dropped: the same bytes.
    as_is = (encoding == "utf-8" and not body.startswith(b"\xef\xbb\xbf")
             and "\ufffd" not in text)
    return text, (body if as_is else None)


def _sniffed(body: bytes, content_type: str | None, sniff: bytes) -> tuple[str, str]:
    """(encoding, text of ``sniff``) by w3lib, the declarations read from ``sniff`` (``body``,
    or the part of it before an unfinished last tag)."""
    if not read_bom(body)[0] and not http_content_type_encoding(content_type):
        declared = html_body_declared_encoding(sniff)
        if declared and declared.lower().replace("_", "-").startswith(("utf-16", "utf-32")):
            content_type = "text/html; charset=utf-8"
    return html_to_unicode(content_type, sniff)


def is_panic(exc: BaseException) -> bool:
    """A Rust panic raised through PyO3 (``pyo3_runtime.PanicException``, a BaseException
    that names no importable module): what w3lib 2.6's encoding scanner raises on input it
    did not expect."""
    return type(exc).__name__ == "PanicException"


def without_unfinished_tag(body: bytes) -> bytes:
    """``body`` less a last tag that has no ``>`` (``...<meta`` of a cut-off page), else
    ``body`` itself."""
    lt = body.rfind(b"<")
    return body[:lt] if lt > body.rfind(b">") else body


@lru_cache(maxsize=256)
def _header_encoding(content_type: str | None) -> str | None:
    """The charset of a Content-Type header (w3lib's reading; a crawl sees a few headers)."""
    return http_content_type_encoding(content_type)


# File signatures of what a fetched or saved "page" may really be.
_SIGNATURES = (
    (b"\x1f\x8b", "gzip-compressed data"), (b"PK\x03\x04", "a ZIP archive"),
    (b"%PDF", "a PDF document"), (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"), (b"BZh", "bzip2-compressed data"), (b"\xfd7zXZ", "xz-compressed data"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed data"), (b"RIFF", "a RIFF (WebP/WAV) file"),
)


_CONTROL_BYTES = bytes(b for b in range(32) if b < 9 or b > 13)


def _binary_kind(body: bytes | str) -> str | None:
    """What a body that is not text is (``gzip-compressed data``), else None."""
    if isinstance(body, str):
        return None
    for magic, kind in _SIGNATURES:
        if body.startswith(magic):
            return kind
    head = body[:4096]
    if read_bom(head)[0] or not head:
        return None
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    return "binary data" if controls > len(head) // 20 else None


_A_TAG = re.compile(r"<\s*[a-zA-Z!]")


def _document(body: bytes | str, content_type: str | None):
    """The parsed document of a body; NotQAPage when it is none."""
    kind = _binary_kind(body)
    if kind:
        raise NotQAPage(f"not an HTML document ({kind})")
    text, utf8 = _decoded(body, content_type)
    if not text or text.isspace():  # (not text.strip(), without its copy)
        raise NotQAPage("empty body")
    if not _A_TAG.search(text, 0, 4096):
        raise NotQAPage("not an HTML document (no tags in the first 4 KB)")
    try:
        root = parse_html(text, utf8)
    except TooDeep as exc:
        raise NotQAPage(f"unreadable HTML: {exc}") from None
    except (etree.ParserError, ValueError) as exc:
        raise NotQAPage(f"unreadable HTML: {exc}") from None
    if root is None:
        raise NotQAPage("unreadable HTML: no document element")
    return root


def parse_page(
    body: bytes | str,
    url: str,
    *,
    content_type: str | None = None,
    id_pattern: str = DEFAULT_ID_PATTERN,
) -> ParseResult:
    """Parse one page. Raises :class:`NotQAPage` with a one-line reason when it is not a Q&A page."""
    root = _document(body, content_type)
    return _read_tree(root, head_info(root), body, url, id_pattern)


def explain_page(body: bytes | str, url: str, *, content_type: str | None = None,
                 id_pattern: str = DEFAULT_ID_PATTERN) -> tuple[list[tuple[str, str]], str | None]:
    """The page's visual lines, each with the part the parser gave it (``title``, ``question``,
    ``similar[2]``, ``chrome``, ``ignored`` ...), and the reason when it is not a Q&A page."""
    root = _document(body, content_type)
    head = head_info(root)
    lines = read_lines(root, head["base"] or url)
    page = _Page(lines, head, id_pattern)
    try:
        page.record()
        reason = None
    except NotQAPage as exc:
        reason = exc.reason
    return page.explain(), reason


@dataclass(slots=True)
class PageReading:
    """What a crawler needs of a fetched page, from one parse of it: the record (``result``) or
    why there is none (``not_qa``), and the page's links (absolute http(s) URLs, in order)."""

    result: ParseResult | None
    not_qa: str | None
    links: list[str]


def read_page(
    body: bytes | str,
    url: str,
    *,
    content_type: str | None = None,
    id_pattern: str = DEFAULT_ID_PATTERN,
) -> PageReading:
    """:func:`parse_page` and the page's links (``a``, ``area`` and ``link`` hrefs) together."""
    try:
        root = _document(body, content_type)
    except NotQAPage as exc:
        return PageReading(None, exc.reason, [])
    head = head_info(root)
    links = document_links(root, head["base"] or url)
    try:
        return PageReading(_read_tree(root, head, body, url, id_pattern), None, links)
    except NotQAPage as exc:
        return PageReading(None, exc.reason, links)


def _read_tree(root, head: dict, body: bytes | str, url: str, id_pattern: str) -> ParseResult:
    raw = body.encode("utf-8") if isinstance(body, str) else body
    base = head["base"] or url
    lines = read_lines(root, base)
    if not lines:
        raise NotQAPage("no visible text")
    canonical, qa_id = _identity(url, head["canonical"], base, id_pattern)
    page = _Page(lines, head, id_pattern)
    try:
        record = page.record()
    except NotQAPage as exc:
        kind = None if exc.reason.startswith("a listing") else _kind_of_page(lines, head,
                                                                               id_pattern)
        raise NotQAPage(f"{kind}: {exc.reason}" if kind else exc.reason) from None
    if qa_id is None:
        raise NotQAPage("no Q&A id in the URL or the canonical link")
    record.qa_id, record.url = qa_id, canonical
    record.content_sha256 = hashlib.sha256(raw).hexdigest()
    record.parser_version = PARSER_VERSION
    for item in record.similar:
        if item.url:
            item.qa_id = _id_from_url(item.url, id_pattern)
    # A date that is on the page but unreadable is reported as such, not as missing.
    missing = tuple(name for name in REQUIRED_PARTS
                    if getattr(record, name) is None and name not in page.unreadable)
    record.language = n.language(" ".join(filter(None, (record.subject, record.question))))
    if record.language not in (None, "en"):
        page.issues.append(f"language: {record.language}")
    record.parse_issues = [f"missing: {name}" for name in missing] + page.issues + _leaks(record)
    return ParseResult(record, missing)


def _kind_of_page(lines: list[Line], head: dict, id_pattern: str) -> str | None:
    """A short guess at what a non-Q&A page is, for the one-line reason (None: no guess)."""
    title = head["title"] or next((ln.text for ln in lines if ln.heading), "") or ""
    if re.search(r"\b(?:404|403|410|500|502|503)\b|not found|error", title, re.I):
        return f"an error page ({title[:60]})"
    article_links = sum(
        1 for ln in lines for _, href in ln.links if _id_from_url(href, id_pattern)
    )
    if article_links >= 3:
        return f"a listing or FAQ page ({article_links} links to Q&A pages)"
    content = " ".join(ln.text for ln in lines[:200] if not ln.chrome).lower()
    if re.search(r"\b(?:log ?in|sign ?in)\s+(?:to|first|required)|members only", content):
        return "a login wall"
    return None


def _strip_url(url: str | None) -> str | None:
    try:
        parts = urlsplit(url)
    except (ValueError, TypeError):
        return None
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


@lru_cache(maxsize=8192)
def _id_from_url(url: str, id_pattern: str) -> str | None:
    try:
        path = urlsplit(url).path
    except ValueError:
        return None
    m = re.search(id_pattern, path)
    return m.group("id") if m else None


def _identity(url: str, canonical: str | None, base: str, id_pattern: str):
    """Canonical URL and qa_id: the canonical link wins, else the fetched URL."""
    candidates = [c for c in (
        _strip_url(safe_urljoin(base, canonical)) if canonical else None,
        _strip_url(url) if url else None,
    ) if c]
    for cand in candidates:
        qa_id = _id_from_url(cand, id_pattern)
        if qa_id:
            return cand, qa_id
    # A URL outside the site's article pattern (a mirror, a saved file): its last path segment.
    for cand in candidates:
        segment = urlsplit(cand).path.rstrip("/").rsplit("/", 1)[-1]
        segment = re.sub(r"\.(?:html?|php|aspx?)$", "", segment, flags=re.I)
        if segment:
            return cand, segment
    return (candidates[0] if candidates else url), None


class _Page:
    """The label-anchored reading of one page's lines.

    ``assign`` holds the part each line was read as (for ``--explain``); ``issues`` what the
    reading was unsure of (the record's ``parse_issues``, with the missing parts and leaks that
    :func:`_read_tree` adds).
    """

    def __init__(self, lines: list[Line], head: dict, id_pattern: str = DEFAULT_ID_PATTERN):
        self.lines = lines
        self.head = head
        self.id_pattern = id_pattern
        self.lower = _lower_texts(lines)
        self.index = {id(line): i for i, line in enumerate(lines)}
        self.assign = ["chrome" if line.chrome else "ignored" for line in lines]
        self.issues: list[str] = []
        self.unreadable: set[str] = set()
        self._headers: dict[tuple[int, int], tuple | None] = {}

    # -- helpers -----------------------------------------------------------------------------
    def _mark(self, lines, part: str) -> None:
        for line in lines:
            i = self.index.get(id(line))
            if i is not None:
                self.assign[i] = part

    def explain(self) -> list[tuple[str, str]]:
        return [(part, line.text) for part, line in zip(self.assign, self.lines)]

    def _content(self, start: int, end: int, meta: bool = False) -> list[Line]:
        """Lines of free text in [start, end): chrome and link-only lines (menus, ads) skipped;
        with ``meta``, post metadata too (counters, bylines, breadcrumbs, "Was this helpful?")."""
        out = []
        lines, lower = self.lines, self.lower
        for i in range(start, min(end, len(lines))):
            line = lines[i]
            if line.chrome or _is_ad(line.text):
                continue
            if line.link_only and not _is_bare_url(line):
                continue
            if _is_stop(line.text, lower[i]):
                break
            if meta and _is_post_meta(line):
                self._mark([line], "chrome")
                continue
            out.append(line)
        return out

    def _reply_header(self, start: int, end: int):
        """Find ``Dr. X reply Dept`` at or after ``start``: (index, lines used, doctor, dept).
        Remembered: the listing check and the record ask for the same range."""
        key = (start, end)
        if key not in self._headers:
            self._headers[key] = self._find_header(start, end)
        return self._headers[key]

    def _find_header(self, start: int, end: int):
        for i in range(start, end):
            if self.lines[i].chrome:
                continue
            found = _match_header(self.lines, i, end)
            if found:
                return (i, *found)
        return None

    def _find(self, pattern: re.Pattern, start: int, end: int | None = None) -> int | None:
        end = len(self.lines) if end is None else end
        hint = _HINTS.get(pattern)
        for i in range(start, end):
            if hint is not None and hint not in self.lower[i]:
                continue
            if pattern.search(self.lines[i].text):
                return i
        return None

    def _date(self, i: int, pattern: re.Pattern, column: str, end: int):
        """(raw, date) of the date after a label on line i (or on the next line when the label
        stands alone); an unreadable one is kept raw and reported, never taken for missing."""
        line = self.lines[i]
        after = _after(line.text, pattern).strip(" :：")
        times = line.times
        if not after and not times and i + 1 < end:
            nxt = self.lines[i + 1]
            if n.find_date(nxt.text) or nxt.times:
                self.assign[i + 1] = self.assign[i]
                after, times = nxt.text, nxt.times
        for value, shown in times:
            day = n.iso_date(value)
            if day is not None:
                return (shown or value), day
        if not after:
            return None, None
        raw = n.find_date(after)
        day = n.parse_date(raw)
        if day is None:
            raw = raw or after[:60]
            self.issues.append(f"unreadable_date: {column} {raw!r}")
            self.unreadable.add(column)
        return raw, day

    def _main_ask(self, end: int) -> int | None:
        """The page's own asker line, and NotQAPage for a listing.

        A Q&A page has one asker line with its reply header and its reply date in its main
        part; other Q&A-like items on it (a sidebar of recent questions) are not whole groups.
        Two whole groups, or repeated asker lines none of which is whole, or repeated reply
        headers each with a link to another Q&A page, make a listing, however Q&A-like each
        item looks."""
        asks = []
        for i in range(end):
            if "ask" in self.lower[i] and not self.lines[i].chrome and _ASK.search(self.lines[i].text):
                after = _after(self.lines[i].text, _ASK)
                if n.find_date(after) or self.lines[i].times or (
                        not after.strip() and i + 1 < end and n.find_date(self.lines[i + 1].text)):
                    asks.append(i)
        whole = []
        for k, a in enumerate(asks):
            stop = asks[k + 1] if k + 1 < len(asks) else end
            header = self._reply_header(a + 1, stop)
            reply = self._find(_REPLY_DATE, header[0] + header[1], stop) if header else None
            if reply is not None:
                whole.append((a, reply))
        if len(whole) >= 2:
            raise NotQAPage(f"a listing ({len(whole)} asker lines, each with a reply and a "
                            "reply date)")
        if len(asks) >= 2 and not whole:
            raise NotQAPage(f"a listing ({len(asks)} asker lines with ask dates, one per item)")
        if whole:
            return whole[0][0]
        groups, linked = 0, 0
        i = 0
        while i < end:
            found = None if self.lines[i].chrome else _match_header(self.lines, i, end)
            if found and re.match(r"(?:Dr\.?|Doctor)\s+\S", found[1], re.I):
                groups += 1
                i += found[0]
                continue
            line = self.lines[i]
            if line.links and (line.link_only or _READ_MORE.match(line.text)) and any(
                    _id_from_url(href, self.id_pattern) for _, href in line.links):
                linked += 1
            i += 1
        if groups >= 2 and linked >= groups:
            raise NotQAPage(f"a listing ({groups} reply headers, each with a link to a Q&A page)")
        return asks[0] if asks else None

    # -- the record --------------------------------------------------------------------------
    def record(self) -> QARecord:
        lines = self.lines
        total = len(lines)
        sections = self._section_starts()
        main_end = min(sections.values(), default=total)
        ask = self._main_ask(main_end)
        if ask is None:  # an asker line whose date is unreadable or on no line of its own
            ask = self._find(_ASK, 0, main_end)
        header = self._reply_header(ask + 1 if ask is not None else 0, main_end)
        if ask is None:
            reply_date = self._find(_REPLY_DATE, header[0] + 1, main_end) if header else None
            if header is None or reply_date is None:
                raise NotQAPage(
                    "no 'Ask Date:' asker line and no 'Dr. ... reply' with a 'Reply Date:'"
                )
        elif header is None:
            raise NotQAPage("'Ask Date:' found but no 'Dr. ... reply <Department>' after it")

        rec = QARecord()
        h_idx, h_used, doctor, dept = header
        for k in range(h_idx, h_idx + h_used):
            self.assign[k] = "reply header"
        rec.doctor_name = n.doctor_name(doctor)
        rec.department = n.department(dept)

        # Asker line and ask date.
        if ask is not None:
            asker_start, asker_text = self._asker(ask, h_idx)
            for k in range(asker_start, ask + 1):
                self.assign[k] = "asker"
            rec.asked_on_raw, rec.asked_on = self._date(ask, _ASK, "asked_on", h_idx)
            _fill_asker(rec, asker_text, self.issues)
        else:
            asker_start = h_idx
        # Reply and reply date.
        body_start = h_idx + h_used
        rd = self._find(_REPLY_DATE, body_start, main_end)
        if rd is not None:
            self.assign[rd] = "reply date"
            rec.answered_on_raw, rec.answered_on = self._date(rd, _REPLY_DATE, "answered_on",
                                                              main_end)
            answer_lines = self._content(body_start, rd, meta=True)
            before_label = _before(lines[rd].text, _REPLY_DATE)
            if before_label:
                answer_lines.append(Line(before_label))
        else:
            answer_lines = self._content(body_start, main_end, meta=True)
        self._mark(answer_lines, "answer")
        rec.answer = _join(answer_lines)

        # Title, subject and question.
        title_idx, title_text = self._title_line(asker_start, rec.department)
        if title_idx is not None:
            self.assign[title_idx] = "title"
            title_text = _without_badge(self.lines[title_idx], rec.department)
        rec.title, title_dept = _split_title(title_text, rec.department)
        if rec.department is None:
            rec.department = n.department(title_dept)
        elif title_dept and title_dept.lower() != rec.department.lower():
            self.issues.append(
                f"department_mismatch: title {title_dept!r}, reply header {rec.department!r}"
            )
        start = title_idx + 1 if title_idx is not None else 0
        share = next((i for i in range(start, asker_start) if _is_share(self.lines[i])), None)
        if share is not None:
            self.assign[share] = "chrome"
            start = share + 1
        body = [line for line in self._content(start, asker_start, meta=True)
                if not _is_share(line)]
        if len(body) >= 2 or (body and body[0].heading):
            rec.subject = body[0].text
            self._mark(body[:1], "subject")
            body = body[1:]
        self._mark(body, "question")
        rec.question = _join(body)

        # Sections after the reply.
        bounds = sorted(sections.items(), key=lambda kv: kv[1])
        for pos, (name, s) in enumerate(bounds):
            e = bounds[pos + 1][1] if pos + 1 < len(bounds) else total
            self.assign[s] = {"more_info": "more info", "similar": "similar",
                              "related": "related"}[name]
            if name == "more_info":
                info = self._content(s + 1, e)
                inline = _MORE_INFO_INLINE.match(lines[s].text)
                if inline:
                    info.insert(0, Line(inline.group("rest")))
                self._mark(info, "more info")
                rec.more_info = _join(info)
            elif name == "similar":
                rec.similar = self._similar(s + 1, e)
            elif name == "related":
                rec.related_topics = self._related(s + 1, e)
        return rec

    def _section_starts(self) -> dict[str, int]:
        """Line index of each section label, the first one after the asker and reply parts."""
        found: dict[str, int] = {}
        anchor = self._find(_REPLY_DATE, 0) or self._find(_ASK, 0) or 0
        for i in range(anchor, len(self.lines)):
            line = self.lines[i]
            if len(line.text) > 40:
                if "more_info" not in found and _MORE_INFO_INLINE.match(line.text):
                    found["more_info"] = i  # "More Info: <its first paragraph>"
                continue
            if line.text[:1] not in _SECTION_FIRST:
                continue
            for name, pattern in (("more_info", _MORE_INFO), ("similar", _SIMILAR),
                                  ("related", _RELATED)):
                if name not in found and pattern.match(line.text):
                    found[name] = i
        return found

    def _asker(self, ask: int, header_idx: int):
        """(first line index, asker text) of the ask line."""
        line = self.lines[ask].text
        m = _ASK.search(line)
        asker = line[: m.start()].strip()
        start = ask
        if not asker:
            # Table and card layouts put the asker line and "Ask Date:" in separate cells.
            prev = ask - 1
            while prev >= 0 and self.lines[prev].chrome:
                prev -= 1
            if prev >= 0 and _looks_like_asker(self.lines[prev].text):
                asker = self.lines[prev].text
                start = prev
        return start, asker

    def _title_line(self, limit: int, department: str | None) -> tuple[int | None, str | None]:
        """Index and text of the visible title line: the heading whose ' - <Department>' suffix
        agrees with the reply header's; else the first h1 that is not the site's name; else a
        line equal to <title>/og:title; else (index None) the <title> less its prefixes."""
        heads = [i for i in range(limit) if self.lines[i].heading and not self.lines[i].chrome]
        if department:
            for i in heads:
                if _split_title(self.lines[i].text, department)[1] == department:
                    return i, self.lines[i].text
        for i in heads:
            if self.lines[i].heading == 1 and not _is_site_name(self.lines[i]):
                return i, self.lines[i].text
        candidates = [c for c in (self.head["og_title"], self.head["title"]) if c]
        if department:
            candidates.sort(key=lambda c: _split_title(c, department)[1] != department)
        stems = set()
        for c in candidates:
            stems.add(c)
            for sep in (" | ", " - ", " – "):
                if sep in c:
                    stems.add(c.rsplit(sep, 1)[0])
                    stems.add(c.split(sep, 1)[0])
        for i in range(limit - 1, -1, -1):
            if self.lines[i].text in stems and not _is_site_name(self.lines[i]):
                return i, self.lines[i].text
        if not candidates:
            return None, None
        return None, _strip_title_prefix(candidates[0])

    def _similar(self, start: int, end: int) -> list[SimilarQA]:
        """Similar Q&A entries, cut at their reply headers (one per entry). Where an entry's
        ``[Read More]`` stands (after its reply excerpt, as on the seed page, or before its
        question excerpt, as on cards) is read from the first entry and holds for the rest."""
        lines = []
        for i in range(start, min(end, len(self.lines))):
            ln = self.lines[i]
            if _is_stop(ln.text, self.lower[i]):
                break
            if ln.chrome or _is_ad(ln.text):
                continue
            # (a trailing "[Read More]" holds a "]")
            m = None if _READ_MORE.match(ln.text) or "]" not in ln.text else (
                _TRAILING_READ_MORE.search(ln.text))
            if m and ln.links:
                # "<excerpt> [Read More]" in one paragraph: the excerpt, then its link.
                text_line = Line(ln.text[: m.start()], ln.links[:-1], heading=ln.heading)
                link_line = Line("[Read More]", ln.links[-1:], len("[ReadMore]"))
                for part in (text_line, link_line):
                    self.index[id(part)] = self.index[id(ln)]
                lines += [text_line, link_line]
                continue
            lines.append(ln)
        total = len(lines)
        headers = []
        i = 0
        while i < total:
            found = None if _READ_MORE.match(lines[i].text) else _match_header(lines, i, total)
            if found:
                headers.append((i, *found))
                i += found[0]
            else:
                i += 1
        if not headers:
            return []
        rm_in_head = any(_READ_MORE.match(ln.text) for ln in lines[:headers[0][0]])
        entries: list[SimilarQA] = []
        heads, tails = [], []
        prev_end = 0
        for k, (h, used, _, _) in enumerate(headers):
            region = lines[prev_end:h]
            cut = 0 if k == 0 else _entry_start(region, rm_in_head)
            if k:
                tails.append(region[:cut])
            heads.append(region[cut:])
            prev_end = h + used
        tails.append(_last_tail(lines[prev_end:], rm_in_head))
        for k, (h, used, doctor, dept) in enumerate(headers):
            head, tail = heads[k], tails[k]
            if not head:
                continue
            title_line, rest = head[0], head[1:]
            question = [ln for ln in rest if not _READ_MORE.match(ln.text)]
            links = [ln for ln in head + tail if _READ_MORE.match(ln.text)]
            answer = [ln for ln in tail if not _READ_MORE.match(ln.text) and not _companion(ln, links)]
            url = None
            for ln in links + [title_line] + question + answer:
                url = _first_href(ln)
                if url:
                    break
            part = f"similar[{len(entries)}]"
            self._mark(head + tail, part)
            self._mark(lines[h:h + used], part)
            if url is None:
                self.issues.append(f"similar_no_link: entry {len(entries) + 1}")
            entries.append(SimilarQA(
                url=url,
                title=n.clean_text(_READ_MORE.sub("", title_line.text)) or title_line.text,
                question_excerpt=_join(question),
                doctor_name=n.doctor_name(doctor),
                department=n.department(dept),
                answer_excerpt=_join(answer),
            ))
        return entries

    def _related(self, start: int, end: int) -> list[RelatedTopic]:
        """``Topic (Department)`` entries: one per line, split over two lines, many inline with
        separators, or the department in an element of its own (``<small>``) without brackets."""
        topics: list[RelatedTopic] = []
        loose: list[Line] = []
        pending: Line | None = None
        for i in range(start, min(end, len(self.lines))):
            line = self.lines[i]
            if line.chrome and not line.links:
                continue
            text = line.text
            if _is_stop(text, self.lower[i]):
                break
            part = f"related[{len(topics)}]"
            pos, found = 0, False
            for m in (_TOPIC_PAIR.finditer(text) if "(" in text or "（" in text else ()):
                if m.start() != pos:
                    break
                topic, dept = m.group("topic").strip(_SEPARATORS), m.group("dept")
                if not topic and pending is not None:
                    self._mark([pending], f"related[{len(topics)}]")
                    topics.append(_topic(pending.text, dept, pending.links + line.links))
                elif topic:
                    topics.append(_topic(topic, dept, line.links))
                pending, found, pos = None, True, m.end()
            if found:
                self._mark([line], part)
            rest = text[pos:].strip(_SEPARATORS)
            if not rest:
                continue
            split = None if found else _topic_and_department(line)
            if split:
                pending = None
                self._mark([line], f"related[{len(topics)}]")
                topics.append(_topic(split[0], split[1], line.links))
                continue
            if pending is not None and not found:
                if topics:
                    break  # the previous line never got its "(Department)": the list has ended
                if pending.links:
                    loose.append(pending)
            if len(rest) > 100:
                if topics:
                    break
                pending = None
                continue
            pending = Line(rest, line.links)
            self.index[id(pending)] = self.index[id(line)]
        if pending is not None and pending.links and not topics:
            loose.append(pending)
        if not topics:
            # A list of topic links without departments.
            for line in loose:
                self._mark([line], f"related[{len(topics)}]")
                topics.append(_topic(line.text, None, line.links))
        return topics


_SEPARATORS = " ·|•,;/"
_TOPIC_DASH = re.compile(r"^(?P<topic>.+?)\s+[-–—:]\s+(?P<dept>[^-–—:]+)$")


def _entry_start(region: list[Line], rm_in_head: bool) -> int:
    """Where the next Similar entry starts in the lines between two reply headers (the end of
    one entry, then the start of the next)."""
    rms = [k for k, ln in enumerate(region) if _READ_MORE.match(ln.text)]
    if rm_in_head and rms:
        # Card layout: title, [Read More], question excerpt: the title stands before the link.
        return max(rms[0] - 1, 0)
    if not rm_in_head and rms:
        cut = rms[-1] + 1
        if cut < len(region) and _companion(region[cut], [region[rms[-1]]]) and cut + 1 < len(region):
            cut += 1
        return cut
    # No link to go by: the last title-like line (a heading or a link) after the reply excerpt,
    # else the line after the first excerpt that ends in "...".
    for k in range(len(region) - 1, 0, -1):
        ln = region[k]
        if (ln.heading or ln.link_only) and not ln.text.endswith(("...", "…")):
            return k
    for k, ln in enumerate(region):
        if ln.text.endswith(("...", "…")):
            return k + 1
    return min(1, len(region))


def _last_tail(region: list[Line], rm_in_head: bool) -> list[Line]:
    """The last Similar entry's lines after its reply header: up to and with its [Read More]
    (or its excerpt ending in "..."), nothing after."""
    out: list[Line] = []
    for k, ln in enumerate(region):
        if _READ_MORE.match(ln.text):
            if rm_in_head:
                break
            out.append(ln)
            if k + 1 < len(region) and _companion(region[k + 1], [ln]):
                out.append(region[k + 1])
            break
        if ln.heading and out:
            break
        out.append(ln)
        if ln.text.endswith(("...", "…")) and not (
                k + 1 < len(region) and _READ_MORE.match(region[k + 1].text)):
            break
    return out


def _companion(line: Line, read_more: list[Line]) -> bool:
    """A link-only line right after a bare ``[Read More]`` to the same page (its title)."""
    if not line.link_only:
        return False
    targets = {href for rm in read_more if not _READ_MORE.sub("", rm.text).strip()
               for _, href in rm.links}
    return any(href in targets for _, href in line.links)


def _topic(topic: str, dept: str | None, links: list[tuple[str, str]]) -> RelatedTopic:
    """A related topic; its URL is the link whose text holds the topic (chips sit on one line)."""
    topic = n.clean_text(topic)
    url = None
    for text, href in links:
        if topic and topic in text:
            url = href
            break
    if url is None and len(links) == 1:
        url = links[0][1]
    return RelatedTopic(topic=topic, department=n.department(dept), url=url)


def _join(lines: list[Line]) -> str | None:
    """Lines' texts joined with ``\n`` (paragraphs); they are clean already (the reader's)."""
    return "\n".join(line.text for line in lines if line.text) or None


def _first_href(line: Line | None) -> str | None:
    if line is None:
        return None
    for _, href in line.links:
        if href.lower().startswith(("http://", "https://", "file:", "/")):
            return href
    return None


def _is_share(line: Line) -> bool:
    """The share widget: ``Share to:`` alone, or followed by share links or network names."""
    text = line.text
    m = _SHARE_LABEL.match(text)
    if m is None:
        return bool(_SHARE.match(text))
    rest = text[m.end():].strip()
    if not rest or line.link_chars >= 0.8 * len(rest.replace(" ", "")):
        return True
    words = [w for w in re.split(r"[\s|/,·•]+", rest) if w]
    return all(_SHARE.match(w) for w in words)


def _is_bare_url(line: Line) -> bool:
    return line.text.lower().startswith(("http://", "https://", "www."))


def _after(text: str, pattern: re.Pattern) -> str:
    m = pattern.search(text)
    return text[m.end():] if m else text


def _before(text: str, pattern: re.Pattern) -> str:
    m = pattern.search(text)
    return text[: m.start()].strip() if m else ""


def _match_header(lines: list[Line], i: int, end: int):
    """``Dr. X reply Dept`` starting at line i, on one line or split over up to three cells."""
    first = lines[i].text
    if len(first) > 120:
        return None
    # The header's verb is on one of its (up to three) lines: cheaper to test than the pattern.
    if not any(_header_hint(lines[k].text) for k in range(i, min(i + 3, end))):
        return None
    tries = []
    joined = first
    for used in (1, 2, 3):
        if used > 1:
            if i + used - 1 >= end:
                break
            nxt = lines[i + used - 1]
            if len(nxt.text) > 80:
                break
            joined = f"{joined} {nxt.text}"
        m = _REPLY_HEADER.match(joined)
        if m:
            tries.append((used, m.group("doctor"), m.group("dept")))
            if _plausible(m.group("doctor"), m.group("dept"), need_dept=True):
                return used, m.group("doctor"), m.group("dept")
    for used, doctor, dept in tries:
        if _plausible(doctor, dept, need_dept=False) and not dept:
            return used, doctor, None
    return None


def _plausible(doctor: str, dept: str | None, need_dept: bool) -> bool:
    doctor_words = doctor.split()
    if not doctor_words or len(doctor_words) > 7:
        return False
    if not re.match(r"(?:Dr\.?|Doctor)\b", doctor, re.I) and len(doctor_words) > 4:
        return False
    if need_dept:
        return bool(dept) and len(dept.split()) <= 8 and not dept.endswith((".", "..."))
    return True


def _looks_like_asker(text: str) -> bool:
    return len(text) <= 80 and bool(_ASKER_HINT.search(text))


def _fill_asker(rec: QARecord, text: str, issues: list[str]) -> None:
    """``Mr. Huang, 20~29 year old female.`` into name, gender and age band."""
    text = n.clean_text(text)
    if not text:
        return
    rec.asker_gender = n.parse_gender(text)
    name, rest = (text.split(",", 1) + [""])[:2] if "," in text else ("", text)
    if not name:
        # No comma: a name, then the age band or the gender word ("Ms. Lin 30~39 year old
        # male"), or only one of them.
        m = _ASKER_PARTS.search(text)
        name, rest = (text[: m.start()], text[m.start():]) if m else (text, "")
    age_match = _AGE_PART.search(rest)
    if age_match:
        rec.asker_age_min, rec.asker_age_max = n.parse_age_band(age_match.group(0))
    rec.asker_name = n.asker_name(name)
    name_odd = rec.asker_name and (re.search(r"\d|\byears?\b|\b(?:fe)?male\b", rec.asker_name,
                                             re.I) or len(rec.asker_name.split()) > 5)
    if name_odd or (rec.asker_gender is None and not age_match and not rec.asker_name):
        issues.append(f"asker_unsplit: {text[:80]!r}")


def _split_title(title: str | None, department: str | None) -> tuple[str | None, str | None]:
    """Title without its ' - <Department>' (and any site-name) suffix; and the suffix.

    The suffix is the reply header's department when the title ends with it; else a last
    ' - ' part that reads as a department name (the caller reports a disagreement)."""
    title = n.clean_text(title)
    if not title:
        return None, None
    if department:
        for sep in (" - ", " – ", " — "):
            marker = f"{sep}{department}"
            pos = title.rfind(marker)
            if pos > 0 and _only_site_after(title[pos + len(marker):]):
                return title[:pos].strip(), department
    # Site name: "... | DoctorQnA" or "... - DoctorQnA".
    title = re.split(r"\s+[|｜]\s+", title)[0]
    parts = re.split(r"\s+[-–—]\s+", title)
    if len(parts) > 1 and _SITE_NAME.search(parts[-1]):
        parts = parts[:-1]
    if len(parts) > 1 and (department is None or _looks_like_department(parts[-1])):
        return " - ".join(parts[:-1]), parts[-1]
    return " - ".join(parts), None


def _looks_like_department(text: str) -> bool:
    """``Obstetrics and Gynecology`` yes; ``When to Worry?`` or ``What Should I Do`` no."""
    words = text.split()
    if not words or len(words) > 5 or re.search(r"[?!.:\d]", text):
        return False
    if any(w.lower() in _QUESTION_WORDS for w in words):
        return False
    return all(w[0].isupper() or w.lower() in ("and", "of", "&", "the", "for") for w in words)


def _strip_title_prefix(title: str) -> str:
    """``Forum • View topic - <title> - <Dept>`` less its leading site and forum parts."""
    parts = re.split(r"(\s+[-–—]\s+)", title)
    while len(parts) > 2 and (
        _SITE_NAME.search(parts[0]) or re.search(r"[•»›]|\b(?:view\s+topic|forum|board|index)\b",
                                                 parts[0], re.I)
    ):
        parts = parts[2:]
    return "".join(parts)


def _without_badge(line: Line, department: str | None) -> str:
    """A title line less a department shown as a badge, an element of its own inside the
    heading without a dash (``<h1>Title <span class="badge">Neurology</span></h1>``)."""
    text = line.text
    if not department or not text.endswith(" " + department) or line.block is None or (
            _split_title(text, department)[1] == department):  # "Title - Dept": not a badge
        return text
    kids = [c for c in line.block if isinstance(c.tag, str)]
    if kids and n.clean_text("".join(kids[-1].itertext())) == department and not (
            kids[-1].tail or "").strip():
        return text[: -len(department) - 1]
    return text


def _is_site_name(line: Line) -> bool:
    """A heading that names the site: its name, or a link to the site's home page."""
    if _SITE_NAME.search(line.text) and len(line.text.split()) <= 4:
        return True
    if line.link_only and line.links:
        path = urlsplit(line.links[0][1]).path.rstrip("/")
        return path == "" or re.fullmatch(r"/[a-z]{2}(?:-[a-zA-Z]{2})?", path) is not None
    return False


def _is_post_meta(line: Line) -> bool:
    """Forum and CMS furniture around the question (see ``_POST_META``) or a breadcrumb trail."""
    text = line.text
    if len(text) > 120:
        return False
    if _POST_META.match(text):
        return True
    if line.links and ("»" in text or "›" in text or " > " in text or " / " in text):
        crumbs = [c for c in _CRUMB_SPLIT.split(text) if c]
        return len(crumbs) >= 2 and all(len(c.split()) <= 12 for c in crumbs)
    return False


def _topic_and_department(line: Line) -> tuple[str, str] | None:
    """A related topic whose department sits in an element of its own, without brackets
    (``<li><a>Muscle Twitching</a> <small>Neurology</small></li>``), or after a dash
    (``Muscle Twitching - Neurology``)."""
    if len(line.text) > 100:
        return None
    dashed = _TOPIC_DASH.match(line.text)
    if dashed and line.links and _looks_like_department(dashed.group("dept")):
        return dashed.group("topic"), dashed.group("dept")
    el = line.block
    if el is None or not len(el):
        return None
    while True:
        kids = [c for c in el if isinstance(c.tag, str) and (len(c) or (c.text or "").strip())]
        if len(kids) == 1 and not (el.text or "").strip() and not (kids[0].tail or "").strip():
            el = kids[0]
            continue
        break
    if len(kids) < 2 or (el.text or "").strip(_SEPARATORS):
        return None
    last = kids[-1]
    if (last.tail or "").strip(_SEPARATORS) or last.tag == "a":
        return None
    dept = n.clean_text("".join(last.itertext()))
    topic = n.clean_text(line.text[: len(line.text) - len(dept)] if line.text.endswith(dept)
                         else None)
    if not topic or not dept or not _looks_like_department(dept):
        return None
    return topic.strip(_SEPARATORS), dept


# Label words of the page that must never stand inside a field (a sign of a mis-cut part).
_LEAK_ANY = re.compile(r"\bAsk(?:ed)?\s*Date\b|\bRepl(?:y|ied)\s*Date\b|\[\s*Read\s+More\s*\]|"
                       r"^Similar\s+Q\s*&\s*A\b|^Related\s+FAQ\b|^More\s+Info\b", re.I | re.M)
_LEAK_NAME = re.compile(r"\brepl(?:y|ied|ies)\b|\bAsk\b|\bDate\b|\bShare\b", re.I)
_NAME_FIELDS = ("asker_name", "doctor_name", "department")
_TEXT_FIELDS = ("title", "subject", "question", "answer", "more_info")


# Words one of the labels holds (lower-cased): a text without any is searched no further. Each
# is looked for only when its key (a word every one of its hints holds) is in the text: one scan
# of a long text per key, not one per hint.
_LEAK_HINTS = ("ask date", "askdate", "asked date", "reply date", "replydate", "replied date",
               "read more", "similar q", "related faq", "more info")
_LEAK_KEYS = ("date", "read more", "similar q", "related faq", "more info")
_HINTS_OF_KEY = {key: tuple(h for h in _LEAK_HINTS if key in h) for key in _LEAK_KEYS}
assert all(any(key in h for key in _LEAK_KEYS) for h in _LEAK_HINTS)


def _leak(value: str | None, pattern: re.Pattern) -> str | None:
    if not value:
        return None
    if pattern is not _LEAK_ANY:
        m = pattern.search(value)
        return m.group(0) if m else None
    # Long texts: the pattern is tried only around each place a label's words stand
    # ("for more information" holds "more info" and is no label: the pattern decides).
    low = _lower(value)
    present = {h for key in _LEAK_KEYS if key in low for h in _HINTS_OF_KEY[key]}
    # (positions in ``low`` are positions in ``value`` unless lower-casing changed the length)
    aligned = len(low) == len(value)
    for hint in _LEAK_HINTS:
        if hint not in present:
            continue  # its key is not in the text, so neither is the hint
        pos = low.find(hint)
        while pos >= 0:
            if hint == "more info" and aligned and pos and value[pos - 1] != "\n":
                # In the 16 characters around "more info" only "^More Info" can match, and
                # only at a line's start ("for more information": most texts' only hint).
                pos = low.find(hint, pos + 1)
                continue
            m = pattern.search(value, max(pos - 3, 0), pos + len(hint) + 4)
            if m:
                return m.group(0)
            pos = low.find(hint, pos + 1)
    return None


def _leaks(rec: QARecord) -> list[str]:
    """``label_leak`` issues: page labels inside a name or a text of the record."""
    out = []
    fields = [(name, getattr(rec, name), (_LEAK_NAME, _LEAK_ANY)) for name in _NAME_FIELDS]
    fields += [(name, getattr(rec, name), (_LEAK_ANY,)) for name in _TEXT_FIELDS]
    for k, item in enumerate(rec.similar, start=1):
        for name in ("doctor_name", "department"):
            fields.append((f"similar[{k}].{name}", getattr(item, name), (_LEAK_NAME,)))
        for name in ("title", "question_excerpt", "answer_excerpt"):
            fields.append((f"similar[{k}].{name}", getattr(item, name), (_LEAK_ANY,)))
    for name, value, patterns in fields:
        for pattern in patterns:
            found = _leak(value, pattern)
            if found:
                out.append(f"label_leak: {name} {found!r}")
                break
    return out


def _only_site_after(rest: str) -> bool:
    rest = rest.strip()
    return not rest or bool(re.match(r"^[|｜\-–—]\s*", rest)) and (
        bool(_SITE_NAME.search(rest)) or len(rest.split()) <= 4
    )
