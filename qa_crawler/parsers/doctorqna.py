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
from urllib.parse import urlsplit, urlunsplit

from lxml import etree
from w3lib.encoding import html_to_unicode

from qa_crawler.parsers import normalize as n
from qa_crawler.parsers.reader import (
    Line,
    document_links,
    head_info,
    parse_html,
    read_lines,
    safe_urljoin,
)
from qa_crawler.record import REQUIRED_PARTS, QARecord, RelatedTopic, SimilarQA

PARSER_VERSION = "1.0.0"
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


_ASK = re.compile(r"\bAsk(?:ed)?\s*(?:Date|on)\s*[:：]?", re.I)
_REPLY_DATE = re.compile(r"\bRepl(?:y|ied)\s*(?:Date|on)\s*[:：]?", re.I)
_REPLY_HEADER = re.compile(
    r"^(?P<doctor>(?:Dr\.?|Doctor)\s*[^?!:;]{1,80}?|[^?!:;.]{1,60}?)\s+(?:reply|replied|replies|answer)"
    r"\s*[:：]?\s*(?P<dept>[^?!;]{0,80}?)\s*$",
    re.I,
)
_MORE_INFO = re.compile(r"^More\s+Info(?:rmation)?\s*[:：]?$", re.I)
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
_STOP = re.compile(r"(?:©|\bcopyright\b|all rights reserved|^disclaimer\b)", re.I)
# Words a line must hold (lower-cased) before a pattern is tried on it: a substring test is
# much cheaper than a case-insensitive regex scan of every long line of the page.
_HINTS = {_ASK: "ask", _REPLY_DATE: "repl"}


def _is_stop(text: str) -> bool:
    """The page's footer starts here (copyright, disclaimer)."""
    low = text.lower()
    return ("©" in low or "copyright" in low or "all rights reserved" in low
            or low.startswith("disclaimer")) and _STOP.search(text) is not None
_TOPIC_PAIR = re.compile(r"\s*(?P<topic>[^()（）]{0,100}?)\s*[(（](?P<dept>[^()（）]{1,60})[)）]\s*")
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
_SITE_NAME = re.compile(r"doctor\s*q\s*n?\s*&?\s*a|doctorqna", re.I)


def decode(body: bytes | str, content_type: str | None = None) -> str:
    """Body bytes to text, honouring a BOM, the Content-Type charset or a ``<meta>`` charset."""
    if isinstance(body, str):
        return body
    _, text = html_to_unicode(content_type, body)
    return text


def _document(body: bytes | str, content_type: str | None):
    """The parsed document of a body; NotQAPage when it is none."""
    text = decode(body, content_type)
    if not text.strip():
        raise NotQAPage("empty body")
    if not re.search(r"<\s*[a-zA-Z!]", text[:4096]):
        raise NotQAPage("not an HTML document (no tags in the first 4 KB)")
    try:
        root = parse_html(text)
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
    try:
        lines = read_lines(root, base)
    except RecursionError:
        raise NotQAPage("unreadable HTML: nesting too deep") from None
    if not lines:
        raise NotQAPage("no visible text")
    page = _Page(lines, head)
    try:
        record = page.record()
    except NotQAPage as exc:
        raise NotQAPage(f"{_kind_of_page(lines, head, id_pattern)}: {exc.reason}") from None
    canonical, qa_id = _identity(url, head["canonical"], base, id_pattern)
    if qa_id is None:
        raise NotQAPage("no Q&A id in the URL or the canonical link")
    record.qa_id, record.url = qa_id, canonical
    record.content_sha256 = hashlib.sha256(raw).hexdigest()
    record.parser_version = PARSER_VERSION
    for item in record.similar:
        if item.url:
            item.qa_id = _id_from_url(item.url, id_pattern)
    missing = tuple(name for name in REQUIRED_PARTS if getattr(record, name) is None)
    return ParseResult(record, missing)


def _kind_of_page(lines: list[Line], head: dict, id_pattern: str) -> str:
    """A short guess at what a non-Q&A page is, for the one-line reason."""
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
    return "not a Q&A page"


def _strip_url(url: str | None) -> str | None:
    try:
        parts = urlsplit(url)
    except (ValueError, TypeError):
        return None
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


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
    """The label-anchored reading of one page's lines."""

    def __init__(self, lines: list[Line], head: dict):
        self.lines = lines
        self.head = head
        self.lower = [line.text.lower() for line in lines]

    # -- helpers -----------------------------------------------------------------------------
    def _content(self, start: int, end: int) -> list[Line]:
        """Lines of free text in [start, end): chrome and link-only lines (menus, ads) skipped."""
        out = []
        for line in self.lines[start:end]:
            if line.chrome or _AD.match(line.text):
                continue
            if line.link_only and not _is_bare_url(line):
                continue
            if _is_stop(line.text):
                break
            out.append(line)
        return out

    def _reply_header(self, start: int, end: int):
        """Find ``Dr. X reply Dept`` at or after ``start``: (index, lines used, doctor, dept)."""
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

    # -- the record --------------------------------------------------------------------------
    def record(self) -> QARecord:
        lines = self.lines
        total = len(lines)
        sections = self._section_starts()
        main_end = min(sections.values(), default=total)

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
        rec.doctor_name = n.doctor_name(doctor)
        rec.department = n.department(dept)

        # Asker line and ask date.
        if ask is not None:
            asker_start, asker_text, date_raw, after_ask = self._asker(ask, h_idx)
            rec.asked_on_raw = date_raw
            rec.asked_on = n.parse_date(date_raw)
            _fill_asker(rec, asker_text)
        else:
            asker_start = h_idx
        # Reply and reply date.
        body_start = h_idx + h_used
        rd = self._find(_REPLY_DATE, body_start, main_end)
        if rd is not None:
            raw = n.find_date(_after(lines[rd].text, _REPLY_DATE))
            if raw is None and rd + 1 < total:
                raw = n.find_date(lines[rd + 1].text)
            rec.answered_on_raw = raw
            rec.answered_on = n.parse_date(raw)
            answer_lines = self._content(body_start, rd)
            before_label = _before(lines[rd].text, _REPLY_DATE)
            if before_label:
                answer_lines.append(Line(before_label))
        else:
            answer_lines = self._content(body_start, main_end)
        rec.answer = n.join_paragraphs(line.text for line in answer_lines)

        # Title, subject and question.
        title_idx, title_text = self._title_line(asker_start)
        rec.title, title_dept = _split_title(title_text, rec.department)
        if rec.department is None:
            rec.department = n.department(title_dept)
        start = title_idx + 1 if title_idx is not None else 0
        share = next((i for i in range(start, asker_start) if _is_share(self.lines[i])), None)
        if share is not None:
            start = share + 1
        body = [line for line in self._content(start, asker_start) if not _is_share(line)]
        if len(body) >= 2 or (body and body[0].heading):
            rec.subject = body[0].text
            body = body[1:]
        rec.question = n.join_paragraphs(line.text for line in body)

        # Sections after the reply.
        bounds = sorted(sections.items(), key=lambda kv: kv[1])
        for pos, (name, s) in enumerate(bounds):
            e = bounds[pos + 1][1] if pos + 1 < len(bounds) else total
            if name == "more_info":
                rec.more_info = n.join_paragraphs(line.text for line in self._content(s + 1, e))
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
                continue
            for name, pattern in (("more_info", _MORE_INFO), ("similar", _SIMILAR),
                                  ("related", _RELATED)):
                if name not in found and pattern.match(line.text):
                    found[name] = i
        return found

    def _asker(self, ask: int, header_idx: int):
        """(first line index, asker text, raw date, index after the date) for the ask line."""
        line = self.lines[ask].text
        m = _ASK.search(line)
        asker = line[: m.start()].strip()
        raw = n.find_date(line[m.end():])
        after = ask + 1
        if raw is None and ask + 1 < header_idx:
            raw = n.find_date(self.lines[ask + 1].text)
            after = ask + 2 if raw else after
        start = ask
        if not asker:
            # Table layouts put the asker line and "Ask Date:" in separate cells.
            prev = ask - 1
            while prev >= 0 and self.lines[prev].chrome:
                prev -= 1
            if prev >= 0 and _looks_like_asker(self.lines[prev].text):
                asker = self.lines[prev].text
                start = prev
        return start, asker, raw, after

    def _title_line(self, limit: int) -> tuple[int | None, str | None]:
        """Index and text of the visible title line (an h1, else a line equal to <title>)."""
        for i in range(limit):
            if self.lines[i].heading == 1 and not self.lines[i].chrome:
                return i, self.lines[i].text
        candidates = [c for c in (self.head["og_title"], self.head["title"]) if c]
        stems = set()
        for c in candidates:
            stems.add(c)
            for sep in (" | ", " - ", " – "):
                if sep in c:
                    stems.add(c.rsplit(sep, 1)[0])
                    stems.add(c.split(sep, 1)[0])
        for i in range(limit - 1, -1, -1):
            if self.lines[i].text in stems:
                return i, self.lines[i].text
        return None, candidates[0] if candidates else None

    def _similar(self, start: int, end: int) -> list[SimilarQA]:
        lines = [ln for ln in self.lines[start:end] if not ln.chrome and not _AD.match(ln.text)]
        entries: list[SimilarQA] = []
        i, total = 0, len(lines)
        while i < total:
            found = None
            for h in range(i + 1, total):
                if _READ_MORE.match(lines[h].text):
                    break
                found = _match_header(lines, h, total)
                if found:
                    break
            if not found:
                break
            used, doctor, dept = found
            title_line = lines[i]
            question = lines[i + 1:h]
            j = h + used
            answer: list[Line] = []
            link_line = None
            while j < total:
                line = lines[j]
                if _READ_MORE.match(line.text):
                    link_line = line
                    rest = _READ_MORE.sub("", line.text).strip()
                    j += 1
                    if not rest and j < total and (
                        lines[j].text == title_line.text or lines[j].link_only
                    ):
                        link_line = Line(lines[j].text, line.links + lines[j].links)
                        j += 1
                    break
                answer.append(line)
                j += 1
                if line.text.endswith(("...", "…")) and not (
                    j < total and _READ_MORE.match(lines[j].text)
                ):
                    break
            url = _first_href(link_line) or _first_href(title_line)
            if url is None:
                for ln in question + answer:
                    url = _first_href(ln)
                    if url:
                        break
            entries.append(SimilarQA(
                url=url,
                title=n.clean_text(title_line.text),
                question_excerpt=n.join_paragraphs(ln.text for ln in question),
                doctor_name=n.doctor_name(doctor),
                department=n.department(dept),
                answer_excerpt=n.join_paragraphs(ln.text for ln in answer),
            ))
            i = j
        return entries

    def _related(self, start: int, end: int) -> list[RelatedTopic]:
        """``Topic (Department)`` entries: one per line, split over two lines, or many inline."""
        topics: list[RelatedTopic] = []
        pending: Line | None = None
        for line in self.lines[start:end]:
            if line.chrome and not line.links:
                continue
            text = line.text
            if _is_stop(text):
                break
            pos, found = 0, False
            for m in _TOPIC_PAIR.finditer(text):
                if m.start() != pos:
                    break
                topic, dept = m.group("topic").strip(), m.group("dept")
                if not topic and pending is not None:
                    topics.append(_topic(pending.text, dept, pending.links + line.links))
                elif topic:
                    topics.append(_topic(topic, dept, line.links))
                pending, found, pos = None, True, m.end()
            rest = text[pos:].strip()
            if not rest:
                continue
            if pending is not None and not found and topics:
                break  # the previous line never got its "(Department)": the list has ended
            if len(rest) > 100:
                if topics:
                    break
                pending = None
                continue
            pending = Line(rest, line.links)
        return topics


def _topic(topic: str, dept: str, links: list[tuple[str, str]]) -> RelatedTopic:
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
    if len(first) > 120 or "reply" not in first.lower() and i + 1 >= end:
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


def _fill_asker(rec: QARecord, text: str) -> None:
    """``Mr. Huang, 20~29 year old female.`` into name, gender and age band."""
    text = n.clean_text(text)
    if not text:
        return
    rec.asker_gender = n.parse_gender(text)
    name, rest = (text.split(",", 1) + [""])[:2] if "," in text else ("", text)
    if not name:
        # No comma: either only the age/gender part ("30~39 year old male.") or only a name.
        if _AGE_PART.match(text) or re.match(r"^(?:fe)?male\b", text, re.I):
            rest = text
        else:
            name, rest = text, ""
    age_match = _AGE_PART.search(rest)
    if age_match:
        rec.asker_age_min, rec.asker_age_max = n.parse_age_band(age_match.group(0))
    rec.asker_name = n.asker_name(name)


def _split_title(title: str | None, department: str | None) -> tuple[str | None, str | None]:
    """Title without its ' - <Department>' (and any site-name) suffix; and the suffix."""
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
    if department is None and len(parts) > 1:
        return " - ".join(parts[:-1]), parts[-1]
    return " - ".join(parts), None


def _only_site_after(rest: str) -> bool:
    rest = rest.strip()
    return not rest or bool(re.match(r"^[|｜\-–—]\s*", rest)) and (
        bool(_SITE_NAME.search(rest)) or len(rest.split()) <= 4
    )
