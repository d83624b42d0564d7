"""Turn an HTML document into the lines a reader sees, with their links and a chrome flag.

The site's markup is unknown to us, so the parser reads the page the way a person does: as a
sequence of visual lines. Block elements, table cells and ``<br>`` break lines; inline elements
do not. Scripts, styles and hidden elements are dropped. Navigation, forms, buttons and
ad/share/footer containers are kept but flagged as chrome, unless they hold one of the page's
own labels (a semantic page may well put ``Reply Date:`` in a ``<footer>``).
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urljoin

from lxml import etree

from qa_crawler.parsers.normalize import clean_text

BLOCK_TAGS = frozenset(
    """address article aside blockquote body br caption center dd details dialog dir div dl dt
    fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr html li main menu
    nav ol p pre section summary table tbody td tfoot th thead tr ul legend""".split()
)
DROP_TAGS = frozenset(
    "script style noscript template svg math iframe object embed head canvas audio video "
    "img picture source track map area link meta input textarea select option datalist".split()
)
CHROME_TAGS = frozenset("nav form button dialog menu".split())
FOOTER_TAGS = frozenset(["footer"])
CHROME_TOKENS = frozenset(
    """nav navbar navigation menu menubar footer breadcrumb breadcrumbs share sharing sharebar
    social ad ads adsbygoogle advert adverts advertisement advertising sponsor sponsored banner
    cookie cookies popup modal login signup subscribe newsletter toolbar""".split()
)
HIDDEN_TOKENS = frozenset("hidden d-none sr-only visually-hidden screen-reader-text".split())
# Text labels of the page itself; an element holding one is content, whatever it is called.
LABELS = ("Ask Date", "Reply Date", "Similar Q", "Related FAQ", "More Info")
_STRING = etree.XPath("string()")
_TOKEN_SPLIT = re.compile(r"[\s_\-]+")
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)


class Line:
    """One visual line: its cleaned text, its links (text, absolute href) and flags.

    ``times`` holds the ``(datetime attribute, visible text)`` of its ``<time>`` elements;
    ``block`` is the block element the line was read from (for the few readings that need
    the inline structure of a line, such as a topic and its department in two elements); the
    fast line pass finds it only when asked (``where`` then says where to look).
    """

    __slots__ = ("text", "links", "link_chars", "heading", "chrome", "times", "_block", "_where")

    def __init__(self, text: str, links: list[tuple[str, str]] | None = None, link_chars: int = 0,
                 heading: int = 0, chrome: bool = False, times: list[tuple[str, str]] | None = None,
                 block: object = None, where: object = None):
        self.text = text
        self.links = [] if links is None else links
        self.link_chars = link_chars
        self.heading = heading
        self.chrome = chrome
        self.times = [] if times is None else times
        self._block = block
        self._where = where

    @property
    def block(self):
        if self._where is not None:
            self._block, self._where = self._where.at(self._block), None
        return self._block

    def fields(self) -> tuple:
        """Everything the line holds, for comparing two readings of a page."""
        return (self.text, self.links, self.link_chars, self.heading, self.chrome, self.times,
                self.block)

    def __repr__(self) -> str:
        return f"Line({self.text!r}, links={self.links!r}, heading={self.heading}, chrome={self.chrome})"

    @property
    def link_only(self) -> bool:
        """The whole line is link text (menus, share buttons, breadcrumbs, [Read More])."""
        if not self.links:
            return False
        return self.link_chars >= 0.9 * len(self.text.replace(" ", ""))


class _Builder:
    def __init__(self, base_url: str):
        self.base_url = base_url
        self.lines: list[Line] = []
        self.parts: list[str] = []
        self.part_chrome: list[bool] = []
        self.links: list[tuple[str, str]] = []
        self.times: list[tuple[str, str]] = []
        self.link_chars = 0
        self.heading = 0
        self.open_links: list[list[str]] = []  # text of each <a> being read (may span lines)
        self.blocks: list = [None]
        self.pre = 0

    def add_text(self, text: str | None, chrome: bool, in_link: int, heading: int) -> None:
        if not text:
            return
        if self.pre and "\n" in text:
            # Inside <pre> a newline is a visible line break.
            first, *others = text.split("\n")
            self.add_text(first, chrome, in_link, heading)
            for piece in others:
                self.flush()
                self.add_text(piece, chrome, in_link, heading)
            return
        for acc in self.open_links:
            acc.append(text)
        self.parts.append(text)
        self.part_chrome.append(chrome)
        if in_link:
            self.link_chars += len(text.replace(" ", "").replace("\xa0", ""))
        if heading and text.strip():
            self.heading = heading if not self.heading else min(self.heading, heading)

    def flush(self) -> None:
        if not self.parts and not self.links and not self.heading and not self.times:
            return  # nothing read since the last line (most block boundaries)
        if self.parts:
            text = clean_text("".join(self.parts))
            if text:
                visible = [c for p, c in zip(self.parts, self.part_chrome) if p.strip()]
                self.lines.append(
                    Line(text, self.links, self.link_chars, self.heading,
                         bool(visible) and all(visible), self.times, self.blocks[-1])
                )
            elif self.times:
                return  # keep a <time> whose text is empty for the next line
        self.parts, self.part_chrome, self.links, self.times = [], [], [], []
        self.link_chars, self.heading = 0, 0


def attribute_kind(el) -> int:
    """What an element's own attributes make it: HIDDEN, CHROME (by class, id or role) or 0."""
    get = el.get
    return _attribute_kind(get("class"), get("id"), get("role"), get("style"), get("hidden"),
                           get("aria-hidden"))


HIDDEN, CHROME = 1, 2


@lru_cache(maxsize=4096)
def _attribute_kind(cls, id_, role, style, hidden, aria_hidden) -> int:
    # Pages of a site repeat their templates' attributes: cached by their values.
    if hidden is not None or aria_hidden == "true":
        return HIDDEN
    if style and _HIDDEN_STYLE.search(style):
        return HIDDEN
    if cls and any(t in HIDDEN_TOKENS for t in cls.lower().split()):
        return HIDDEN
    raw = " ".join(filter(None, (cls, id_, role)))
    if raw and not CHROME_TOKENS.isdisjoint(t for t in _TOKEN_SPLIT.split(raw.lower()) if t):
        return CHROME
    return 0


def _walk(b: _Builder, root) -> None:
    """Read the tree in document order with lxml's own walker (C speed, and no depth limit: old
    editors nest hundreds of inline elements, past Python's recursion limit)."""
    walker = etree.iterwalk(root, events=("start", "end"))
    add_text = b.add_text
    # Per open element: what its "end" must do and the context to restore for its tail.
    opened: list[tuple] = []
    chrome, in_link, heading = False, 0, 0
    for event, el in walker:
        if event == "end":
            tag, block, is_link, chrome, in_link, heading = opened.pop()
            if tag is None:  # dropped, hidden or a line break: only its tail is read
                add_text(el.tail, chrome, in_link, heading)
                continue
            if tag == "pre":
                b.pre -= 1
            elif tag == "time":
                b.times.append((el.get("datetime"), clean_text("".join(el.itertext())) or ""))
            if is_link:
                add_link(b.links, b.open_links.pop(), el.get("href"), b.base_url)
            if block:
                if b.parts or b.links or b.times:
                    b.flush()
                b.blocks.pop()
            add_text(el.tail, chrome, in_link, heading)
            continue
        tag = el.tag
        outer = (chrome, in_link, heading)
        kind = attribute_kind(el) if el.attrib else 0
        if tag in DROP_TAGS or kind == HIDDEN or not isinstance(tag, str):
            walker.skip_subtree()
            opened.append((None, False, False, *outer))
            continue
        if not chrome and (tag in CHROME_TAGS or tag in FOOTER_TAGS
                           or kind == CHROME) and not _holds_label(el):
            chrome = True
        block = tag in BLOCK_TAGS
        if block and (b.parts or b.links or b.times):
            b.flush()
        if tag == "br" or tag == "hr":
            opened.append((None, False, False, *outer))
            continue
        if len(tag) == 2 and tag[0] == "h" and tag[1] in "123456":
            heading = int(tag[1])
        is_link = tag == "a" and el.get("href") is not None
        if is_link:
            b.open_links.append([])
            in_link += 1
        if tag == "pre":
            b.pre += 1
        if block:
            b.blocks.append(el)
        opened.append((tag, block, is_link, *outer))
        add_text(el.text, chrome, in_link, heading)


def add_link(links: list, text_parts: list[str], href: str, base_url: str) -> None:
    """A link that has been read: its text (the parts read inside it) and absolute URL go to the
    line's ``links``, unless its href is no URL, a script or a fragment."""
    target = link_target(base_url, href)
    if target:
        links.append((clean_text("".join(text_parts)) or "", target))


def link_target(base_url: str, href: str) -> str | None:
    """The absolute URL a link's href leads to; None for no URL, a script or a fragment."""
    href = href.strip()
    if _by_origin(href):  # menus, listings, similar pages: the same on many pages of a site
        return _origin_target(_origin(base_url), href)
    return _target(base_url, href)


@lru_cache(maxsize=8192)
def _origin_target(origin: str, href: str) -> str | None:
    return _target(origin, href)


def _target(base_url: str, href: str) -> str | None:
    absolute = safe_urljoin(base_url, href)
    if absolute and not href.lower().startswith(("javascript:", "#")):
        return absolute
    return None


def _by_origin(href: str) -> bool:
    """The href's absolute URL depends on its base's origin (scheme and host) alone."""
    return href.startswith(("http://", "https://")) or (href.startswith("/")
                                                        and not href.startswith("//"))


def _origin(base: str) -> str:
    cut = base.find("/", base.find("//") + 2)
    return base if cut < 0 else base[:cut]


# URLs that urljoin gives back unchanged (absolute, plain host, plain path, a query and a
# fragment of plain characters), and root-relative paths it appends to a plain origin as they are
# (no empty, "." or ".." segment): what most links of a page are, joined without parsing them
# (test_reader_urls holds them equal).
_PLAIN_TAIL = (r"(?:/[A-Za-z0-9_~%\-][A-Za-z0-9_.~%\-]*)*/?"
               r"(?:\?[A-Za-z0-9_.~%\-=&+:/,@!$*]+)?(?:#[A-Za-z0-9_.~%\-=&+:/,@!$*]+)?")
_PLAIN_ORIGIN = re.compile(r"https?://[A-Za-z0-9.\-]+(?::[0-9]+)?")
_PLAIN_PATH = re.compile(_PLAIN_TAIL)
_PLAIN_URL = re.compile(r"https?://[A-Za-z0-9.\-]+(?::[0-9]+)?" + _PLAIN_TAIL)


def safe_urljoin(base: str, href: str) -> str | None:
    """``urljoin``, or None for an href that is no URL (``http://[bad``)."""
    if _by_origin(href):
        if base and _PLAIN_URL.fullmatch(href):
            return href
        # The result depends on the base's scheme and host alone, and pages of a site link to
        # the same menus, listings and similar pages: cached by origin.
        origin = _origin(base)
        if href[0] == "/" and _PLAIN_ORIGIN.fullmatch(origin) and _PLAIN_PATH.fullmatch(href):
            return origin + href
        return _join(origin, href)
    if _RELATIVE_PATH.match(href):
        # A relative path's URL depends on its base's folder alone: cached by folder (the
        # pages of one folder link to the same pages).
        return _join(_folder(base), href)
    return _join(base, href)


# A relative path: no scheme, host, query-only or fragment-only href (urljoin then reads only
# the base's scheme, host and path up to its last "/").
_RELATIVE_PATH = re.compile(r"[A-Za-z0-9_.~%\-][^:]*\Z")


def _folder(base: str) -> str:
    """The base up to the last "/" of its path; the base itself if it has no path, or has a
    query, parameters or a fragment."""
    start = base.find("/", base.find("//") + 2)
    if start < 0 or "?" in base or "#" in base or ";" in base:
        return base
    return base[: base.rfind("/") + 1]


@lru_cache(maxsize=8192)
def _join(base: str, href: str) -> str | None:
    try:
        return urljoin(base, href)
    except ValueError:
        return None


def _holds_label(el) -> bool:
    """The element's text holds one of the page's labels (so it is content, not chrome)."""
    return holds_label(_STRING(el))


def holds_label(text: str) -> bool:
    """``text`` (an element's whole text) holds one of the page's labels."""
    return any(label in text for label in LABELS) or (
        "\xa0" in text and any(label in text.replace("\xa0", " ") for label in LABELS))


def read_lines(root, base_url: str) -> list[Line]:
    """The visual lines of the ``<body>`` of a parsed lxml HTML document, in reading order.

    Read by the native line pass (:mod:`qa_crawler.parsers._linewalk`, the same reading compiled
    with Cython against lxml's tree) where it was built, else by :func:`read_lines_reference`."""
    if _native is not None:
        return _native.read_lines(root, base_url)
    return read_lines_reference(root, base_url)


def read_lines_reference(root, base_url: str) -> list[Line]:
    """The visual lines, read by walking the tree in Python: the reference reading."""
    body = root.find("body")
    if body is None:
        body = root
    b = _Builder(base_url)
    _walk(b, body)
    b.flush()
    return b.lines


def head_info(root) -> dict[str, str | None]:
    """Title, og:title, canonical link and base href: the first non-empty of each in document
    order, read in one pass over those four tags (four document-wide XPaths cost more)."""
    found: dict[str, str | None] = {"title": None, "og_title": None, "canonical": None,
                                    "base": None}
    for el in root.iter("title", "meta", "link", "base"):
        tag = el.tag
        if tag == "title":
            key, value = "title", "".join(el.itertext())
        elif tag == "meta":
            if el.get("property") != "og:title":
                continue
            key, value = "og_title", el.get("content")
        elif tag == "link":
            if "canonical" not in (el.get("rel") or "").lower().split():
                continue
            key, value = "canonical", el.get("href")
        else:
            key, value = "base", el.get("href")
        if found[key] is None:
            found[key] = clean_text(value)
    return found


# <link> relations that lead to other pages of the site (not style sheets, icons or feeds).
_PAGE_RELS = frozenset({"canonical", "next", "prev", "previous", "alternate", "first", "last"})


def document_links(root, base_url: str) -> list[str]:
    """Absolute http(s) URLs of the document's ``a``, ``area`` and page ``link`` hrefs, each
    once, in document order; hidden and chrome links included (menus are how a site is walked)."""
    seen: set[str] = set()
    out: list[str] = []
    for el in root.iter("a", "area", "link"):
        href = el.get("href")
        if not href:
            continue
        if el.tag == "link" and not (_PAGE_RELS & set((el.get("rel") or "").lower().split())):
            continue
        href = href.strip()
        if not href or href.startswith("#"):
            continue
        url = safe_urljoin(base_url, href)
        if url and url.startswith(("http://", "https://")) and url not in seen:
            seen.add(url)
            out.append(url)
    return out


# Inline formatting that never starts a line: what an over-deep document is flattened of.
_INLINE_TAGS = re.compile(
    r"</?(?:font|span|b|i|u|em|strong|small|big|sup|sub|s|strike|tt|mark|abbr|cite|q|ins|del)"
    r"(?:\s[^<>]*)?/?>",
    re.I,
)
_TOO_DEEP = "Excessive depth"


class TooDeep(ValueError):
    """The document nests deeper than libxml2 can read, even without its inline formatting."""


def parse_html(text: str, utf8: bytes | None = None):
    """Parse HTML text with lxml's forgiving HTML parser; returns the root element. ``utf8``:
    the text's UTF-8 bytes, when the caller has them.

    ``huge_tree`` lifts libxml2's depth limit from 256 to 2048 levels. A document deeper than that
    (libxml2 then drops everything below, silently but for its error log) is parsed again without
    its inline formatting tags, which nest without limit in old WYSIWYG output and carry no line
    breaks; if it is still too deep, :class:`TooDeep` says so: nothing is dropped silently.
    """
    data = text.encode("utf-8", "surrogatepass") if utf8 is None else utf8
    root, deep = _parse(data)
    if deep:
        root, deep = _parse(_INLINE_TAGS.sub("", text).encode("utf-8", "surrogatepass"))
        if deep:
            raise TooDeep("the document nests more than 2048 elements deep")
    return root


def _parse(data: bytes):
    parser = etree.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True,
                              huge_tree=True)
    root = etree.fromstring(data, parser)
    return root, any(_TOO_DEEP in e.message for e in parser.error_log)


try:  # the compiled line pass (setup.py builds it with the package)
    from qa_crawler.parsers import _linewalk as _native
except Exception:  # noqa: BLE001  not built, or built against another lxml: the reference reads
    _native = None
