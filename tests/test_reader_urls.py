"""Links are joined to their page's URL exactly as urllib's urljoin joins them, fast paths too."""

from urllib.parse import urljoin

from hypothesis import given, settings
from hypothesis import strategies as st

from qa_crawler.parsers.reader import link_target, safe_urljoin

BASES = ["https://doctorqna.com/en/article/110525", "https://doctorqna.com", "http://127.0.0.1:8000/",
         "https://doctorqna.com/en/a/b/", "https://h/a;p/b", "https://h/a/b?q=/c",
         "https://doctorqna.com/en/faq/", "HTTPS://DoctorQnA.com/x", "https://u@host/a?q#f",
         "https://host?x", "file:///tmp/page.html", "about:blank", ""]
HREFS = ["/en/article/1", "/", "/a//b", "/a/./b", "/a/../b", "/.", "/..", "/a/", "/a;p", "/a?q",
         "/a#f", "/%7Euser", "https://doctorqna.com", "https://doctorqna.com/en/x",
         "http://other.org/a/../b", "https://h:80/x", "https://h:/x", "HTTPS://h/x",
         "https://h/x?", "https://h/x#", "https://h/x?a=1&b=%2F#top", "/p?u=https%3A%2F%2Fh",
         "/p#", "/p?#f", "https://h?q", "//cdn.org/x", "../../", "../faq/x", "./a", "a/b/../c",
         "page.html", "a:b", "..", ".", "x/y", "../z", "?page=2", "#top",
         "http://[bad", "https://h/a b", "https://h/\tx"]


def _expected(base: str, href: str) -> str | None:
    try:
        return urljoin(base, href)
    except ValueError:
        return None


def test_the_links_of_real_pages_join_as_urljoin_joins_them():
    for base in BASES:
        for href in HREFS:
            assert safe_urljoin(base, href) == _expected(base, href), (base, href)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.sampled_from(BASES),
       st.sampled_from(["", "/", "http://h", "https://h.org", "https://h:8000", "..", "./", "a"]),
       st.text(alphabet="/.-_~%az09?#;:@=&+ \t", max_size=12))
def test_any_href_joins_as_urljoin_joins_it(base, prefix, rest):
    href = prefix + rest
    assert safe_urljoin(base, href) == _expected(base, href)


def test_a_links_target_is_its_joined_href_unless_a_script_or_a_fragment():
    for base in BASES:
        for href in HREFS + [" /padded ", "javascript:void(0)", "JavaScript:x", "#", "mailto:a@b"]:
            joined = _expected(base, href.strip())
            want = None if not joined or href.strip().lower().startswith(
                ("javascript:", "#")) else joined
            assert link_target(base, href) == want, (base, href)
