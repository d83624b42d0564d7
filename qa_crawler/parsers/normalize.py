"""Small pure functions that clean one value each: whitespace, dates, age bands, gender, names.

Each takes the text as the page shows it and returns the normalised value, or None when the
input does not hold one. None passes through unchanged.
"""

from __future__ import annotations

import datetime as dt
import re

# English function words: a sample in plain ASCII where they make a good share of the words is
# English without asking the model (py3langid's model costs 100 MB of memory once loaded, and
# nearly every page of the site is English); anything else is the model's to decide.
_ENGLISH_WORDS = frozenset(
    "the and is i to of my in it for have you what with this that on am be are was do about "
    "since has been after when from at but not or can there if".split())
_WORDS = re.compile(r"[a-z']+")


def language(text: str | None) -> str | None:
    """The ISO 639 code of the language of ``text`` (``en``), from its first 200 characters:
    plain English by its function words, anything else detected offline by py3langid; None
    for no text."""
    if not text or not text.strip():
        return None
    sample = text[:200]
    words = _WORDS.findall(sample.lower())
    # names may carry accents, quotes curl: the ASCII characters (each one byte in ASCII)
    ascii_letters = len(sample.encode("ascii", "ignore"))
    if (ascii_letters >= 0.95 * len(sample) and len(words) >= 8
            and sum(w in _ENGLISH_WORDS for w in words) >= 0.15 * len(words)):
        return "en"
    import py3langid

    code, _ = py3langid.classify(sample)
    return code


def clean_text(text: str | None) -> str | None:
    """Collapse every run of whitespace (non-breaking and Unicode spaces too) to one space, strip.

    Unicode is kept as is: only whitespace changes. Empty results become None.
    """
    if text is None:
        return None
    # str.split() splits on every Unicode space (NBSP, U+2000-U+200A, U+3000 ...) at C speed;
    # the zero-width space and the BOM are no spaces to Python but are invisible on a page.
    if "\u200b" in text or "\ufeff" in text:
        text = text.replace("\u200b", " ").replace("\ufeff", " ")
    return " ".join(text.split()) or None


def join_paragraphs(lines) -> str | None:
    """Paragraphs (or ``<br>``-separated lines) cleaned and joined with ``\\n``; empty ones dropped."""
    cleaned = [c for c in (clean_text(line) for line in lines) if c]
    return "\n".join(cleaned) or None


_DATE = re.compile(r"(?<!\d)(\d{4})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{1,2})(?!\d)")
# Dates written with a month name, as templates show them: "Aug 23, 2016", "23 August 2016",
# "August 23rd, 2016", "23-Aug-2016". Located here, read by dateutil.
_MONTHS = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
           r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
_WORD_DATE = re.compile(
    rf"(?<![\w])(?:{_MONTHS}[\s\-]+\d{{1,2}}(?:st|nd|rd|th)?,?[\s\-]+\d{{4}}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?[\s\-]+(?:of\s+)?{_MONTHS},?[\s\-]+\d{{4}})(?!\d)",
    re.I,
)
_ISO_DATE = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})")


def find_date(text: str | None) -> str | None:
    """The first date in ``text`` as shown: ``YYYY/MM/DD`` (or ``-``/``.`` separated, unpadded)
    or a date with a month name (``Aug 23, 2016``, ``23 August 2016``); else None."""
    if not text:
        return None
    found = [m for m in (_DATE.search(text), _WORD_DATE.search(text)) if m]
    return min(found, key=lambda m: m.start()).group(0) if found else None


def parse_date(text: str | None) -> dt.date | None:
    """A date as :func:`find_date` finds it, to a date; None when absent or not a real date
    (``2019/02/30``)."""
    if not text:
        return None
    m = _DATE.search(text)
    if m:
        try:
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            return None
    m = _WORD_DATE.search(text)
    if m:
        from dateutil import parser as date_parser

        try:
            return date_parser.parse(m.group(0), fuzzy=True, dayfirst=False).date()
        except (ValueError, OverflowError):
            return None
    return None


def iso_date(value: str | None) -> dt.date | None:
    """The date of a machine-readable ``<time datetime>`` value (``2016-08-23``, or a full
    timestamp, whose local date is taken as written); None when it holds none."""
    if not value:
        return None
    m = _ISO_DATE.match(value)
    if not m:
        return None
    try:
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


_BAND = re.compile(r"(\d{1,3})\s*[~\-–—]\s*(\d{1,3})")
_UNDER = re.compile(r"\b(?:under|below|less than|<)\s*(\d{1,3})\b", re.I)
_OVER = re.compile(r"\b(?:over|above|more than|>)\s*(\d{1,3})\b", re.I)
_SINGLE = re.compile(r"(?<![\d~])(\d{1,3})(?![\d~])")


def parse_age_band(text: str | None) -> tuple[int | None, int | None]:
    """Age band text to (min, max) in years, inclusive.

    ``20~29`` gives (20, 29); ``under 10`` gives (None, 9); ``over 60`` gives (60, None);
    a single age ``22`` gives (22, 22); no age gives (None, None).
    """
    if not text:
        return None, None
    if m := _BAND.search(text):
        lo, hi = int(m.group(1)), int(m.group(2))
        return (lo, hi) if lo <= hi else (hi, lo)
    if m := _UNDER.search(text):
        return None, max(int(m.group(1)) - 1, 0)
    if m := _OVER.search(text):
        return int(m.group(1)), None
    if m := _SINGLE.search(text):
        age = int(m.group(1))
        return age, age
    return None, None


_GENDER_WORDS = {
    "female": "female", "woman": "female", "girl": "female",
    "male": "male", "man": "male", "boy": "male",
}
_GENDER = re.compile(r"\b(female|male|woman|man|girl|boy)\b", re.I)


def parse_gender(text: str | None) -> str | None:
    """The gender word of an asker line (``female``/``male``); the honorific is never consulted."""
    if not text:
        return None
    words = _GENDER.findall(text)
    return _GENDER_WORDS[words[-1].lower()] if words else None


_DR = re.compile(r"^\s*(?:Dr\.?|Doctor)\s+", re.I)


def doctor_name(text: str | None) -> str | None:
    """``Dr. Gao Chunde`` to ``Gao Chunde``; hyphens and Unicode kept."""
    text = clean_text(text)
    if text is None:
        return None
    return clean_text(_DR.sub("", text).rstrip(":,"))


def department(text: str | None) -> str | None:
    """A department as shown, without surrounding brackets or punctuation."""
    text = clean_text(text)
    if text is None:
        return None
    text = text.strip(" ()[]（）:,;.")
    return clean_text(text)


_HONORIFIC_END = re.compile(r"\b(?:Mr|Mrs|Ms|Miss|Dr|Mx|Jr|Sr)\.$")


def asker_name(text: str | None) -> str | None:
    """A pseudonym as shown (``Mr. Huang``): the trailing comma or full stop removed."""
    text = clean_text(text)
    if text is None:
        return None
    text = text.rstrip(",;:")
    if text.endswith(".") and not _HONORIFIC_END.search(text):
        text = text[:-1]
    return clean_text(text)
