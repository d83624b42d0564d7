"""Table-driven tests of the small cleaning functions, one row per input the site shows."""

import datetime as dt

import pytest

from qa_crawler.parsers import normalize as n


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("2016/08/23", dt.date(2016, 8, 23)),
        ("Ask Date: 2016/08/23", dt.date(2016, 8, 23)),
        ("2016-8-3", dt.date(2016, 8, 3)),
        ("2016.08.23", dt.date(2016, 8, 23)),
        ("2016/02/30", None),  # not a calendar date
        ("23/08/2016", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_date_gives_iso_dates_and_none_for_non_dates(raw, expected):
    assert n.parse_date(raw) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("20~29", (20, 29)),
        ("20 ~ 29 year old", (20, 29)),
        ("under 10", (None, 9)),
        ("over 60", (60, None)),
        ("22 years old", (22, 22)),
        ("", (None, None)),
        (None, (None, None)),
    ],
)
def test_parse_age_band_gives_inclusive_bounds_and_open_ends(raw, expected):
    assert n.parse_age_band(raw) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Mr. Huang, 20~29 year old female.", "female"),
        ("Ms. Chang, 40~49 year old male.", "male"),
        ("30~39 year old male", "male"),
        ("Mr. Huang", None),
        (None, None),
    ],
)
def test_parse_gender_uses_the_gender_word_not_the_honorific(raw, expected):
    assert n.parse_gender(raw) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Dr. Gao Chunde", "Gao Chunde"),
        ("Dr Lin Yu-Hsuan", "Lin Yu-Hsuan"),
        ("Doctor  Wang\u00a0Ming", "Wang Ming"),
        ("Chen Ai", "Chen Ai"),
    ],
)
def test_doctor_name_drops_the_title_and_keeps_hyphens(raw, expected):
    assert n.doctor_name(raw) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [("(Neurology)", "Neurology"), (" Obstetrics and Gynecology ", "Obstetrics and Gynecology"),
     ("（Dermatology）", "Dermatology")],
)
def test_department_strips_brackets(raw, expected):
    assert n.department(raw) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Mr. Huang,", "Mr. Huang"),
        ("Ms. Chen.", "Ms. Chen"),
        ("Mr.", "Mr."),
        ("Anonymous", "Anonymous"),
    ],
)
def test_asker_name_removes_trailing_punctuation_but_not_honorific_dots(raw, expected):
    assert n.asker_name(raw) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("  a\u00a0\u00a0b \t c\n", "a b c"),
        ("Ménière’s 眩暈", "Ménière’s 眩暈"),
        ("\u3000", None),
        (None, None),
    ],
)
def test_clean_text_normalises_whitespace_only(raw, expected):
    assert n.clean_text(raw) == expected


def test_join_paragraphs_drops_empty_lines_and_joins_with_newline():
    assert n.join_paragraphs([" one ", "", "\u00a0", "two  words"]) == "one\ntwo words"
    assert n.join_paragraphs([]) is None


@pytest.mark.parametrize("text, code", [
    ("Hello doctor, I have had a sore throat for a week and a mild fever.", "en"),
    ("Bonjour docteur, j'ai mal à la gorge depuis une semaine et un peu de fièvre.", "fr"),
    ("Hola doctor, tengo dolor de garganta desde hace una semana y un poco de fiebre.", "es"),
    ("醫師您好，我喉嚨痛了一個星期，還有一點發燒。", "zh"),
    ("Muscle twitching and ALS", "en"),  # too short for the fast path: the model says so
    ("", None), (None, None),
])
def test_language_of_a_question(text, code):
    assert n.language(text) == code
