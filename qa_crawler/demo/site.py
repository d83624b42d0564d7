"""A deterministic generated mirror of doctorqna.com: Q&A pages, listings, FAQ pages, robots.txt."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import random
import re
import threading
import unicodedata
from array import array
from email.utils import format_datetime
from functools import lru_cache
from urllib.parse import parse_qs, quote, urlsplit

from qa_crawler.demo import words as W
from qa_crawler.record import PROVENANCE, record_fields

__all__ = ["SampleSite", "RECORD_KEYS", "TEMPLATES", "slugify"]

# Ids are an affine permutation of 0..n-1 into the site's id range: spread out and not contiguous
# like the real ids, yet computable both ways without a table (so 50 000 pages cost nothing).
ID_MIN = 10_000
ID_SPAN = 990_000  # ids fall in 10000..999999
ID_MUL = 104_729  # prime, coprime with ID_SPAN, so the map is a bijection
ID_MUL_INV = pow(ID_MUL, -1, ID_SPAN)

PER_PAGE = 20  # articles per department listing page
FAQ_LIST_LIMIT = 30  # articles shown on one FAQ topic page
EXCERPT_CHARS = 250  # length of the Similar Q&A excerpts before the "..."
SIMILAR_ONLY_PER_MILLE = 50  # ~5% of pages are linked only from other pages' Similar Q&A
NO_MORE_INFO_RATE = 0.10
NO_SIMILAR_RATE = 0.10
NO_RELATED_RATE = 0.03
MIN_TEXT_CHARS = 300  # questions and answers are longer than an excerpt, so excerpts always cut

BASE_FIRST_DAY = dt.date(2010, 1, 1)
BASE_LAST_DAY = dt.date(2024, 6, 25)  # + up to 5 reply days stays inside 2024/06
ADDED_FIRST_DAY = dt.date(2024, 7, 1)  # pages added later are newer than every original page
SITE_EPOCH = dt.datetime(2024, 12, 31, tzinfo=dt.timezone.utc)
MUTATION_EPOCH = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)

TEMPLATES = ("portal", "table", "semantic")

# The columns of QARecord that a page determines (the crawler adds the provenance ones).
RECORD_KEYS = tuple(f.name for f in record_fields() if f.name not in PROVENANCE)

HTML_TYPE = "text/html; charset=utf-8"
SHARE_BASE = "https://doctorqna.com/en/article/"  # share widgets always name the public site

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

INLINE_STYLE = (
    ".qa-header h1{margin:1rem 0}.q-body p,.a-body p{line-height:1.7;margin:.25rem 0}"
    ".q-meta,.a-date{color:#777;font-size:.9rem}.a-head{font-weight:bold;margin-top:1.5rem}"
    ".more-info{background:#fafafa;padding:1rem;border-left:4px solid #0b6e99}"
    ".related-faq li{display:inline-block;margin:0 1rem .5rem 0}.related-faq .dept{color:#888}"
    ".breadcrumb{list-style:none;display:flex;gap:.5rem;padding:0}.sidebar h3{font-size:1.1rem}"
    ".footer{background:#222;color:#ccc;padding:2rem 1rem;font-size:.85rem}"
    ".footer a{color:#fff}.navbar-nav{display:flex;flex-wrap:wrap;gap:1rem;list-style:none}"
) * 2

# Analytics and app bootstrap code pads the real pages too; parsers must skip script text.
APP_SCRIPT = (
    "window.__APP__={locale:'en',features:{share:true,ads:true,login:false},"
    "routes:{article:'/en/article/:id',faq:'/en/faq/:slug'},build:'2024.12.3'};"
    "(function(){var q=[];function t(e,d){q.push([e,d,Date.now()]);if(q.length>20)q.shift();}"
    "document.addEventListener('click',function(ev){var a=ev.target.closest('a');"
    "if(a&&a.href&&a.href.indexOf('sharer')>0){t('share',a.href);}});"
    "window.__track=t;})();"
) * 6


def slugify(text: str) -> str:
    """URL slug of a name: ASCII-folded, lower case, words joined by '-'."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    folded = folded.replace("'", "")
    return re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")


def _norm(text: str) -> str:
    return " ".join(text.split())


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


_SMALL = frozenset("a an and at for in of on or the to my when with is".split())


def _title_case(text: str) -> str:
    text = re.sub(r"^(a|an) ", "", text)
    out = []
    for n, w in enumerate(text.split(" ")):
        out.append(w if (n and w in _SMALL) else _cap(w))
    return " ".join(out)


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _excerpt(paragraphs: list[str]) -> str:
    return " ".join(paragraphs)[:EXCERPT_CHARS] + "..."


def _raw(date: dt.date) -> str:
    return date.strftime("%Y/%m/%d")


def _http_date(moment: dt.datetime) -> str:
    return format_datetime(moment, usegmt=True)


def _hash64(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


DEPT_SLUGS = [slugify(d["name"]) for d in W.DEPARTMENTS]
DEPT_BY_SLUG = {s: n for n, s in enumerate(DEPT_SLUGS)}
# Every FAQ topic of the site: (name, department index, slug).
TOPICS: list[tuple[str, int, str]] = [
    (t, d, slugify(t)) for d, dept in enumerate(W.DEPARTMENTS) for t in dept["topics"]
]
TOPIC_BY_SLUG = {slug: n for n, (_, _, slug) in enumerate(TOPICS)}
DEPT_TOPICS = [[n for n, (_, d, _) in enumerate(TOPICS) if d == dd] for dd in range(len(W.DEPARTMENTS))]
_CUM_WEIGHTS = []
_acc = 0
for _d in W.DEPARTMENTS:
    _acc += _d["weight"]
    _CUM_WEIGHTS.append(_acc)
_TOTAL_WEIGHT = _acc

# Age bands with their bounds and share of askers; None is "no age shown".
AGE_BANDS = [
    ("under 10", None, 9, 3), ("10~19", 10, 19, 8), ("20~29", 20, 29, 30), ("30~39", 30, 39, 24),
    ("40~49", 40, 49, 12), ("50~59", 50, 59, 7), ("over 60", 60, None, 6), (None, None, None, 10),
]


class SampleSite:
    """A fake doctorqna.com with ``n_pages`` Q&A pages, generated on the fly from (seed, page).

    ``render(path)`` answers any request path; ``expected_record(qa_id, base_url)`` is the
    ground truth a parser should produce for a Q&A page served under ``base_url``.
    ``similar_only_per_mille`` of the pages are linked only from the Similar Q&A of the page
    before them, which makes chains: at 750, most pages are found only through other Q&A pages.
    """

    def __init__(self, n_pages: int = 300, seed: int = 0, page_kb: int | None = None,
                 similar_only_per_mille: int = SIMILAR_ONLY_PER_MILLE):
        if not 1 <= n_pages <= ID_SPAN // 2:
            raise ValueError(f"n_pages must be between 1 and {ID_SPAN // 2}")
        self.n_initial = n_pages
        self.seed = seed
        self.page_kb = page_kb
        self.similar_only_per_mille = similar_only_per_mille
        self._offset = _hash64(f"offset:{seed}") % ID_SPAN
        self._lock = threading.Lock()
        self._dept = array("B")
        self._topic = array("B")  # index into the department's topic list
        self._template = array("B")
        self._similar_only = bytearray()
        self._versions: dict[int, int] = {}  # page index -> number of changes
        self._changed_at: dict[int, int] = {}  # page index -> mutation sequence number
        self._mutations = 0
        self._last_add = 0  # mutation sequence number of the last add_pages
        self._doctors = self._make_doctors()
        for i in range(n_pages):
            self._append_meta(i)
        # Similar Q&A picks draw from the original pages only, so adding pages never alters them.
        self._dept_initial = [array("l") for _ in W.DEPARTMENTS]
        for i in range(n_pages):
            self._dept_initial[self._dept[i]].append(i)
        self._dept_initial_listed = [
            [i for i in lst if not self._similar_only[i]] for lst in self._dept_initial
        ]
        self._rebuild_listings()
        self._core = lru_cache(maxsize=8192)(self._build_core)
        self._page = lru_cache(maxsize=1024)(self._build_page)
        self._more_info = lru_cache(maxsize=1024)(self._build_more_info)

    # ----- ids and the ground truth sets -------------------------------------------------------

    @property
    def n_total(self) -> int:
        return len(self._dept)

    def _id(self, i: int) -> str:
        return str(ID_MIN + (ID_MUL * i + self._offset) % ID_SPAN)

    def _index(self, qa_id: str) -> int | None:
        if not qa_id.isdigit() or qa_id != str(int(qa_id)):
            return None
        n = int(qa_id) - ID_MIN
        if not 0 <= n < ID_SPAN:
            return None
        i = ((n - self._offset) * ID_MUL_INV) % ID_SPAN
        return i if i < self.n_total else None

    def qa_ids(self) -> list[str]:
        """Every Q&A id of the site (the ground-truth set), original pages first."""
        return [self._id(i) for i in range(self.n_total)]

    def listed_ids(self) -> list[str]:
        """Ids shown on department listings (and possibly FAQ pages)."""
        return [self._id(i) for i in range(self.n_total) if not self._similar_only[i]]

    def similar_only_ids(self) -> list[str]:
        """Ids reachable only through other pages' Similar Q&A links."""
        return [self._id(i) for i in range(self.n_total) if self._similar_only[i]]

    def template_of(self, qa_id: str) -> str:
        """Name of the HTML template the page uses (one of TEMPLATES)."""
        return TEMPLATES[self._template[self._require(qa_id)]]

    def article_path(self, qa_id: str) -> str:
        return f"/en/article/{qa_id}"

    def department_paths(self) -> list[str]:
        """First listing page of every department, as linked from the home page."""
        return [f"/en/department/{s}" for s in DEPT_SLUGS]

    def _require(self, qa_id: str) -> int:
        i = self._index(str(qa_id))
        if i is None:
            raise KeyError(f"no Q&A page {qa_id!r} on this site")
        return i

    # ----- per-page metadata (cheap, kept for every page) --------------------------------------

    def _append_meta(self, i: int) -> None:
        h = _hash64(f"{self.seed}:{i}")
        similar_only = 0 < i < self.n_initial and (h >> 32) % 1000 < self.similar_only_per_mille
        if similar_only:
            # A similar-only page hangs off page i-1's Similar Q&A, so it shares its department.
            d = self._dept[i - 1]
        else:
            r = h % _TOTAL_WEIGHT
            d = next(n for n, c in enumerate(_CUM_WEIGHTS) if r < c)
        self._dept.append(d)
        self._topic.append((h >> 16) % len(W.DEPARTMENTS[d]["topics"]))
        self._template.append((h >> 48) % len(TEMPLATES))
        self._similar_only.append(1 if similar_only else 0)

    def _rebuild_listings(self) -> None:
        dept_listed: list[list[int]] = [[] for _ in W.DEPARTMENTS]
        topic_listed: list[list[int]] = [[] for _ in TOPICS]
        for i in range(self.n_total - 1, -1, -1):  # newest first
            if self._similar_only[i]:
                continue
            d = self._dept[i]
            dept_listed[d].append(i)
            topic_listed[DEPT_TOPICS[d][self._topic[i]]].append(i)
        self._dept_listed = dept_listed
        self._topic_listed = topic_listed

    def _make_doctors(self) -> list[list[str]]:
        rng = random.Random(f"{self.seed}:doctors")
        doctors = []
        for _ in W.DEPARTMENTS:
            names = set()
            while len(names) < 8:
                a, b = rng.sample(W.GIVEN_SYLLABLES, 2)
                given = f"{_cap(a)}-{_cap(b)}" if rng.random() < 0.3 else _cap(a + b)
                names.add(f"{rng.choice(W.SURNAMES)} {given}")
            doctors.append(sorted(names))
        return doctors

    # ----- page content ------------------------------------------------------------------------

    def _build_core(self, i: int, version: int) -> dict:
        """The parts other pages quote (listings, Similar Q&A): cheap to build."""
        rng = random.Random(f"{self.seed}:{i}:core")
        d = self._dept[i]
        dept = W.DEPARTMENTS[d]
        doctor = rng.choice(self._doctors[d])
        topic = dept["topics"][self._topic[i]]

        r = rng.random()
        gender = "female" if r < 0.55 else "male" if r < 0.95 else None
        band, age_min, age_max, _ = rng.choices(AGE_BANDS, weights=[b[3] for b in AGE_BANDS])[0]
        style = rng.random()
        if style < 0.80:
            # Honorifics disagree with the gender word on some real pages; keep that quirk.
            hon_gender = gender or rng.choice(["male", "female"])
            if rng.random() < 0.10:
                hon_gender = "male" if hon_gender == "female" else "female"
            name = f"{rng.choice(W.HONORIFICS[hon_gender])} {rng.choice(W.SURNAMES)}"
        elif style < 0.92 or band is None:
            name = rng.choice(W.PSEUDONYMS)
        else:
            name = None
        if band is None:
            age = None
        elif band == "under 10":
            age = None  # a parent writes for the child; no "I am N years old"
        elif band == "over 60":
            age = rng.randint(60, 78)
        else:
            age = rng.randint(age_min, age_max)

        symptoms = rng.sample(dept["symptoms"], 2)
        conditions = rng.sample(dept["conditions"], 2)
        test = rng.choice(dept["tests"])
        treatment = rng.choice(dept["treatments"])
        duration = rng.choice(W.DURATIONS)
        slots = {
            "symptom": symptoms[0], "symptom2": symptoms[1], "Symptom": _cap(symptoms[0]),
            "condition": conditions[0], "condition2": conditions[1],
            "Condition": _cap(conditions[0]), "Condition2": _cap(conditions[1]),
            "test": test, "Test": _cap(test), "test_bare": re.sub(r"^(a|an) ", "", test),
            "treatment": treatment, "Treatment": _cap(treatment),
            "body": rng.choice(dept["body"]), "duration": duration, "freq": rng.choice(W.FREQUENCIES),
            "age": age, "topic_l": topic.lower(), "Topic": topic, "dept": dept["name"],
            "doc": doctor.split(" ")[0],
            "hospital": rng.choice(W.HOSPITALS), "Event": rng.choice(W.EVENTS),
            "TSymptom": _title_case(symptoms[0]), "TCondition": _title_case(conditions[0]),
            "TCondition2": _title_case(conditions[1]), "TTest": _title_case(test),
            "TDuration": _title_case(duration),
        }
        title = _norm(rng.choice(W.TITLE_TEMPLATES).format(**slots))
        subject = _norm(_cap(rng.choice(W.SUBJECT_TEMPLATES).format(**slots)))

        details = list(W.QUESTION_DETAILS)
        rng.shuffle(details)
        count = rng.randint(1, 5)
        sentences = [W.QUESTION_AGE.format(**slots)] if age is not None else []
        sentences.append(rng.choice(W.QUESTION_ONSETS).format(**slots))
        sentences += [d.format(**slots) for d in details[:count]]
        while len(" ".join(sentences)) < MIN_TEXT_CHARS and count < len(details):
            sentences.append(details[count].format(**slots))
            count += 1
        if rng.random() < 0.6:
            sentences.append(rng.choice(W.QUESTION_ASKS).format(**slots))
        sentences.append(rng.choice(W.CLOSINGS))
        sentences[0] = rng.choice(W.GREETINGS).format(**slots) + " " + sentences[0]
        question = self._paragraphs(rng, sentences)

        if i < self.n_initial:
            span = (BASE_LAST_DAY - BASE_FIRST_DAY).days
            ask = BASE_FIRST_DAY + dt.timedelta(days=int((i + rng.random()) / self.n_initial * span))
        else:
            ask = ADDED_FIRST_DAY + dt.timedelta(days=min((i - self.n_initial) // 3, 170))
        reply = ask + dt.timedelta(days=rng.choice([0, 0, 0, 1, 1, 2, 3, 4, 5]))

        apool = list(W.ANSWER_SENTENCES)
        rng.shuffle(apool)
        count = rng.randint(2, 5)
        sentences = [s.format(**slots) for s in apool[:count]]
        while len(" ".join(sentences)) < MIN_TEXT_CHARS and count < len(apool):
            sentences.append(apool[count].format(**slots))
            count += 1
        if rng.random() < 0.6:
            sentences.append(rng.choice(W.ANSWER_CLOSINGS).format(**slots))
        sentences[0] = rng.choice(W.ANSWER_OPENINGS) + " " + sentences[0]
        answer = self._paragraphs(rng, sentences)
        for v in range(1, version + 1):
            # Updates go at the end: the answer's first 250 characters (quoted as excerpts on
            # other pages) stay put, so a change touches only this page.
            crng = random.Random(f"{self.seed}:{i}:change:{v}")
            answer.append(_norm(f"({v}) " + crng.choice(W.CHANGE_SENTENCES).format(**slots)))

        return {
            "i": i, "id": self._id(i), "dept": dept["name"], "dept_index": d, "doctor": doctor,
            "topic": topic, "title": title, "subject": subject, "question": question,
            "asker_name": name, "asker_gender": gender, "age_band": band, "age_min": age_min,
            "age_max": age_max, "ask": ask, "reply": reply, "answer": answer, "slots": slots,
            "question_excerpt": _excerpt(question), "answer_excerpt": _excerpt(answer),
        }

    @staticmethod
    def _paragraphs(rng: random.Random, sentences: list[str]) -> list[str]:
        sentences = [_norm(s) for s in sentences]
        if rng.random() < 0.5:
            return sentences  # one sentence per line, like the seed page's question
        out: list[str] = []
        while sentences:
            take = rng.randint(1, 3)
            out.append(" ".join(sentences[:take]))
            sentences = sentences[take:]
        return out

    def _build_page(self, i: int, version: int) -> dict:
        """Everything a Q&A page shows, More Info included."""
        page = self._skeleton(i, version)
        if page["has_more"]:
            page["more_info"] = self._more_info(i)
        return page

    def _skeleton(self, i: int, version: int) -> dict:
        rng = random.Random(f"{self.seed}:{i}:page")
        core = self._core(i, version)
        d = core["dept_index"]
        has_more = rng.random() >= NO_MORE_INFO_RATE
        target = (self.page_kb if self.page_kb is not None else rng.randint(20, 30)) * 1024

        child = i + 1 if i + 1 < self.n_initial and self._similar_only[i + 1] else None
        count = rng.randint(1, 5) if child is not None or rng.random() >= NO_SIMILAR_RATE else 0
        picks: list[int] = [child] if child is not None else []
        pool = self._dept_initial[d] if len(self._dept_initial[d]) > 6 else range(self.n_initial)
        tries = 0
        while len(picks) < count and tries < 30:
            tries += 1
            j = pool[rng.randrange(len(pool))]
            if j != i and j not in picks:
                picks.append(j)
        if child is not None and len(picks) > 1:
            picks.remove(child)
            picks.insert(rng.randrange(len(picks) + 1), child)
        similar = [self._core(j, self._versions.get(j, 0)) for j in picks]

        related: list[int] = []
        if rng.random() >= NO_RELATED_RATE:
            own = DEPT_TOPICS[d]
            primary = own[self._topic[i]]
            others = [t for t in own if t != primary]
            rng.shuffle(others)
            related = [primary] + others[: rng.randint(2, 9)]
            if rng.random() < 0.2:
                related.append(rng.randrange(len(TOPICS)))  # a neighbouring department's topic
            related = list(dict.fromkeys(related))

        listed = self._dept_initial_listed[d]
        sidebar = [self._core(j, self._versions.get(j, 0)) for j in
                   rng.sample(listed, min(5, len(listed))) if j != i]
        return {
            **core, "template": self._template[i], "has_more": has_more, "more_info": None,
            "target": target, "similar": similar, "related": [TOPICS[t] for t in related],
            "sidebar": sidebar,
        }

    def _build_more_info(self, i: int) -> list[str]:
        # Sized against the unchanged page, so later answer updates never alter More Info.
        skel = self._skeleton(i, 0)
        skel["more_info"] = []
        size = len(_RENDERERS[skel["template"]](skel).encode())
        rng = random.Random(f"{self.seed}:{i}:more")
        slots = skel["slots"]

        def paragraph(first: str | None) -> str:
            sentences = [first] if first else []
            pool = list(W.MORE_INFO_SENTENCES)
            rng.shuffle(pool)
            for template in pool[: rng.randint(4, 7)]:
                s = template.format(**slots)
                link = rng.choice(W.MORE_INFO_LINKERS)
                # Only lower-case a plain opening word; a slot may start with a proper noun.
                if link and not template.startswith(("{", "However")):
                    s = link + s[:1].lower() + s[1:]
                sentences.append(s)
            return _norm(" ".join(sentences))

        opener = paragraph(rng.choice(W.MORE_INFO_OPENERS).format(**slots))
        closer = _norm(rng.choice(W.MORE_INFO_CLOSERS).format(**slots))
        paragraphs = [opener]
        size += sum(len(_e(p).encode()) + 8 for p in (opener, closer))
        while size < skel["target"]:
            p = paragraph(None)
            paragraphs.append(p)
            size += len(_e(p).encode()) + 8
        paragraphs.append(closer)
        return paragraphs

    # ----- mutations for incremental-crawl tests -----------------------------------------------

    def add_pages(self, k: int) -> list[str]:
        """Publish k new Q&A pages; each appears first on its department's first listing page."""
        with self._lock:
            start = self.n_total
            for i in range(start, start + k):
                self._append_meta(i)
            self._rebuild_listings()
            self._mutations += 1
            self._last_add = self._mutations
            return [self._id(i) for i in range(start, start + k)]

    def change_page(self, qa_id: str) -> None:
        """Append an update to the page's answer; only that page's body changes."""
        with self._lock:
            i = self._require(qa_id)
            self._versions[i] = self._versions.get(i, 0) + 1
            self._mutations += 1
            self._changed_at[i] = self._mutations

    # ----- ground truth ------------------------------------------------------------------------

    def expected_record(self, qa_id: str, base_url: str) -> dict:
        """The record a parser should produce for this page served under ``base_url``."""
        i = self._require(qa_id)
        p = self._page(i, self._versions.get(i, 0))
        base = base_url.rstrip("/")
        return {
            "qa_id": p["id"],
            "url": f"{base}/en/article/{p['id']}",
            "title": p["title"],
            "subject": p["subject"],
            "question": "\n".join(p["question"]),
            "asker_name": p["asker_name"],
            "asker_gender": p["asker_gender"],
            "asker_age_min": p["age_min"],
            "asker_age_max": p["age_max"],
            "asked_on": p["ask"].isoformat(),
            "asked_on_raw": _raw(p["ask"]),
            "department": p["dept"],
            "doctor_name": p["doctor"],
            "answer": "\n".join(p["answer"]),
            "answered_on": p["reply"].isoformat(),
            "answered_on_raw": _raw(p["reply"]),
            "more_info": "\n".join(p["more_info"]) if p["more_info"] else None,
            "similar": [
                {"qa_id": s["id"], "url": f"{base}/en/article/{s['id']}", "title": s["title"],
                 "question_excerpt": s["question_excerpt"], "doctor_name": s["doctor"],
                 "department": s["dept"], "answer_excerpt": s["answer_excerpt"]}
                for s in p["similar"]
            ],
            "related_topics": [
                {"topic": name, "department": W.DEPARTMENTS[d]["name"], "url": f"{base}/en/faq/{slug}"}
                for name, d, slug in p["related"]
            ],
            "language": "en",
            # The sample site's pages are well formed: nothing for the parser to doubt.
            "parse_issues": [],
        }

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
            return self._ok(_simple_page("Members only", "<p>Please log in to see your questions.</p>"),
                            HTML_TYPE, SITE_EPOCH)
        if path == "/en/search":
            q = _e(query.get("q", [""])[0])
            return self._ok(_simple_page("Search", f"<p>No results for \u201c{q}\u201d.</p>"),
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
        body = _simple_page("Page not found", "<p>The page you requested does not exist.</p>")
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
        return self._ok(_RENDERERS[page["template"]](page), HTML_TYPE, modified)

    def _entry(self, j: int) -> str:
        c = self._core(j, self._versions.get(j, 0))
        return (
            # Query strings and fragments, as real listings have: the crawler fetches each page once.
            f'<li class="qa-item"><h3><a href="/en/article/{c["id"]}?from=list#reply">'
            f'{_e(c["title"])}</a></h3>'
            f'<p class="excerpt">{_e(c["question_excerpt"])}</p>'
            f'<div class="meta">Dr. {_e(c["doctor"])} reply {_e(c["dept"])} \u00b7 {_raw(c["reply"])}</div></li>'
        )

    def _home(self) -> str:
        depts = "".join(
            f'<li><a href="/en/department/{s}">{_e(d["name"])}</a></li>'
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
        return _shell("DoctorQnA - Ask a Doctor", body, zh="/zh/")

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
            f"<h1>{_e(name)}</h1><p>Questions answered by our {_e(name)} physicians, newest first.</p>"
            f'<ul class="qa-list">{items}</ul><div class="pagination">{" ".join(nav)}</div>'
        )
        return _shell(f"{name} - Questions and Answers", body)

    def _faq_index(self) -> str:
        groups = []
        for d, dept in enumerate(W.DEPARTMENTS):
            links = "".join(
                f'<li><a href="/en/faq/{TOPICS[t][2]}">{_e(TOPICS[t][0])}</a></li>' for t in DEPT_TOPICS[d]
            )
            groups.append(f"<h2>{_e(dept['name'])}</h2><ul>{links}</ul>")
        return _shell("Health FAQ", "<h1>Health FAQ</h1>" + "".join(groups))

    def _faq_topic(self, t: int) -> str:
        name, d, _ = TOPICS[t]
        dept = W.DEPARTMENTS[d]["name"]
        items = "".join(self._entry(j) for j in self._topic_listed[t][:FAQ_LIST_LIMIT])
        blurb = W.FAQ_BLURBS[t % len(W.FAQ_BLURBS)].format(topic_l=name.lower())
        body = (
            f"<h1>{_e(name)} ({_e(dept)})</h1><p>{_e(blurb)}</p>"
            f'<ul class="qa-list">{items or "<li>No questions yet.</li>"}</ul>'
            f'<p><a href="/en/department/{DEPT_SLUGS[d]}">All {_e(dept)} questions</a> \u00b7 '
            f'<a href="/en/faq/">All FAQ topics</a></p>'
        )
        return _shell(f"{name} - Health FAQ", body)


# ----- page chrome shared by the non-article pages ------------------------------------------------

def _nav_links() -> str:
    return "".join(
        f'<li class="nav-item"><a class="nav-link" href="/en/department/{s}">{_e(d["name"])}</a></li>'
        for s, d in zip(DEPT_SLUGS, W.DEPARTMENTS)
    )


_NAV = _nav_links()


def _shell(title: str, body: str, zh: str | None = None) -> str:
    zh_link = f'<li><a href="{zh}" hreflang="zh-Hant">\u4e2d\u6587</a></li>' if zh else ""
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title>"
        '<link rel="stylesheet" href="/static/app.css"></head><body>'
        '<nav class="navbar"><a class="navbar-brand" href="/"><img src="/static/logo.png" alt="DoctorQnA"></a>'
        f'<ul class="navbar-nav">{_NAV}<li><a href="/en/faq/">Health FAQ</a></li>{zh_link}</ul></nav>'
        f'<main class="container">{body}</main>'
        '<footer class="footer"><a href="/">Home</a> | <a href="/en/faq/">Health FAQ</a> | '
        '<a href="mailto:service@doctorqna.com">Contact us</a> | '
        '<a href="https://www.facebook.com/doctorqna">Facebook</a>'
        "<p>&copy; 2024 DoctorQnA. For reference only; not a substitute for a consultation.</p>"
        "</footer></body></html>\n"
    )


def _simple_page(title: str, inner: str) -> str:
    return _shell(title, f"<h1>{_e(title)}</h1>{inner}")


# ----- the three Q&A page templates ---------------------------------------------------------------

def _asker_line_parts(p: dict) -> tuple[str, str]:
    """The asker line before "Ask Date:" and the raw date, e.g. ('Mr. Huang, 20~29 year old female.', ...)."""
    desc = " ".join(x for x in (f"{p['age_band']} year old" if p["age_band"] else None,
                                p["asker_gender"]) if x)
    name = p["asker_name"]
    who = f"{name}, {desc}." if name and desc else f"{name or desc}."
    return who, _raw(p["ask"])


def asker_line(p: dict) -> str:
    """The whole asker line of a page model, as the page shows it."""
    who, raw = _asker_line_parts(p)
    return f"{who} Ask Date: {raw}"


def _share_urls(qa_id: str, title: str) -> dict[str, str]:
    page = quote(SHARE_BASE + qa_id, safe="")
    return {
        "facebook": f"https://www.facebook.com/sharer/sharer.php?u={page}",
        "twitter": f"https://twitter.com/intent/tweet?url={page}&text={quote(title, safe='')}",
        "line": f"https://social-plugins.line.me/lineit/share?url={page}",
    }


def _render_portal(p: dict) -> str:
    """Bootstrap-style divs with nav, breadcrumb, ads, sidebar, hidden modal and scripts."""
    qid, slug = p["id"], DEPT_SLUGS[p["dept_index"]]
    share = _share_urls(qid, p["title"])
    who, raw = _asker_line_parts(p)
    name_html = ""
    if p["asker_name"]:
        rest = who[len(p["asker_name"]):]
        name_html = f'<span class="asker-name">{_e(p["asker_name"])}</span>{_e(rest)}'
    else:
        name_html = f'<span class="asker-info">{_e(who)}</span>'
    out = [
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
        f"<title>{_e(p['title'])} - {_e(p['dept'])}</title>\n",
        f'<link rel="canonical" href="/en/article/{qid}">\n',
        f'<link rel="alternate" hreflang="zh-Hant" href="/zh/article/{qid}">\n',
        '<link rel="stylesheet" href="/static/app.css">\n',
        f"<style>{INLINE_STYLE}</style>\n",
        "<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments);}"
        "gtag('js',new Date());gtag('config','G-DQNA0001');</script>\n",
        '<script async src="https://pagead2.googlesyndication.com/pagead/js/adsbygoogle.js?'
        'client=ca-pub-0000000000000000" crossorigin="anonymous"></script>\n</head>\n',
        '<body class="page-article">\n<nav class="navbar navbar-expand-lg">',
        '<a class="navbar-brand" href="/static/logo.png"><img src="/static/logo.png" alt="DoctorQnA"></a>',
        f'<ul class="navbar-nav"><li class="nav-item"><a class="nav-link" href="/">Home</a></li>{_NAV}',
        '<li class="nav-item"><a class="nav-link" href="/en/faq/">Health FAQ</a></li>',
        f'<li class="nav-item"><a class="nav-link" href="/zh/article/{qid}" hreflang="zh-Hant">\u4e2d\u6587</a></li></ul>',
        '<form class="search" action="/en/search" method="get"><input name="q"><button>Search</button></form>',
        "</nav>\n<div class=\"container\">\n",
        f'<ol class="breadcrumb"><li><a href="/">Home</a></li><li><a href="/en/department/{slug}">{_e(p["dept"])}</a></li></ol>\n',
        '<div class="row"><div class="col-lg-8 main-col">\n',
        f'<div class="qa-header"><h1 class="qa-title">{_e(p["title"])}<span class="qa-dept"> - {_e(p["dept"])}</span></h1></div>\n',
        '<div class="share-bar"><span>Share to:</span> ',
        f'<a class="share share-fb" href="{_e(share["facebook"])}" aria-label="Facebook"><i class="icon-fb"></i></a>',
        f'<a class="share share-tw" href="{_e(share["twitter"])}" aria-label="Twitter"><i class="icon-tw"></i></a>',
        f'<a class="share share-line" href="{_e(share["line"])}" aria-label="LINE"><i class="icon-line"></i></a></div>\n',
        '<div class="ad-slot"><ins class="adsbygoogle" data-ad-slot="1234567890"></ins>'
        "<script>(adsbygoogle=window.adsbygoogle||[]).push({});</script></div>\n",
        '<div class="question-box">\n',
        f'<h2 class="q-subject">{_e(p["subject"])}</h2>\n<div class="q-body">',
        "".join(f"<p>{_e(x)}</p>\n" for x in p["question"]),
        f'</div>\n<div class="q-meta">{name_html} <span class="ask-date">Ask Date: {raw}</span></div>\n</div>\n',
        '<div class="answer-box">\n',
        f'<div class="a-head">Dr. <span class="doctor">{_e(p["doctor"])}</span> reply ',
        f'<a href="/en/department/{slug}">{_e(p["dept"])}</a></div>\n<div class="a-body">',
        "".join(f"<p>{_e(x)}</p>\n" for x in p["answer"]),
        f'</div>\n<div class="a-date">Reply Date: {_raw(p["reply"])}</div>\n</div>\n',
        '<div class="ad-slot ad-inline">Advertisement</div>\n',
    ]
    if p["more_info"] is not None:
        out.append('<div class="more-info"><h3>More Info</h3>\n')
        out.extend(f"<p>{_e(x)}</p>\n" for x in p["more_info"])
        out.append("</div>\n")
    if p["similar"]:
        out.append('<div class="similar"><h3>Similar Q&amp;A</h3>\n')
        for s in p["similar"]:
            href = f"/en/article/{s['id']}"
            out.append(
                f'<div class="similar-item"><h4><a href="{href}">{_e(s["title"])}</a></h4>'
                f'<p class="excerpt">{_e(s["question_excerpt"])}</p>'
                f'<div class="similar-reply"><div class="who">Dr. {_e(s["doctor"])} reply {_e(s["dept"])}</div>'
                f'<p>{_e(s["answer_excerpt"])}</p></div>'
                f'<a class="read-more" href="{href}">[Read More] {_e(s["title"])}</a></div>\n'
            )
        out.append("</div>\n")
    if p["related"]:
        out.append('<div class="related-faq"><h3>Related FAQ</h3><ul>')
        for name, d, tslug in p["related"]:
            out.append(f'<li><a href="/en/faq/{tslug}">{_e(name)}</a>'
                       f'<div class="dept">({_e(W.DEPARTMENTS[d]["name"])})</div></li>')
        out.append("</ul></div>\n")
    out.append('</div>\n<aside class="col-lg-4 sidebar"><h3>Popular Questions</h3><ul>')
    out.extend(f'<li><a href="/en/article/{s["id"]}?utm_source=sidebar">{_e(s["title"])}</a></li>'
               for s in p["sidebar"])
    out.append('</ul><div class="ad-slot">Advertisement</div></aside>\n</div>\n</div>\n')
    out.append('<div class="modal d-none" id="login-modal"><p>Please log in to ask a question.</p>'
               '<a href="/en/private/login">Log in</a></div>\n')
    out.append(
        '<footer class="footer"><a href="/">Home</a> | <a href="/en/faq/">Health FAQ</a> | '
        '<a href="mailto:service@doctorqna.com">Contact us</a> | '
        '<a href="https://www.facebook.com/doctorqna">Facebook</a>'
        "<p>&copy; 2024 DoctorQnA. The content is for reference only and does not replace a "
        "medical consultation.</p></footer>\n"
    )
    out.append(f"<script>{APP_SCRIPT}</script>\n</body>\n</html>\n")
    return "".join(out)


def _render_table(p: dict) -> str:
    """Old-school table layout: lines separated by <br>, links relative to the document."""
    qid = p["id"]
    share = _share_urls(qid, p["title"])
    br = "<br>\n"
    out = [
        '<html>\n<head>\n<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\n',
        f"<title>{_e(p['title'])} - {_e(p['dept'])}</title>\n",
        '<link href="../../static/app.css" rel="stylesheet" type="text/css">\n</head>\n',
        '<body bgcolor="#ffffff" topmargin="0">\n',
        '<table width="100%" border="0" cellpadding="0" cellspacing="0" class="top"><tr>',
        '<td><a href="../../"><img src="../../static/logo.png" alt="DoctorQnA" border="0"></a></td>',
        '<td align="right"><a href="../../">Home</a> | <a href="../faq/">Health FAQ</a> | ',
        f'<a href="../../zh/article/{qid}">\u4e2d\u6587</a> | <a href="mailto:service@doctorqna.com">Contact</a></td>',
        "</tr></table>\n",
        '<table width="760" align="center" border="0" cellpadding="6" class="main">\n',
        f'<tr><td class="title"><font size="5"><b>{_e(p["title"])} - {_e(p["dept"])}</b></font></td></tr>\n',
        f'<tr><td class="share">Share to: <a href="{_e(share["twitter"])}">Twitter</a> '
        f'<a href="{_e(share["facebook"])}">Facebook</a></td></tr>\n',
        f'<tr><td class="q"><b>{_e(p["subject"])}</b>{br}{br}',
        br.join(_e(x) for x in p["question"]),
        f"{br}{br}{_e(asker_line(p))}</td></tr>\n",
        f'<tr><td class="a"><b>Dr. {_e(p["doctor"])} reply {_e(p["dept"])}</b>{br}{br}',
        br.join(_e(x) for x in p["answer"]),
        f"{br}{br}Reply Date: {_raw(p['reply'])}</td></tr>\n",
    ]
    if p["more_info"] is not None:
        out.append(f'<tr><td class="more"><b>More Info</b>{br}{br}')
        out.append((br + br).join(_e(x) for x in p["more_info"]))
        out.append("</td></tr>\n")
    if p["similar"]:
        out.append(f"<tr><td><b>Similar Q&amp;A</b>{br}<table class=\"sim\" width=\"100%\">\n")
        for s in p["similar"]:
            out.append(
                f'<tr><td><b>{_e(s["title"])}</b>{br}{_e(s["question_excerpt"])}{br}{br}'
                f'Dr. {_e(s["doctor"])} reply {_e(s["dept"])}{br}{_e(s["answer_excerpt"])}{br}{br}'
                f'[Read More] <a href="../article/{s["id"]}">{_e(s["title"])}</a></td></tr>\n'
            )
        out.append("</table></td></tr>\n")
    if p["related"]:
        out.append(f"<tr><td class=\"faq\"><b>Related FAQ</b>{br}")
        out.append("".join(
            f'<a href="../faq/{tslug}">{_e(name)}</a>{br}({_e(W.DEPARTMENTS[d]["name"])}){br}'
            for name, d, tslug in p["related"]
        ))
        out.append("</td></tr>\n")
    out.append(
        "</table>\n<table width=\"760\" align=\"center\" class=\"foot\"><tr><td>"
        'Copyright &copy; DoctorQnA. All rights reserved. | <a href="../../">Home</a>'
        "</td></tr></table>\n"
        f"<script type=\"text/javascript\">{APP_SCRIPT[:600]}</script>\n</body>\n</html>\n"
    )
    return "".join(out)


def _render_semantic(p: dict) -> str:
    """HTML5 article/section markup with <time> elements and an inline Related FAQ list."""
    qid = p["id"]
    share = _share_urls(qid, p["title"])
    who, raw = _asker_line_parts(p)
    mail = f"mailto:?subject={quote(p['title'])}&body={quote(SHARE_BASE + qid)}"
    dept_nav = "".join(
        f'<li><a href="/en/department/{s}">{_e(d["name"])}</a></li>' for s, d in zip(DEPT_SLUGS, W.DEPARTMENTS)
    )
    out = [
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
        f"<title>{_e(p['title'])} - {_e(p['dept'])}</title>\n",
        f'<meta name="description" content="{_e(p["subject"])}">\n',
        f'<meta property="og:title" content="{_e(p["title"])}">\n',
        '<link rel="stylesheet" href="/static/app.css">\n</head>\n<body>\n',
        '<header class="site-header"><a href="/" class="logo"><img src="/static/logo.png" alt="DoctorQnA home"></a>\n',
        f'<nav aria-label="Departments"><ul>{dept_nav}<li><a href="/en/faq/">Health FAQ</a></li></ul></nav>\n',
        f'<a href="/zh/article/{qid}" lang="zh-Hant">\u7e41\u9ad4\u4e2d\u6587</a></header>\n',
        '<main>\n<article class="qa">\n<header>\n',
        f'<h1>{_e(p["title"])} - {_e(p["dept"])}</h1>\n',
        f'<div class="share">Share to: <a href="{_e(share["facebook"])}"><img src="/static/logo.png" alt=""></a> ',
        f'<a href="{_e(share["twitter"])}"><img src="/static/logo.png" alt=""></a> ',
        f'<a href="{_e(mail)}"><img src="/static/logo.png" alt=""></a></div>\n</header>\n',
        '<section class="question">\n',
        f"<h2>{_e(p['subject'])}</h2>\n",
        "".join(f"<p>{_e(x)}</p>\n" for x in p["question"]),
        f'<p class="asker">{_e(who)} Ask Date: <time datetime="{p["ask"].isoformat()}">{raw}</time></p>\n',
        "</section>\n<section class=\"reply\">\n",
        f"<h2>Dr. {_e(p['doctor'])} reply {_e(p['dept'])}</h2>\n",
        "".join(f"<p>{_e(x)}</p>\n" for x in p["answer"]),
        f'<footer>Reply Date: <time datetime="{p["reply"].isoformat()}">{_raw(p["reply"])}</time></footer>\n',
        "</section>\n",
    ]
    if p["more_info"] is not None:
        out.append('<section class="more-info">\n<h2>More Info</h2>\n')
        out.extend(f"<p>{_e(x)}</p>\n" for x in p["more_info"])
        out.append("</section>\n")
    if p["similar"]:
        out.append('<section class="similar">\n<h2>Similar Q&amp;A</h2>\n')
        for s in p["similar"]:
            out.append(
                f'<article>\n<h3>{_e(s["title"])}</h3>\n<p>{_e(s["question_excerpt"])}</p>\n'
                f'<p><strong>Dr. {_e(s["doctor"])} reply {_e(s["dept"])}</strong></p>\n'
                f'<p>{_e(s["answer_excerpt"])}</p>\n'
                f'<p><a href="/en/article/{s["id"]}"><span>[Read More]</span> {_e(s["title"])}</a></p>\n'
                "</article>\n"
            )
        out.append("</section>\n")
    if p["related"]:
        out.append('<section class="related">\n<h2>Related FAQ</h2>\n<ul>\n')
        out.extend(
            f'<li><a href="/en/faq/{tslug}">{_e(name)}</a> <small>({_e(W.DEPARTMENTS[d]["name"])})</small></li>\n'
            for name, d, tslug in p["related"]
        )
        out.append("</ul>\n</section>\n")
    out.append(
        "</article>\n</main>\n"
        '<footer class="site-footer"><p>&copy; 2024 DoctorQnA \u00b7 '
        '<a href="mailto:service@doctorqna.com">Contact</a> \u00b7 <a href="/en/faq/">Health FAQ</a></p>'
        "</footer>\n</body>\n</html>\n"
    )
    return "".join(out)


_RENDERERS = (_render_portal, _render_table, _render_semantic)
