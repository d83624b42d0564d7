"""The dataset card escapes text taken from pages: a hostile department name stays text."""

import pytest
from markdown_it import MarkdownIt

from pipelines.card import md_text
from pipelines.dataset import export_dataset
from tests.sample_dataset import state_from_pages

HOSTILE = [
    "Neuro|logy",
    "Cardio\nlogy | injected | row",
    "<script>alert(1)</script>",
    "[click me](javascript:alert(1))",
    "![img](http://evil.example/x.png)",
    "**bold** _it_ `code` ~~gone~~ # heading",
    "<img src=x onerror=alert(1)>",
    "back\\slash & amp",
]
CASES = ["seed_semantic", "no_similar", "age_under_10", "entities_nbsp", "unicode_names",
         "no_age", "multi_paragraph", "canonical_id"]


def render(markdown: str):
    """The card as a GFM renderer (tables on, raw HTML passed through, as on a hub) reads it."""
    md = MarkdownIt("commonmark", {"html": True}).enable("table").enable("strikethrough")
    return md, md.parse(markdown), md.render(markdown)


@pytest.fixture(scope="module")
def card(tmp_path_factory):
    names = dict(zip(CASES, HOSTILE))

    def hostile(case, rec):
        if case in names:
            rec.department = names[case]

    out = state_from_pages(tmp_path_factory.mktemp("card"), CASES, hostile)
    export_dataset(out)
    return (out / "README.md").read_text(encoding="utf-8")


def department_rows(tokens) -> list[list[str]]:
    """The body rows of the card's "Questions per department" table, as the text of each cell."""
    rows, in_table, row, after_heading = [], False, None, False
    for i, tok in enumerate(tokens):
        if tok.type == "inline" and tok.content == "Questions per department":
            after_heading = True
        if after_heading and tok.type == "tbody_open":
            in_table = True
        elif in_table and tok.type == "tbody_close":
            return rows
        elif in_table and tok.type == "tr_open":
            row = []
        elif in_table and tok.type == "tr_close":
            rows.append(row)
        elif in_table and tok.type == "inline":
            row.append("".join(c.content for c in tok.children or []
                               if c.type in ("text", "code_inline")))
    raise AssertionError("no department table in the card")


def test_hostile_department_names_are_one_cell_each_and_read_as_written(card):
    _, tokens, _ = render(card)
    rows = department_rows(tokens)
    assert all(len(row) == 2 for row in rows), rows
    shown = {row[0] for row in rows}
    for name in HOSTILE:
        assert " ".join(name.split()) in shown, (name, shown)


def test_no_html_link_image_or_emphasis_comes_from_page_text(card):
    md, tokens, html = render(card)
    assert "<script" not in html and "<img" not in html
    assert "javascript:" not in " ".join(
        str(t.attrs) for t in md.parse(card) for t in [t, *(t.children or [])])
    section = card.split("### Questions per department", 1)[1].split("###", 1)[0]
    rendered = md.render(section)
    for tag in ("<a ", "<strong>", "<em>", "<code>", "<s>", "<h1", "<del>"):
        assert tag not in rendered, (tag, rendered)


@pytest.mark.parametrize("text", HOSTILE)
def test_md_text_is_one_line_of_plain_text(text):
    md = MarkdownIt("commonmark", {"html": True})
    rendered = md.render(md_text(text))
    assert rendered.count("\n") == 1 and rendered.startswith("<p>")
    assert md.parseInline(md_text(text))[0].children[0].type == "text"
