"""The sample site's data: which pages exist, what each says, and what the parser should read
from it (``expected_record``). Deterministic from (seed, page); no HTML here (templates.py draws
it) and no HTTP (site.py answers requests)."""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import random
import re
import threading
import unicodedata
from array import array
from functools import lru_cache

from qa_crawler.demo import words as W
from qa_crawler.record import PROVENANCE, record_fields

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



def _excerpt(paragraphs: list[str]) -> str:
    return " ".join(paragraphs)[:EXCERPT_CHARS] + "..."


def raw_date(date: dt.date) -> str:
    return date.strftime("%Y/%m/%d")



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



class SiteModel:
    """The data of a fake doctorqna.com with ``n_pages`` Q&A pages, generated on the fly from (seed, page).

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
        size = len(self._render_article(skel).encode())
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
        size += sum(len(html.escape(p, quote=True).encode()) + 8 for p in (opener, closer))
        while size < skel["target"]:
            p = paragraph(None)
            paragraphs.append(p)
            size += len(html.escape(p, quote=True).encode()) + 8
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
            "asked_on_raw": raw_date(p["ask"]),
            "department": p["dept"],
            "doctor_name": p["doctor"],
            "answer": "\n".join(p["answer"]),
            "answered_on": p["reply"].isoformat(),
            "answered_on_raw": raw_date(p["reply"]),
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

    def _render_article(self, page: dict) -> str:
        """The page's HTML, to size its text for ``page_kb``: the site that serves it says how."""
        raise NotImplementedError
