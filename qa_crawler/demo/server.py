"""Serve a sample site over HTTP on loopback, with a request log and fault injection for tests."""

from __future__ import annotations

import argparse
import gzip
import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import urlsplit

__all__ = ["SiteServer", "RequestRecord", "main"]

_REASONS = {429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
            503: "Service Unavailable", 504: "Gateway Timeout"}


class Renderable(Protocol):
    def render(self, path_with_query: str) -> tuple[int, dict[str, str], bytes]: ...


@dataclass
class RequestRecord:
    """One request as the server saw it; ``status`` is None when no answer was sent."""

    method: str
    path: str
    headers: dict[str, str]
    status: int | None = None
    fault: dict[str, Any] | None = field(default=None)
    time: float = field(default_factory=time.monotonic)  # when it arrived (monotonic seconds)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: "SiteServer"

    def handle_error(self, request, client_address) -> None:
        # Clients that time out or hang up mid-answer are expected in fault tests; stay quiet.
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "DoctorQnASample/1.0"
    # Idle keep-alive connections give their thread back after this long.
    timeout = 30

    server: _HTTPServer

    def log_message(self, format: str, *args) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        self.server.owner._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.owner._track(self.connection, False)

    def do_GET(self) -> None:
        self._serve(head=False)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def _serve(self, head: bool) -> None:
        owner = self.server.owner
        record = owner._log(self.command, self.path, dict(self.headers.items()))
        spec = owner._next_fault(self.path)
        if spec is not None:
            record.fault = dict(spec)
            if spec.get("delay"):
                owner._stopping.wait(float(spec["delay"]))
            if spec.get("until") is not None:  # a threading.Event the test sets (60 s at most)
                spec["until"].wait(float(spec.get("timeout", 60)))
            if spec.get("reset"):
                self._reset()
                return
            if "status" in spec:
                record.status = int(spec["status"])
                self._send_error(int(spec["status"]), spec.get("headers") or {}, head,
                                 spec.get("body"))
                return
            if "truncate" in spec:
                status, headers, body = owner.site.render(self.path)
                record.status = status
                self._send(status, headers, body, head, truncate=int(spec["truncate"]))
                return
            if spec.get("gzip") or spec.get("chunked"):
                status, headers, body = owner.site.render(self.path)
                record.status = status
                if spec.get("gzip"):
                    body = gzip.compress(body, mtime=0)
                    headers = {**headers, "Content-Encoding": "gzip"}
                self._send(status, headers, body, head, chunked=bool(spec.get("chunked")))
                return
        fail = owner._always_fail_for(self.path)
        if fail is not None:
            record.status = fail
            self._send_error(fail, {}, head, None)
            return
        status, headers, body = owner.site.render(self.path)
        if status == 200 and self._not_modified(headers):
            record.status = 304
            self.send_response(304)
            for name in ("ETag", "Last-Modified", "Cache-Control"):
                if name in headers:
                    self.send_header(name, headers[name])
            self.end_headers()
            return
        record.status = status
        self._send(status, headers, body, head)

    def _not_modified(self, headers: dict[str, str]) -> bool:
        # RFC 9110 13.2.2: If-None-Match wins; If-Modified-Since only counts without it.
        inm = self.headers.get("If-None-Match")
        etag = headers.get("ETag")
        if inm is not None:
            if not etag:
                return False
            tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
            return "*" in tags or etag.removeprefix("W/") in tags
        ims = self.headers.get("If-Modified-Since")
        modified = headers.get("Last-Modified")
        if ims and modified:
            try:
                return parsedate_to_datetime(modified) <= parsedate_to_datetime(ims)
            except (TypeError, ValueError):
                return False
        return False

    def _send(self, status: int, headers: dict[str, str], body: bytes, head: bool,
              truncate: int | None = None, chunked: bool = False) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if head:
            return
        if chunked:
            for i in range(0, len(body), 4096):
                piece = body[i:i + 4096]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
            return
        if truncate is None:
            self.wfile.write(body)
            return
        # The promised Content-Length stays; the body stops short and the connection ends.
        self.wfile.write(body[: max(0, truncate)])
        self.wfile.flush()
        self.close_connection = True

    def _send_error(self, status: int, headers: dict[str, str], head: bool,
                    body: str | bytes | None) -> None:
        reason = _REASONS.get(status, "Error")
        if body is None:
            body = f"<html><body><h1>{status} {reason}</h1></body></html>\n"
        data = body.encode() if isinstance(body, str) else body
        all_headers = {"Content-Type": "text/html; charset=utf-8", **headers}
        self._send(status, all_headers, data, head)

    def _reset(self) -> None:
        # SO_LINGER 0 makes close() send RST: the client sees a reset, not a clean end.
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.rfile.close()
            self.wfile.close()
            self.connection.close()
        except OSError:
            pass


class SiteServer:
    """Serve ``site.render(path)`` on 127.0.0.1 in a background thread (a context manager).

    ``faults[path]`` is a list of specs consumed one per request before the normal answer:
    ``{"status": 503}``, ``{"status": 429, "headers": {"Retry-After": "1"}}``,
    ``{"truncate": 100}``, ``{"delay": 5}``, ``{"reset": True}``, ``{"until": event}`` (answer
    once a ``threading.Event`` is set, 60 s at most), ``{"gzip": True}`` and/or
    ``{"chunked": True}`` (the page as usual, gzip-encoded, chunked). ``always_fail[path] = 500``
    makes a path fail on every request. A key matches the request path with its query, or
    without it.
    """

    def __init__(self, site: Renderable | None = None, *, host: str = "127.0.0.1", port: int = 0):
        if site is None:
            from qa_crawler.demo.site import SampleSite

            site = SampleSite()
        self.site = site
        self.host = host
        self.port = port
        self.faults: dict[str, list[dict[str, Any]]] = {}
        self.always_fail: dict[str, int] = {}
        self._records: list[RequestRecord] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._conns: set[socket.socket] = set()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ----- lifecycle ---------------------------------------------------------------------------

    def start(self) -> "SiteServer":
        if self._httpd is not None:
            return self
        self._stopping.clear()
        httpd = _HTTPServer((self.host, self.port), _Handler)
        httpd.owner = self
        self.port = httpd.server_address[1]
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
            name=f"SiteServer:{self.port}", daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._stopping.set()  # wakes handlers sleeping in a "delay" fault
        self._httpd.shutdown()
        self._httpd.server_close()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            # Keep-alive connections would otherwise keep answering after stop().
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> "SiteServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("server is not running")
        return f"http://{self.host}:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.base_url + path

    # ----- request log -------------------------------------------------------------------------

    @property
    def requests(self) -> list[str]:
        """Paths (with query) of every request received, in order (a snapshot)."""
        with self._lock:
            return [r.path for r in self._records]

    @property
    def records(self) -> list[RequestRecord]:
        """Every request with its method, headers, answered status and fault (a snapshot)."""
        with self._lock:
            return list(self._records)

    def count(self, path: str) -> int:
        """How many requests asked for exactly this path (with its query, if any)."""
        with self._lock:
            return sum(1 for r in self._records if r.path == path)

    def clear_log(self) -> None:
        with self._lock:
            self._records.clear()

    def _log(self, method: str, path: str, headers: dict[str, str]) -> RequestRecord:
        record = RequestRecord(method, path, headers)
        with self._lock:
            self._records.append(record)
        return record

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            (self._conns.add if add else self._conns.discard)(conn)

    # ----- faults ------------------------------------------------------------------------------

    def _keys(self, path: str) -> tuple[str, ...]:
        bare = urlsplit(path).path
        return (path, bare) if bare != path else (path,)

    def _next_fault(self, path: str) -> dict[str, Any] | None:
        with self._lock:
            for key in self._keys(path):
                queue = self.faults.get(key)
                if queue:
                    return queue.pop(0)
        return None

    def _always_fail_for(self, path: str) -> int | None:
        with self._lock:
            for key in self._keys(path):
                if key in self.always_fail:
                    return int(self.always_fail[key])
        return None


def main(argv: list[str] | None = None) -> int:
    """Serve the sample site until Ctrl-C."""
    from qa_crawler.demo.site import SampleSite

    parser = argparse.ArgumentParser(
        prog="python -m qa_crawler.demo.server",
        description="Serve the generated doctorqna.com sample site on loopback.",
    )
    parser.add_argument("--pages", type=int, default=300, help="number of Q&A pages (default 300)")
    parser.add_argument("--seed", type=int, default=0, help="generation seed (default 0)")
    parser.add_argument("--page-kb", type=int, default=None,
                        help="target size of a Q&A page in KB (default: 20-30 KB per page)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks one)")
    args = parser.parse_args(argv)
    site = SampleSite(n_pages=args.pages, seed=args.seed, page_kb=args.page_kb)
    try:
        server = SiteServer(site, host=args.host, port=args.port).start()
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    try:
        # The line is printed inside the try: a Ctrl-C sent the moment it is read is caught.
        print(f"Serving {args.pages} Q&A pages at {server.base_url}/ (Ctrl-C to stop)", flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("stopped", flush=True)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
