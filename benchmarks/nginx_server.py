"""The crawl benchmarks' mirror served by nginx (Debian's ``nginx-light``), on 127.0.0.1.

A Python server costs the crawlers a share of the machine's two cores and capped the ceiling
figure at about 2,500 pages/s (raw aiohttp fetches nginx at 13,000 and more), so the crawl
figures are measured against nginx when it is installed (:func:`mirror_server` falls back to
:mod:`benchmarks.static_server`, and the results say which served them).

The mirror is written out as files once (``www/`` beside its parts): a bare path at
``www/p<path>`` (``index.html`` for a path ending in ``/``), a path with a query at
``www/q<path>/<query>``; nginx looks up the query's file first, then the bare path (listings
link articles with ``?from=list``), as the other servers do. Every file has the mtime of its
page's ``Last-Modified``; nginx makes the ETag from it. One worker process; the access log, one
status per line, is how requests are counted (``reset`` truncates it).
"""

from __future__ import annotations

import email.utils
import os
import shutil
import socket
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Self

from benchmarks.measure import stop_server
from benchmarks.mirror import load_mirror

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)

CONF = """\
worker_processes 1;
daemon off;
pid {run}/nginx.pid;
error_log {run}/error.log warn;
{user}
events {{ worker_connections 1024; }}
http {{
    log_format counted '$status';
    access_log {run}/access.log counted buffer=64k flush=100ms;
    client_body_temp_path {run}/body;
    proxy_temp_path {run}/proxy;
    fastcgi_temp_path {run}/fastcgi;
    uwsgi_temp_path {run}/uwsgi;
    scgi_temp_path {run}/scgi;
    keepalive_requests 100000;
    sendfile on;
    tcp_nopush on;
    types {{ text/plain txt; text/css css; image/png png; }}
    default_type "text/html; charset=utf-8";
    map $args $query_file {{ "" "/none"; default "/q$uri/$args"; }}
    server {{
        listen 127.0.0.1:{port};
        root {www};
        location / {{ try_files $query_file /p$uri /p${{uri}}index.html =404; }}
    }}
}}
"""


def write_tree(mirror: Path) -> Path:
    """The mirror's pages as files for nginx (once; ``www/.complete`` marks a finished tree)."""
    www = mirror / "www"
    if (www / ".complete").exists():
        return www
    shutil.rmtree(www, ignore_errors=True)
    for url_path, (status, headers, body) in load_mirror(mirror).items():
        if status != 200:
            continue  # nginx answers 404 for what has no file
        bare, _, query = url_path.partition("?")
        rel = f"q{bare}/{query}" if query else f"p{bare}" + ("index.html" if bare.endswith("/")
                                                            else "")
        path = www / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        modified = headers.get("Last-Modified")
        if modified:
            stamp = email.utils.parsedate_to_datetime(modified).timestamp()
            os.utime(path, (stamp, stamp))
    (www / ".complete").write_text("")
    return www


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NginxServer:
    """nginx serving a mirror; the same interface as :class:`benchmarks.measure.Server`."""

    name = "nginx"

    def __init__(self, mirror: Path):
        self.www = write_tree(mirror)
        self.run_dir = mirror / "nginx-run"
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None

    def __enter__(self) -> Self:
        shutil.rmtree(self.run_dir, ignore_errors=True)
        self.run_dir.mkdir(parents=True)
        self.port = _free_port()
        user = "user root;" if os.geteuid() == 0 else ""  # workers read the files as we do
        conf = self.run_dir / "nginx.conf"
        conf.write_text(CONF.format(run=self.run_dir, user=user, port=self.port, www=self.www))
        self.proc = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(self.run_dir)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr \
                        else ""
                    raise RuntimeError(f"nginx did not start: {err[-2000:]}") from None
                time.sleep(0.05)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _log(self) -> Path:
        return self.run_dir / "access.log"

    def reset(self) -> None:
        time.sleep(0.25)  # the log buffer flushes every 100 ms
        with open(self._log(), "r+b") as f:
            f.truncate(0)

    def stats(self) -> dict:
        time.sleep(0.25)
        counts = Counter(int(line) for line in self._log().read_text().split() if line.isdigit())
        return {"requests": sum(counts.values()), "by_status": dict(counts)}

    def __exit__(self, *exc) -> None:
        stop_server(self.proc)
