"""`qa-crawler report DIR`: a self-contained report.html, checked as a file and in Chromium.

The datasets are made without a crawl: pages of the bundled sample site are rendered and parsed
in-process, stored through the crawl state API and exported, which takes about a second.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import fcntl
import html
import io
import json
import os
import re
import select
import shutil
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

import pipelines.report.charts as charts_module
import pipelines.report.data as data_module
import pipelines.report.page as page_module
from pipelines.dataset import export_dataset
from pipelines.report import age_band
from qa_crawler.cli import main as cli_main
from qa_crawler.demo.site import SampleSite
from qa_crawler.state import CrawlState
from tests.sample_dataset import sample_site_pages, store_pages

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "output" / "test-artifacts"
BASE = "https://doctorqna.com"
CHARTS = {  # section id -> heading shown on the page
    "departments": "Questions per department",
    "years": "Questions per year",
    "reply-delay": "Reply delay",
    "askers": "Askers by age band and gender",
    "fill-rates": "Field fill rates",
    "text-lengths": "Text lengths",
    "history": "Crawl history",
}
HOSTILE_DEPARTMENT = '<img src="https://evil.example/x.png">Oncology'


# -- datasets ------------------------------------------------------------------------------


def make_dataset(out: Path, n_pages: int = 60, *, redact: list[str] | None = None) -> Path:
    """Two runs over sample-site pages (the second adds pages and sees one change), one failure,
    one row with a reply dated before its question, one without dates, one hostile department."""
    site = SampleSite(n_pages=n_pages, seed=8)
    ids = site.qa_ids()
    first, second = ids[: n_pages - 10], ids[n_pages - 10:]
    state = CrawlState(out)
    crawled = dt.datetime(2026, 11, 20, 2, 30, tzinfo=dt.timezone.utc)

    def odd_rows(k, rec):
        if k == 0:
            rec.answered_on = rec.asked_on - dt.timedelta(days=3)
        if k == 1:
            rec.asked_on = rec.answered_on = None
        if k == 2:
            rec.department = HOSTILE_DEPARTMENT

    state.start_run(f"{BASE}/en/")
    store_pages(state, sample_site_pages(site, first, BASE), crawled, edit=odd_rows)
    state.record_failure(f"{BASE}/en/article/999", "http_error", status=503, error="HTTP 503",
                         attempts=5)
    state.finish_run("finished", {"qa/pages": 140, "qa/records/new": len(first),
                                  "qa/failures/http_error": 1})
    state.start_run(f"{BASE}/en/")
    site.change_page(first[5])
    outcomes = store_pages(state, sample_site_pages(site, [first[5], *second], BASE),
                           crawled + dt.timedelta(days=1))
    state.finish_run("finished", {"qa/pages": 35, "qa/records/new": outcomes.count("new"),
                                  "qa/records/changed": outcomes.count("changed")})
    state.close()
    export_dataset(out, redact=redact)
    return out


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("report-ds"))


@pytest.fixture(scope="module")
def made(dataset):
    """`qa-crawler report DIR` run once, recording its output, the figures it drew and the columns
    it asked the loader for."""
    figures, loads = [], []
    draw, load = charts_module._png, data_module.load_dataset

    def keep_figure(fig):
        figures.append(fig)
        return draw(fig)

    def spy_load(path, columns=None, filters=None):
        loads.append(columns)
        return load(path, columns=columns, filters=filters)

    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(charts_module, "_png", keep_figure)
        mp.setattr(data_module, "load_dataset", spy_load)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli_main(["report", str(dataset)])
    path = dataset / "report.html"
    return {"code": code, "stdout": out.getvalue(), "stderr": err.getvalue(), "path": path,
            "html": path.read_text(encoding="utf-8"), "figures": figures, "loads": loads}


class _Refs(HTMLParser):
    """Every tag, and every attribute that makes a browser fetch or go somewhere."""

    FETCHING = {"src", "href", "srcset", "poster", "data", "action", "formaction", "background",
                "xlink:href", "manifest", "ping", "longdesc", "cite"}

    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.refs: list[tuple[str, str, str]] = []
        self.imgs: list[dict] = []
        self.styles: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name in self.FETCHING:
                self.refs.append((tag, name, value or ""))
            if name == "style":
                self.styles.append(value or "")
        if tag == "img":
            self.imgs.append(dict(attrs))

    def handle_data(self, data):
        if self.tags and self.tags[-1] == "style":
            self.styles.append(data)


def _refs(text: str) -> _Refs:
    parser = _Refs()
    parser.feed(text)
    return parser


def _section(text: str, key: str) -> str:
    m = re.search(rf'<section class="chart" id="{key}">(.*?)</section>', text, re.S)
    assert m, f"no section {key!r} in the report"
    return m.group(1)


# -- the file --------------------------------------------------------------------------------


def test_report_command_writes_report_html_into_the_folder_and_prints_its_path(made):
    assert made["code"] == 0, made["stderr"]
    assert made["path"].is_file()
    assert made["stdout"].strip() == str(made["path"].resolve())
    assert not list(made["path"].parent.glob("*.tmp"))


def test_report_is_self_contained_every_image_a_data_uri_and_no_external_reference(made):
    page = _refs(made["html"])
    assert page.imgs, "the report has no images"
    for img in page.imgs:
        assert img["src"].startswith("data:image/png;base64,"), img["src"][:80]
    for tag, name, value in page.refs:
        if tag == "img" and name == "src":
            continue
        assert value.startswith("#"), f"<{tag} {name}={value!r}> leaves the page"
    assert not {"script", "link", "iframe", "object", "embed", "base"} & set(page.tags)
    assert not any(re.search(r"url\(|@import", s) for s in page.styles)
    assert "default-src 'none'" in made["html"]  # and the browser is told to load nothing else
    # The hostile department name is shown as text, never as markup.
    assert "evil.example" not in "".join(v for _, _, v in page.refs)
    assert "<img src=\"https://evil" not in made["html"]


def test_a_hostile_department_name_is_shown_escaped():
    # The largest department is named in the chart's text, so its name reaches the HTML.
    df = pd.DataFrame({"department": [HOSTILE_DEPARTMENT] * 3 + ["Cardiology"]})
    section = page_module.chart_html(charts_module.department_chart(df))
    assert html.escape(HOSTILE_DEPARTMENT) in section
    assert HOSTILE_DEPARTMENT not in section


def test_report_contains_each_chart_with_a_heading_an_image_and_a_how_to_read_caption(made):
    for key, heading in CHARTS.items():
        section = _section(made["html"], key)
        assert f"<h2>{heading}</h2>" in section
        imgs = _refs(section).imgs
        assert len(imgs) == 1 and imgs[0]["alt"], key
        png = base64.b64decode(imgs[0]["src"].split(",", 1)[1], validate=True)
        with Image.open(io.BytesIO(png)) as im:
            assert im.format == "PNG" and im.width >= 800 and im.height >= 300, (key, im.size)
        assert "<figcaption><strong>How to read it:</strong>" in section
        assert '<ul class="findings"><li>' in section, key
        assert f'href="#{key}"' in made["html"]  # in the table of contents


def test_every_chart_has_a_title_and_labelled_axes(made):
    figures = made["figures"]
    assert len(figures) == len(CHARTS)
    for fig in figures:
        title = fig.get_suptitle() or fig.axes[0].get_title()
        assert title, "a chart without a title"
        for ax in fig.axes:
            assert ax.get_xlabel() and ax.get_ylabel(), f"unlabelled axis in {title!r}"


def test_report_reads_only_the_columns_it_charts_through_the_project_loader(made):
    loads = made["loads"]
    assert loads and all(cols for cols in loads), "a load without a column list reads everything"
    assert {c for cols in loads for c in cols} <= {
        "department", "asked_on", "answered_on", "asker_age_min", "asker_age_max",
        "asker_gender", "question", "answer", "more_info"}


def test_header_summarises_rows_departments_dates_crawl_and_schema_version(made, dataset):
    manifest = json.loads((dataset / "manifest.json").read_text())
    summary = re.search(r'<section id="summary">(.*?)</section>', made["html"], re.S).group(1)
    assert f"<b>{manifest['rows']['qa']}</b><span>questions" in summary
    n_departments = len(manifest["by_department"])
    assert f"<b>{n_departments}</b><span>departments" in summary
    first, last = manifest["asked_on_range"]
    assert f"{first} to {last}" in summary
    assert "in 2 run(s)" in summary and "<b>2</b><span>crawl runs" in summary
    assert f"<dt>Schema version</dt><dd>{manifest['schema_version']} (" in summary
    assert f"qa {manifest['rows']['qa']}, similar {manifest['rows']['similar']}" in summary
    assert "<dt>Splits</dt><dd>train " in summary


def test_reply_delay_leaves_out_and_counts_replies_dated_before_the_question(made):
    section = _section(made["html"], "reply-delay")
    assert "1 reply date(s) come before their ask date" in section
    assert "1 row(s) lack one of the two dates." in section


def test_crawl_history_lists_every_run_with_its_pages_and_records(made):
    section = _section(made["html"], "history")
    rows = re.findall(r"<tr><td class=\"num\">(\d+)</td>.*?</tr>", section, re.S)
    assert rows == ["1", "2"]
    assert '<td class="num">140</td><td class="num">50</td><td class="num">0</td>' \
           '<td class="num">1</td>' in section
    assert '<td class="num">35</td><td class="num">10</td><td class="num">1</td>' in section


def test_age_band_is_written_as_the_site_shows_it():
    assert age_band(20, 29) == "20~29"
    assert age_band(None, 9) == "under 10"
    assert age_band(60, None) == "over 60"
    assert age_band(None, None) == "no age"


# -- edge cases ------------------------------------------------------------------------------


def test_long_reply_delays_are_grouped_and_many_departments_are_capped(monkeypatch):
    figures = []
    monkeypatch.setattr(charts_module, "_png", lambda fig: figures.append(fig) or "AA==")
    asked = pd.Series(pd.to_datetime(["2020-01-01"] * 60)).astype("datetime64[ms]")
    df = pd.DataFrame({
        "asked_on": asked,
        "answered_on": asked + pd.to_timedelta([0] * 30 + [2] * 20 + [400] * 10, unit="D"),
        "department": pd.Series([f"Department {k % 40}" for k in range(60)], dtype="string"),
    })
    delay = charts_module.delay_chart(df)
    labels = [t.get_text() for t in figures[-1].axes[0].get_xticklabels()]
    assert labels[0] == "same day" and labels[-1] == "over 365"
    assert "Median 1 day over 60 questions; 50% answered the same day" in delay.findings[0]
    departments = charts_module.department_chart(df)
    labels = [t.get_text() for t in figures[-1].axes[0].get_yticklabels()]
    assert len(labels) == charts_module.MAX_DEPARTMENTS
    assert labels[-1] == "16 other departments"
    assert departments.findings[0].startswith("40 department(s)")



def test_empty_dataset_still_gets_a_report_saying_there_are_no_records(tmp_path, capsys):
    state = CrawlState(tmp_path)
    state.start_run(f"{BASE}/en/")
    state.record_failure(f"{BASE}/en/", "http_error", status=503, error="HTTP 503", attempts=5)
    state.finish_run("finished", {"qa/pages": 0, "qa/failures/http_error": 1})
    state.close()
    export_dataset(tmp_path)

    assert cli_main(["report", str(tmp_path)]) == 0
    text = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert capsys.readouterr().out.strip() == str((tmp_path / "report.html").resolve())
    assert "<strong>No records:</strong>" in text
    assert "<b>0</b><span>questions" in text
    assert 'id="departments"' not in text  # no empty charts, just the note
    assert "1 failed pages" in _section(text, "history")


def test_missing_folder_exits_3_naming_the_path(tmp_path, capsys):
    missing = tmp_path / "no-such-dataset"
    assert cli_main(["report", str(missing)]) == 3
    err = capsys.readouterr().err
    assert str(missing) in err and "no such dataset folder" in err
    assert not missing.exists()


def test_folder_never_crawled_exits_3_naming_it(tmp_path, capsys):
    assert cli_main(["report", str(tmp_path)]) == 3
    err = capsys.readouterr().err
    assert f"{tmp_path} was never crawled" in err  # the words of export and rebuild too
    assert not (tmp_path / "report.html").exists()


def test_redacted_columns_are_not_charted(tmp_path, monkeypatch):
    folder = make_dataset(tmp_path, n_pages=20,
                          redact=["asker_gender:hash", "asker_age_min:drop", "asker_age_max:drop",
                                  "department:hash"])
    monkeypatch.setattr(charts_module, "_png", lambda fig: "AA==")  # what is drawn, not the pixels
    text = page_module.render_report(folder)
    for key in ("askers", "departments"):
        section = _section(text, key)
        assert "No data to draw" in section and "redacted in this dataset" in section, key
    assert "<dt>Redacted columns</dt><dd>asker_age_max: dropped;" in text
    assert "<b>–</b><span>departments (redacted)" in text  # hashes are not departments
    assert _section(text, "years").count("<img") == 1  # what was not redacted is still drawn


# -- in a browser ----------------------------------------------------------------------------


def _chromium() -> str | None:
    for name in (os.environ.get("QA_CHROMIUM"), "chromium", "chromium-browser", "google-chrome",
                 "google-chrome-stable"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def _high_fd(fd: int) -> int:
    """The same pipe end on a descriptor above 9, so that moving it to 3 or 4 cannot clash."""
    high = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return high


class Browser:
    """Headless Chromium driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``:
    commands on its fd 3, answers and events on its fd 4, each message JSON ended by a NUL), so
    no websocket client or browser-automation package is needed."""

    def __init__(self, exe: str, workdir: Path):
        child_in, self._to = map(_high_fd, os.pipe())
        self._from, child_out = map(_high_fd, os.pipe())
        self.log_path = workdir / "chromium.log"
        args = [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--hide-scrollbars", "--mute-audio", "--force-device-scale-factor=1",
                # Nothing on the network resolves: a page that needs it shows an error.
                "--host-resolver-rules=MAP * ~NOTFOUND",
                f"--user-data-dir={workdir / 'profile'}", "--remote-debugging-pipe"]
        with open(self.log_path, "wb") as log:
            # A Python trampoline puts the pipe ends on fds 3 and 4, then becomes Chromium.
            self.proc = subprocess.Popen(
                [sys.executable, "-c", "import os, sys; os.dup2(int(sys.argv[1]), 3); "
                 "os.dup2(int(sys.argv[2]), 4); os.execv(sys.argv[3], sys.argv[3:])",
                 str(child_in), str(child_out), *args],
                pass_fds=(child_in, child_out), stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT)
        os.close(child_in)
        os.close(child_out)
        self._buf = b""
        self._id = 0
        self.events: list[dict] = []

    def _read(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no answer from chromium; its log: {self.log_path}")
            if select.select([self._from], [], [], left)[0]:
                chunk = os.read(self._from, 1 << 20)
                if not chunk:
                    raise RuntimeError(f"chromium exited; its log: {self.log_path}\n"
                                       + self.log_path.read_text(errors="replace")[-2000:])
                self._buf += chunk
        message, _, self._buf = self._buf.partition(b"\0")
        return json.loads(message)

    def call(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float = 30) -> dict:
        self._id += 1
        message = {"id": self._id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        data = json.dumps(message).encode() + b"\0"
        while data:
            data = data[os.write(self._to, data):]
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, session: str, since: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method and e.get("sessionId") == session
                      for e in self.events[since:]):
            self.events.append(self._read(deadline))

    def open(self, url: str, width: int = 1000) -> tuple[str, dict, list[str]]:
        """Load ``url`` in a new tab; (session, what the page holds, its console errors)."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"]
        for method in ("Runtime.enable", "Log.enable", "Page.enable"):
            self.call(method, session=session)
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False},
                  session)
        mark = len(self.events)
        self.call("Page.navigate", {"url": url}, session)
        self.wait_for("Page.loadEventFired", session, mark)
        state = self.call("Runtime.evaluate", {"expression": PAGE_STATE, "awaitPromise": True,
                                               "returnByValue": True}, session)["result"]["value"]
        return session, state, self.errors(session, mark)

    def errors(self, session: str, since: int = 0) -> list[str]:
        found = []
        for event in self.events[since:]:
            if event.get("sessionId") != session:
                continue
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
                found.append("console: " + " ".join(str(a.get("value", a.get("description")))
                                                     for a in params["args"]))
            elif method == "Runtime.exceptionThrown":
                found.append("exception: " + params["exceptionDetails"].get("text", ""))
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                entry = params["entry"]
                found.append(f"{entry['source']}: {entry['text']} {entry.get('url', '')}")
        return found

    def screenshot(self, session: str, path: Path) -> Path:
        size = self.call("Page.getLayoutMetrics", session=session)["cssContentSize"]
        shot = self.call("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"],
                     "scale": 1}}, session)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.call("Browser.close", timeout=5)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to)
        os.close(self._from)


# Run in the page once it has loaded (after two frames, so late errors are reported too).
PAGE_STATE = """
new Promise(done => requestAnimationFrame(() => setTimeout(done, 150))).then(() => ({
  title: document.title,
  images: [...document.images].map(img => ({
    section: img.closest('section') ? img.closest('section').id : null,
    dataUri: img.currentSrc.startsWith('data:image/png;base64,'),
    complete: img.complete, naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight,
    shownWidth: img.getBoundingClientRect().width,
  })),
  fetched: performance.getEntriesByType('resource').map(e => e.name),
  charts: [...document.querySelectorAll('section.chart h2')].map(h => h.textContent),
}))
"""


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    exe = _chromium()
    if exe is None:
        pytest.skip("chromium not found (Debian package `chromium`; .ci/run installs it; or set "
                    "QA_CHROMIUM to a Chromium/Chrome binary): the report is not checked in a "
                    "browser")
    b = Browser(exe, tmp_path_factory.mktemp("chromium"))
    yield b
    b.close()


def test_report_renders_in_headless_chromium_with_no_console_errors_and_every_chart_loaded(
        made, browser, tmp_path):
    session, page, errors = browser.open(made["path"].resolve().as_uri())
    assert errors == []
    assert page["title"].startswith("Dataset report")
    headings = list(CHARTS.values())  # the audit (tables, no chart) sits before the history
    assert page["charts"] == headings[:-1] + ["Extraction audit"] + headings[-1:]
    assert [img["section"] for img in page["images"]] == list(CHARTS)
    for img in page["images"]:
        assert img["dataUri"] and img["complete"], img
        assert img["naturalWidth"] > 0 and img["naturalHeight"] > 0, img
        assert img["shownWidth"] > 300, img  # laid out at a readable size
    assert page["fetched"] == []  # nothing loaded from anywhere but the file

    shot = browser.screenshot(session, tmp_path / "report.png")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, ARTIFACTS / "report.png")
    with Image.open(shot) as im:
        assert im.width == 1000 and im.height > 3000  # the whole page, every chart in it


def test_browser_check_does_catch_console_errors_and_broken_images(browser, tmp_path):
    # The check above passing means something: the same harness fails a page that is broken.
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><img src="missing.png"><img src="https://example.com/x.png">'
                   '<script>console.error("boom")</script>', encoding="utf-8")
    _, page, errors = browser.open(bad.as_uri())
    assert any("boom" in e for e in errors), errors
    assert any("missing.png" in e for e in errors), errors
    assert [img["naturalWidth"] for img in page["images"]] == [0, 0]


# -- the demo --------------------------------------------------------------------------------


@pytest.mark.slow
def test_demo_ends_by_writing_the_report_and_printing_its_path(tmp_path):
    out = tmp_path / "demo"
    proc = subprocess.run([sys.executable, "-m", "qa_crawler.cli", "demo", "--pages", "8",
                           "--out", str(out)], capture_output=True, text=True, timeout=240,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    last = proc.stdout.strip().splitlines()[-1]
    assert last.endswith(str((out / "report.html").resolve())), proc.stdout[-1000:]
    assert (out / "report.html").is_file()
    # The hint to open the dataset works as printed, from the checkout (after make install).
    [hint] = [line[len("Open it: "):] for line in proc.stdout.splitlines()
              if line.startswith("Open it: ")]
    assert hint.startswith(".venv/bin/python -c ")
    checkout = Path(__file__).resolve().parents[1]
    opened = subprocess.run(hint, shell=True, cwd=checkout, capture_output=True, text=True,
                            timeout=120)
    assert opened.returncode == 0 and "qa_id" in opened.stdout, opened.stderr[-2000:]
