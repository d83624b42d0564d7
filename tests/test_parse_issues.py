"""The parser says when it is unsure: each kind of parse issue, from small inline pages."""

import pytest

from qa_crawler.parsers.doctorqna import NotQAPage, explain_page, parse_page

URL = "https://doctorqna.com/en/article/777"


def page(*, title="Sore Throat for a Week - Otolaryngology", asker="Mr. Lee, 30~39 year old male.",
         ask="Ask Date: 2020/01/02", header="Dr. Lin Yu reply Otolaryngology",
         reply="Reply Date: 2020/01/03", similar=None, extra_body="") -> str:
    similar = similar if similar is not None else (
        '<p><a href="/en/article/778">Throat Pain When Swallowing</a></p>'
        "<p>My throat hurts when I swallow ...</p><p>Dr. Lin Yu reply Otolaryngology</p>"
        '<p>Hello: Pain on swallowing for more than ...</p>'
        '<p><a href="/en/article/778">[Read More]</a></p>')
    return f"""<html><head><title>{title}</title></head><body>
<h1>{title}</h1><p>Share to:</p><h2>Throat still sore</h2>
<p>My throat has been sore for a week and I have a mild fever.</p>
<p>{asker} {ask}</p><p>{header}</p>
<p>Please drink plenty of water and see a doctor if the fever rises.</p>{extra_body}
<p>{reply}</p>
<h2>Similar Q&amp;A</h2>{similar}
<h2>Related FAQ</h2><p><a href="/en/faq/sore-throat">Sore Throat</a> (Otolaryngology)</p>
</body></html>"""


def issues(html: str) -> list[str]:
    return parse_page(html.encode(), URL).record.parse_issues


def test_a_clean_page_has_no_issues():
    assert issues(page()) == []


def test_a_title_department_that_disagrees_with_the_reply_header_is_reported():
    got = issues(page(title="Sore Throat for a Week - Pediatrics"))
    assert got == ["department_mismatch: title 'Pediatrics', reply header 'Otolaryngology'"]
    rec = parse_page(page(title="Sore Throat for a Week - Pediatrics").encode(), URL).record
    assert rec.title == "Sore Throat for a Week" and rec.department == "Otolaryngology"


def test_a_question_shaped_title_end_is_not_taken_for_a_department():
    rec = parse_page(page(title="Sore Throat - What Should I Do").encode(), URL).record
    assert rec.title == "Sore Throat - What Should I Do" and rec.parse_issues == []


@pytest.mark.parametrize("ask, raw", [("Ask Date: 2020/13/45", "2020/13/45"),
                                      ("Ask Date: yesterday evening", "yesterday evening"),
                                      ("Ask Date: 31 February 2020", "31 February 2020")])
def test_an_unreadable_ask_date_is_kept_raw_and_reported_never_as_missing(ask, raw):
    rec = parse_page(page(ask=ask).encode(), URL)
    assert rec.record.asked_on is None and rec.record.asked_on_raw == raw
    assert rec.record.parse_issues == [f"unreadable_date: asked_on {raw!r}"]
    assert "asked_on" not in rec.missing


def test_a_missing_reply_date_is_reported_as_missing():
    got = issues(page(reply=""))
    assert got == ["missing: answered_on"]


def test_a_label_word_inside_the_department_is_a_leak():
    got = issues(page(header="Dr. Lin Yu reply reply Otolaryngology"))
    assert "label_leak: department 'reply'" in got


def test_read_more_inside_a_similar_excerpt_is_a_leak_when_it_is_not_a_link():
    similar = ('<p><a href="/en/article/778">Throat Pain When Swallowing</a></p>'
               "<p>My throat hurts when I swallow ...</p><p>Dr. Lin Yu reply Otolaryngology</p>"
               "<p>Hello: Pain on swallowing [Read More] for more than ...</p>")
    got = issues(page(similar=similar))
    assert "label_leak: similar[1].answer_excerpt '[Read More]'" in got


def test_a_similar_entry_without_any_link_is_reported():
    similar = ("<p><b>Throat Pain When Swallowing</b></p><p>My throat hurts when I swallow ...</p>"
               "<p>Dr. Lin Yu reply Otolaryngology</p><p>Hello: Pain on swallowing for more ...</p>")
    rec = parse_page(page(similar=similar).encode(), URL).record
    assert rec.similar[0].url is None and rec.similar[0].title == "Throat Pain When Swallowing"
    assert rec.parse_issues == ["similar_no_link: entry 1"]


def test_an_asker_line_that_cannot_be_split_is_reported():
    got = issues(page(asker="Posted by a very worried mother of two small children"))
    assert got == ["asker_unsplit: 'Posted by a very worried mother of two small children'"]


def test_an_asker_line_without_its_comma_is_still_split():
    rec = parse_page(page(asker="Ms. Lin 30~39 year old female.").encode(), URL).record
    assert (rec.asker_name, rec.asker_age_min, rec.asker_age_max, rec.asker_gender) == (
        "Ms. Lin", 30, 39, "female")
    assert rec.parse_issues == []


def test_was_this_helpful_and_view_counters_never_reach_the_answer():
    rec = parse_page(page(extra_body="<p>Was this answer helpful? Yes (2) No (0)</p>"
                          "<p>1,024 views</p>").encode(), URL).record
    assert rec.answer == "Please drink plenty of water and see a doctor if the fever rises."


def test_explain_gives_every_line_a_part_and_the_reason_for_a_refusal():
    lines, reason = explain_page(page().encode(), URL)
    parts: dict[str, str] = {}
    for part, text in lines:
        parts.setdefault(text, part)  # a text's first line
    assert reason is None
    assert parts["Sore Throat for a Week - Otolaryngology"] == "title"
    assert parts["Throat still sore"] == "subject"
    assert parts["Dr. Lin Yu reply Otolaryngology"] == "reply header"
    assert parts["Throat Pain When Swallowing"] == "similar[0]"
    assert parts["Sore Throat (Otolaryngology)"] == "related[0]"
    item = ("<p>Ms. Wu, 20~29 year old female. Ask Date: 2020/02/02</p>"
            "<p>Dr. Wang Li reply Otolaryngology</p><p>Gargle with warm salt water.</p>"
            "<p>Reply Date: 2020/02/03</p>")
    listing = page().replace("<h2>Similar", item + "<h2>Similar")
    with pytest.raises(NotQAPage):
        parse_page(listing.encode(), URL)
    _, reason = explain_page(listing.encode(), URL)
    assert reason == "a listing (2 asker lines, each with a reply and a reply date)"


SIDEBAR = """<aside><h3>Latest questions</h3>
<div><a href="/en/article/901">Ear Pain on Flights</a><p>Mr. Ko, 20~29 year old male. Ask Date:
2021/03/03</p><p>Dr. Sun Mei reply Otolaryngology</p><a href="/en/article/901">[Read More]</a></div>
<div><a href="/en/article/902">Hoarse Voice</a><p>Ms. Yu, 40~49 year old female. Ask Date:
2021/03/04</p><p>Dr. Sun Mei reply Otolaryngology</p><a href="/en/article/902">[Read More]</a></div>
</aside>"""


@pytest.mark.parametrize("where", ["before", "after"])
def test_a_sidebar_of_recent_questions_does_not_make_a_qa_page_a_listing(where):
    html = page()
    html = (html.replace("<body>", "<body>" + SIDEBAR) if where == "before"
            else html.replace("<h2>Similar", SIDEBAR + "<h2>Similar"))
    rec = parse_page(html.encode(), URL).record
    assert (rec.asker_name, rec.doctor_name, rec.answered_on.isoformat()) == (
        "Mr. Lee", "Lin Yu", "2020-01-03")
    assert rec.question == "My throat has been sore for a week and I have a mild fever."
    assert rec.parse_issues == []


def test_a_question_in_another_language_is_detected_and_flagged():
    html = page().replace("Throat still sore", "喉嚨痛了一個星期").replace(
        "My throat has been sore for a week and I have a mild fever.",
        "醫師您好，我喉嚨痛了一個星期，還有一點發燒，請問需要看醫生嗎？")
    rec = parse_page(html.encode(), URL).record
    assert rec.language == "zh"
    assert rec.parse_issues == ["language: zh"]


def test_an_english_question_is_english():
    assert parse_page(page().encode(), URL).record.language == "en"
