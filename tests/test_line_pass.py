"""The native line pass reads every page exactly as the pure-Python reference reader does."""

import os
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa_crawler.demo.site import TEMPLATES, SampleSite
from qa_crawler.parsers import reader
from qa_crawler.parsers.doctorqna import NotQAPage, _document
from tests.conftest import FIXTURES

URL = "https://doctorqna.com/en/article/110525"


def _is_document(path: Path) -> bool:
    try:
        _document(path.read_bytes(), None)
    except NotQAPage:  # binary, empty: refused before any reading
        return False
    return True


SAVED = [p for p in sorted(FIXTURES.rglob("*.html")) if _is_document(p)]


def both_readings(body: bytes, url: str = URL):
    root = _document(body, None)
    native = [line.fields() for line in reader._native.read_lines(root, url)]
    reference = [line.fields() for line in reader.read_lines_reference(root, url)]
    return native, reference


def test_the_native_line_pass_is_built_and_used():
    assert reader._native is not None, "qa_crawler/parsers/_linewalk.pyx was not compiled"
    root = _document((FIXTURES / "pages" / "seed_bootstrap" / "page.html").read_bytes(), None)
    assert [ln.fields() for ln in reader.read_lines(root, URL)] == [
        ln.fields() for ln in reader._native.read_lines(root, URL)]


@pytest.mark.parametrize("path", SAVED, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_every_saved_page_reads_the_same_lines(path: Path):
    native, reference = both_readings(path.read_bytes())
    assert native == reference


def test_every_demo_site_template_reads_the_same_lines():
    site = SampleSite(n_pages=4 * len(TEMPLATES), seed=3)
    seen = set()
    for qa_id in site.qa_ids():
        seen.add(site.template_of(qa_id))
        _, _, body = site.render(site.article_path(qa_id))
        native, reference = both_readings(body, "http://127.0.0.1:8000" + site.article_path(qa_id))
        assert native == reference, qa_id
    assert seen == set(TEMPLATES)


@pytest.mark.parametrize("html", [
    # hidden by attributes, chrome by tag and by class, a chrome footer that holds a label
    b"<body><div hidden>x</div><p style='display: none'>y</p><nav><a href='/a'>Home</a></nav>"
    b"<span class='share-bar'>Share <a href='/s'>f</a></span> text<footer>Reply Date: 2016/08/23"
    b"</footer><footer>(c) 2020</footer></body>",
    # <pre> newlines, <br><br> containers, a link spanning blocks, <time> without text
    b"<body><pre>a\nb <a href='/x'>c\nd</a>\ne</pre><div>one<br><br>two<br>three</div>"
    b"<a href='/card'><h3>Title</h3><p>Excerpt ...</p></a><p> <time datetime='2016-08-23'>"
    b"</time> </p><p>Ask Date:</p></body>",
    # text after the body, no body at all, comments and odd whitespace
    b"<html><body><h2>Head <small>Dept</small></h2>\xe2\x80\x8b\xc2\xa0</body>tail</html>",
    b"<p>only \t a\xc2\xa0paragraph</p><!-- c --><p><a href='javascript:x'>js</a><a href=''>e</a>"
    b"<a href='#top'>top</a><a href='http://[bad'>bad</a></p>",
])
def test_markup_edge_cases_read_the_same_lines(html):
    native, reference = both_readings(b"<!DOCTYPE html><html>" + html)
    assert native == reference
    assert reference  # the case reads something


def test_a_page_nested_far_past_pythons_recursion_limit_reads_the_same_lines():
    html = "<body>" + "<div>" * 1500 + "<p>deep <b>text</b></p>" + "</div>" * 1500 + "</body>"
    native, reference = both_readings(html.encode())
    assert native == reference
    assert [f[0] for f in reference] == ["deep text"]


UTF8 = "text/html; charset=utf-8"


@pytest.mark.parametrize("body, content_type, as_is", [
    ("<p>Dr. Gao 高 reply — Neurology</p>".encode(), UTF8, True),
    ("<meta charset='utf-8'><p>高</p>".encode(), None, True),
    (b"\xef\xbb\xbf<p>with a BOM</p>", UTF8, False),
    (b"<p>invalid \xff byte</p>", UTF8, False),
    ("<p>a real \ufffd on the page</p>".encode(), UTF8, False),
    ("<meta charset='latin-1'><p>caf\xe9</p>".encode("latin-1"), None, False),
])
def test_a_utf8_body_is_parsed_as_it_is_into_the_tree_its_text_gives(body, content_type, as_is):
    from lxml import etree

    from qa_crawler.parsers.doctorqna import _decoded
    from qa_crawler.parsers.reader import parse_html

    text, utf8 = _decoded(body, content_type)
    assert (utf8 is body) is as_is
    assert etree.tostring(parse_html(text, utf8)) == etree.tostring(parse_html(text))


# Mangled pages (markup cut, shuffled, tags dropped, bytes flipped): whatever tree libxml2 makes
# of them, both readings of it are the same.
_MANGLE_SOURCES = [(FIXTURES / "pages" / case / "page.html").read_bytes()
                   for case in ("seed_bootstrap", "seed_table", "x_split_inline_labels",
                                "x_br_separated_container", "unseen_wordpress")]


@settings(max_examples=int(os.environ.get("QA_HYPOTHESIS_EXAMPLES", "60")), deadline=None,
          derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_MANGLE_SOURCES), st.randoms(use_true_random=False),
       st.sampled_from(["cut", "shuffle", "strip_tags", "flip"]))
def test_mangled_pages_read_the_same_lines(source, rnd, how):
    if how == "cut":
        body = source[: rnd.randrange(len(source))]
    elif how == "shuffle":
        parts = source.split(b"<")
        rnd.shuffle(parts)
        body = b"<".join(parts)
    elif how == "strip_tags":
        text = source.decode("latin-1")  # byte for byte, whatever the page's encoding
        body = re.sub(r"<[^>]+>", lambda m: "" if rnd.random() < 0.3 else m.group(0),
                      text).encode("latin-1")
    else:
        data = bytearray(source)
        for _ in range(rnd.randrange(1, 40)):
            data[rnd.randrange(len(data))] = rnd.randrange(256)
        body = bytes(data)
    try:
        root = _document(body, None)
    except NotQAPage:
        return
    native = [line.fields() for line in reader._native.read_lines(root, URL)]
    assert native == [line.fields() for line in reader.read_lines_reference(root, URL)]


# Characters that test every branch of the compiled whitespace collapse: every space Python's
# str.split() splits at below U+0100 (the 1-byte strings read in place) and above it, the
# zero-width space and BOM, and letters of each string width.
_CLEAN_ALPHABET = (" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0" "\u1680\u2000\u2007\u200a\u2028\u3000"
                   "\u200b\ufeff" "ab\xe9\xff\u0100\u9ad8\U0001f600")


@settings(max_examples=int(os.environ.get("QA_HYPOTHESIS_EXAMPLES", "60")) * 10, deadline=None,
          derandomize=True)
@given(st.text(alphabet=_CLEAN_ALPHABET, max_size=40))
def test_the_compiled_clean_text_is_the_reference_clean_text(text):
    from qa_crawler.parsers.normalize import clean_text

    assert reader._native.clean_text(text) == clean_text(text)


@pytest.mark.parametrize("text", ["", " ", "a", " a ", "a  b", "a\xa0b", "\xa0a\x85", "a\tb",
                                  "clean already", "caf\xe9  \xe9t\xe9", "\u200ba\ufeff",
                                  "\u9ad8  x", "x\u3000y", "\U0001f600 \n"])
def test_the_compiled_clean_text_on_each_string_width(text):
    from qa_crawler.parsers.normalize import clean_text

    assert reader._native.clean_text(text) == clean_text(text)



# ASCII letters and the characters next to them ("@[`{" bound the ranges the compiled lower-case
# reads eight at a time), Latin-1 upper and lower case, and wider characters.
_LOWER_ALPHABET = "AZaz@[`{09 \n\x7f\x80\xa0\xb5\xc0\xc9\xd7\xde\xdf\xe9\xff\u0130\u03a3\u212a\u9ad8"


@settings(max_examples=int(os.environ.get("QA_HYPOTHESIS_EXAMPLES", "60")) * 10, deadline=None,
          derandomize=True)
@given(st.text(alphabet=_LOWER_ALPHABET, max_size=40))
def test_the_compiled_lower_case_is_str_lower(text):
    assert reader._native.lower(text) == text.lower()
    assert reader._native.lower("Ask Date: " + text) == ("Ask Date: " + text).lower()


def test_the_compiled_lower_case_of_every_character_below_u0100():
    text = "".join(map(chr, range(256)))
    for size in (0, 1, 7, 8, 9, 16, 17, 255, 256):
        for piece in (text[:size], text[:size][::-1], text[:128][:size]):
            assert reader._native.lower(piece) == piece.lower()


@pytest.mark.parametrize("text", [
    "A clean paragraph of plain ASCII text, long enough to be read eight characters at a time.",
    "  \n  An indented paragraph,\n    cut by the editor's\tnewlines  and  tabs.\n  ",
    "Caf\xe9 au lait,\xa0twice \x85 and a long tail of plain text after the Latin-1 characters.",
    "x" * 17 + " " + "y" * 9 + "  " + "z" * 8, " " * 9 + "w" * 16, "v" * 16 + " " * 9,
])
def test_the_compiled_clean_text_on_long_texts(text):
    from qa_crawler.parsers.normalize import clean_text

    for cut in range(len(text) + 1):
        assert reader._native.clean_text(text[cut:]) == clean_text(text[cut:])
        assert reader._native.clean_text(text[:cut]) == clean_text(text[:cut])
