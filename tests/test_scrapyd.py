"""Deploy to a scrapyd started on 127.0.0.1 and run a crawl job against a loopback site."""

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from qa_crawler.demo.server import SiteServer
from qa_crawler.demo.site import SampleSite

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api(base: str, endpoint: str, data: dict | None = None) -> dict:
    body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
    with urllib.request.urlopen(f"{base}/{endpoint}", data=body, timeout=10) as resp:
        return json.loads(resp.read())


@pytest.fixture
def scrapyd(tmp_path):
    if not (BIN / "scrapyd").exists() or not (BIN / "scrapyd-deploy").exists():
        pytest.skip("scrapyd and scrapyd-client are not installed (pip install -e '.[test]')")
    port = free_port()
    home = tmp_path / "scrapyd"
    home.mkdir()
    (home / "scrapyd.conf").write_text(
        "[scrapyd]\nbind_address = 127.0.0.1\n"
        f"http_port = {port}\neggs_dir = {home}/eggs\nlogs_dir = {home}/logs\n"
        f"dbs_dir = {home}/dbs\nitems_dir =\nmax_proc = 1\npoll_interval = 0.5\n"
    )
    proc = subprocess.Popen([str(BIN / "scrapyd")], cwd=home, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while True:
        try:
            api(base, "daemonstatus.json")
            break
        except OSError:
            if time.time() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("scrapyd did not start")
            time.sleep(0.2)
    yield base, home
    proc.terminate()
    proc.wait(timeout=10)


def test_deploy_to_scrapyd_and_run_a_crawl_job(scrapyd, tmp_path):
    base, home = scrapyd
    # Build from a copy: scrapyd-deploy writes a setup.py next to scrapy.cfg.
    project = tmp_path / "project"
    project.mkdir()
    for name in ("qa_crawler", "pipelines"):
        shutil.copytree(ROOT / name, project / name,
                        ignore=shutil.ignore_patterns("__pycache__"))
    cfg = (ROOT / "scrapy.cfg").read_text()
    (project / "scrapy.cfg").write_text(cfg + f"url = {base}/\n")
    deploy = subprocess.run([str(BIN / "scrapyd-deploy"), "-v", "1"], cwd=project,
                            capture_output=True, text=True, timeout=120)
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr
    assert api(base, "listspiders.json?project=qa_crawler")["spiders"] == ["qa"]

    out = tmp_path / "dataset"
    site = SampleSite(n_pages=25, seed=29)
    with SiteServer(site) as server:
        job = api(base, "schedule.json", {
            "project": "qa_crawler", "spider": "qa", "start_url": server.url("/"),
            "setting": [f"QA_OUT_DIR={out}", "AUTOTHROTTLE_ENABLED=False", "DOWNLOAD_DELAY=0"],
        })
        assert job["status"] == "ok", job
        deadline = time.time() + 120
        while time.time() < deadline:
            jobs = api(base, "listjobs.json?project=qa_crawler")
            if any(j["id"] == job["jobid"] for j in jobs["finished"]):
                break
            time.sleep(0.5)
        else:
            pytest.fail("the scrapyd job did not finish in time")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["rows"]["qa"] == 25
