"""The page worker: one process that reads the crawl's pages, off the crawler's event loop.

The spider hands it each fetched body with its :class:`~qa_crawler.fetched.Fetch` and gets back
a :class:`PageReading`: the page's record already in its checked JSON form (``FetchedPage.stored``,
validated as the validation pipeline would: it checks again only what fails here) and its links
already routed (canonical, on the site, each once; :class:`qa_crawler.routes.Routes`). The
crawler keeps what depends on the crawl so far (which links it asked for, what is stored), Scrapy,
and the store, the one writer of the crawl state: the worker writes nothing.

The hand-off is a socket pair carrying length-prefixed pickle frames, read in the crawler by an
asyncio protocol on the event loop: no helper threads (a ``ProcessPoolExecutor`` costs the
crawler about 0.8 ms a page in its threads and queues). The worker is ``python -c`` (not
multiprocessing's spawn, which re-runs the caller's main script), ignores Ctrl-C (the crawler
finishes the pages in flight first) and ends when its socket closes, so it dies with the crawler.
A worker that dies fails the pages in flight with :class:`WorkerDied`; the spider leaves them
pending and reads the rest itself.

The worker also keeps the crawl's WARC archive when the WARC middleware hands it the responses
(:meth:`PageWorker.archive`): the middleware sends each response's pieces and gets back a
:class:`Ticket` at once, left in ``request.meta["qa_warc"]``; the worker writes the record
(flushed) before it reads anything sent after it, and puts its :class:`~qa_crawler.warc.Location`
in the page's record. So a page's response is archived before its record reaches the store, as
when the crawler wrote it, and the crawler's core spends nothing on gzip and warcio. When its
socket closes the worker closes its WARC files, keeping their CDXJ pieces (written with their
records; :func:`qa_crawler.warc.index_files` makes any missing) while the crawler writes the
dataset; a write that fails (a full disk) is answered with the
:class:`~qa_crawler.state.StorageError` naming the file, and the pages archived there are
answered :class:`~qa_crawler.guard.NotStored` (they stay pending).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pickle
import queue
import signal
import socket
import struct
import subprocess
import sys
import threading
from dataclasses import dataclass, replace

from qa_crawler.fetched import Fetch, FetchedPage, read_fetched
from qa_crawler.state import encode
from qa_crawler.routes import Routes

logger = logging.getLogger(__name__)
_HEADER = struct.Struct("!I")
_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)  # a send that never waits (not on Windows)


class WorkerDied(RuntimeError):
    """The page worker ended while pages were in flight (killed, out of memory)."""


@dataclass(frozen=True, slots=True)
class Ticket:
    """A response handed to the worker's archive: the worker knows where it went."""

    number: int


# Locations of archived responses kept for the pages that will be read: a response is read soon
# after it is archived (Scrapy has at most its concurrency in flight), and redirects, 304s and
# retried answers are archived but never read, so the oldest are let go past this many.
_KEPT_LOCATIONS = 20_000
# Bytes of frames the crawler lets wait for the worker before it waits too (see PageWorker).
_HIGH_WATER = 4 << 20


@dataclass(slots=True)
class PageReading:
    """A page read by the worker: the page (its ``stored`` JSON set when it passed validation)
    or why it is not a Q&A page, and its routed links (canonical URL, is a Q&A page)."""

    page: FetchedPage | None
    not_qa: str | None
    links: list[tuple[str, bool]]


class PageReader:
    """What the worker does with one page; the same object reads in the crawler's process when
    there is no worker (for tests, and as the reference of what the worker returns)."""

    def __init__(self, routes: Routes, *, for_store: bool = False, check=None):
        """``check``: the :class:`~pipelines.validate.JsonChecker` to use (one is made)."""
        from pipelines.validate import JsonChecker

        self.routes = routes
        self.check = JsonChecker() if check is None else check
        # In the worker, what the store would compute too (the JSON text and change key): the
        # store, in the crawler's process, then has them. Not the question's MinHash, which the
        # store makes: with it here the worker was the crawl's bottleneck (15.2 s of CPU for
        # 5,354 pages, a core's worth of the fetch), the crawler 12.5; with it in the store,
        # 13.7 and 13.3, and the crawl 18.0 -> 16.6 s (3 rounds interleaved).
        self.for_store = for_store

    def __call__(self, body: bytes, fetch: Fetch) -> PageReading:
        reading = read_fetched(body, fetch, id_pattern=self.routes.id_pattern)
        page = reading.page
        if page is not None:
            page.stored = self.check(page.record)
            if page.stored is not None and self.for_store:
                page.encoded = encode(page.stored)
        return PageReading(page, reading.not_qa, self.routes.links(reading.links))


# -- frames ---------------------------------------------------------------------------------
def frame(obj) -> bytes:
    payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(payload)) + payload


def _read_exactly(stream, n: int) -> bytes | None:
    data = stream.read(n)
    return data if data is not None and len(data) == n else None


def read_frame(stream):
    """The next object of a blocking binary stream; EOFError when it ends."""
    header = _read_exactly(stream, _HEADER.size)
    if header is None:
        raise EOFError
    payload = _read_exactly(stream, _HEADER.unpack(header)[0])
    if payload is None:
        raise EOFError
    return pickle.loads(payload)


# -- the worker's side ----------------------------------------------------------------------
def serve() -> None:
    """The worker process: read (sequence, body, fetch) frames, answer (sequence, ok, reading or
    exception) frames, until the crawler closes its end."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the crawler stops first, then closes us
    sock = socket.socket(fileno=int(sys.argv[1]))
    with contextlib.suppress(OSError):  # room for answers while the crawler is busy
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    stream = sock.makefile("rb", buffering=1 << 20)
    # What reading and archiving the first page would wait for, made before the crawler's
    # first frame: a worker started ahead of the crawler (prestart) is ready when it opens.
    # (Measured: the first page's reading and archiving imported qa_crawler.guard, and with it
    # Scrapy, 176 ms, and surt for the CDXJ lines, 61 ms.)
    from pipelines.validate import JsonChecker
    from qa_crawler import guard, warc  # noqa: F401

    warc.load_writing_modules()
    check = JsonChecker()
    try:
        path, routes = read_frame(stream)
    except EOFError:  # started ahead for a crawl that did not take it
        return
    sys.path[:] = path
    # Also what the store would compute (the JSON text and change key; see PageReader).
    # Tried: making them only while no frame waited for the worker (else the store) — with
    # 32 pages in flight a frame nearly always waits, so the crawler made them all and the
    # 15,000-page crawl ran 25 % slower.
    read = PageReader(routes, for_store=True, check=check)
    archive = _Archive()

    # An answer is sent at once when the socket's buffer has room for it, else by a thread of
    # its own: where the system caps the buffer (net.core.wmem_max, often 208 KB: four
    # answers), a blocking send made the worker wait for the busy crawler instead of reading
    # the next page; and handing every answer to the thread cost the worker's main thread a
    # queue and a switch of the GIL for each.
    outbox: queue.SimpleQueue = queue.SimpleQueue()
    queued = [0]  # answers given to the thread and not sent yet: later ones queue behind them
    lock = threading.Lock()

    def send_answers() -> None:
        while (data := outbox.get()) is not None:
            try:
                sock.sendall(data)
            except OSError:
                pass  # the crawler is gone: what it sent is still archived, then the worker ends
            with lock:
                queued[0] -= 1

    sender = threading.Thread(target=send_answers, name="qa-worker-answers", daemon=True)
    sender.start()

    def answer(seq, ok, value) -> None:
        try:
            data = frame((seq, ok, value))
        except Exception as exc:  # an exception that does not pickle
            data = frame((seq, False, RuntimeError(f"{type(exc).__name__}: {exc}")))
        with lock:
            if not queued[0] and _DONTWAIT:
                try:
                    sent = sock.send(data, _DONTWAIT)
                except (BlockingIOError, InterruptedError):
                    sent = 0
                except OSError:
                    return  # the crawler is gone (as in send_answers)
                if sent == len(data):
                    return
                data = memoryview(data)[sent:]
            queued[0] += 1
        outbox.put(data)

    try:
        while True:
            try:
                message = read_frame(stream)
            except EOFError:
                return
            if message[0] == "warc":
                failed = archive.write(message[1], message[2])
                if failed is not None:  # answered under the ticket's negative number
                    answer(-message[1], False, failed)
                continue
            if message[0] == "warc-open":
                archive.options = message[1]
                continue
            seq, body, fetch = message
            try:
                if isinstance(fetch.warc, Ticket):
                    fetch = replace(fetch, warc=archive.location(fetch.warc))
                value, ok = read(body, fetch), True
            except Exception as exc:  # noqa: BLE001 - raised again in the spider, as if read there
                exc.__traceback__ = None
                value, ok = exc, False
            answer(seq, ok, value)
    finally:
        outbox.put(None)
        sender.join()
        archive.close()


class _Archive:
    """The worker's side of the archive: the WARC files it writes, where each ticket went."""

    def __init__(self):
        self.options: dict | None = None
        self.writer = None
        self.locations: dict[int, object] = {}
        self.failed: dict[int, str] = {}
        self.files: list[str] = []

    def write(self, number: int, exchange: dict):
        """Archive one exchange; None, or the StorageError that stopped it."""
        from qa_crawler.guard import os_error
        from qa_crawler.warc import WarcArchive, writing_to

        try:
            if self.writer is None:
                self.writer = WarcArchive(**self.options)
            location = self.writer.write(**exchange)
        except OSError as exc:
            error = os_error(writing_to(self.writer, self.options["out_dir"]), exc)
            self.failed[number] = str(error)
            return error
        if location.file not in self.files:
            self.files.append(location.file)
        self.locations[number] = location
        if len(self.locations) > _KEPT_LOCATIONS:
            for old in list(self.locations)[:_KEPT_LOCATIONS // 2]:
                del self.locations[old]
        return None

    def location(self, ticket: Ticket):
        """Where the ticket's response went; NotStored when it could not be written."""
        from qa_crawler.guard import NotStored

        if ticket.number in self.failed:
            raise NotStored(f"not stored: {self.failed[ticket.number]}")
        return self.locations.pop(ticket.number, None)

    def close(self) -> None:
        """Close the files and index them (their CDXJ pieces), for the crawler's merge."""
        if self.writer is None:
            return
        from qa_crawler.warc import index_files

        try:
            self.writer.close()
        except OSError:
            return  # a full disk: the crawler heard of the write that failed, and stops
        if self.failed:
            return  # no index over a file a write tore (the crawler's merge tries again)
        try:
            index_files(self.writer.dir, self.files)
        except Exception as exc:  # noqa: BLE001 - the crawler's merge indexes what is missing
            print(f"qa-crawler page worker: could not index {self.files}: "
                  f"{type(exc).__name__}: {exc}", file=sys.stderr)


# -- the crawler's side ---------------------------------------------------------------------
class _Answers(asyncio.Protocol):
    """The crawler's end of the socket: frames in, each resolving the future of its page."""

    def __init__(self, worker: PageWorker):
        self.worker = worker
        self.buffer = bytearray()

    def connection_made(self, transport) -> None:
        self.worker._connected(transport)

    def pause_writing(self) -> None:
        self.worker._pause()

    def resume_writing(self) -> None:
        self.worker._resume()

    def data_received(self, data: bytes) -> None:
        buf = self.buffer
        buf += data
        start, size = 0, len(buf)
        while size - start >= _HEADER.size:
            (n,) = _HEADER.unpack_from(buf, start)
            end = start + _HEADER.size + n
            if end > size:
                break
            seq, ok, value = pickle.loads(memoryview(buf)[start + _HEADER.size:end])
            start = end
            self.worker._answer(seq, ok, value)
        if start:
            del buf[:start]

    def connection_lost(self, exc) -> None:
        self.worker._lost()


def _spawn() -> tuple[subprocess.Popen, socket.socket]:
    """A page worker process and the crawler's end of its socket."""
    ours, theirs = socket.socketpair()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-c", "from qa_crawler.worker import serve; serve()",
             str(theirs.fileno())],
            pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, close_fds=True)
    except BaseException:
        ours.close()
        raise
    finally:
        theirs.close()
    return proc, ours


_prestarted: list[tuple[subprocess.Popen, socket.socket]] = []


def prestart() -> None:
    """Start a page worker now, for the next :class:`PageWorker` to take: its imports (0.4 s)
    then run while the crawler makes its own, instead of after the spider opened, when the first
    page's reading waited for them (the start page read 0.42 s after it came, the whole crawl
    as much later). One that no PageWorker takes ends when :func:`discard_prestarted` closes
    its socket, or with this process. If it cannot start, PageWorker tries again and says why."""
    if not _prestarted:
        with contextlib.suppress(OSError):
            _prestarted.append(_spawn())


def discard_prestarted() -> None:
    """End the worker :func:`prestart` started, if no PageWorker took it."""
    while _prestarted:
        proc, sock = _prestarted.pop()
        sock.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class PageWorker:
    """The page worker process and the crawler's end of its socket (on the asyncio loop)."""

    def __init__(self, routes: Routes):
        taken = _prestarted.pop() if _prestarted else None
        self.proc, ours = taken or _spawn()
        # The caller's import path, so that the worker reads with the same modules.
        try:
            ours.sendall(frame((sys.path, routes)))
        except OSError:
            if taken is None:
                raise
            ours.close()  # the worker started ahead has died since: a new one
            self.proc, ours = _spawn()
            ours.sendall(frame((sys.path, routes)))
        ours.setblocking(False)
        with contextlib.suppress(OSError):  # pages go on while the worker is busy
            ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
        self.sock = ours
        self.pid = self.proc.pid
        self.pending: dict[int, asyncio.Future] = {}
        self.seq = 0
        self.read_count = 0
        self.transport: asyncio.Transport | None = None
        self.connecting: asyncio.Future | None = None
        self.early: list[bytes] = []  # frames sent before the connection was made
        self.died: str | None = None  # why, once it has
        self.closing = False
        # The archive: tickets handed out, and who hears of a write that failed.
        self.archiving = False
        self.tickets = 0
        self.on_archive_error = None
        self.archived_bytes = 0
        self.flushing: asyncio.Future | None = None
        self.drained: asyncio.Future | None = None  # set while the transport is paused

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.create_unix_connection(lambda: _Answers(self), sock=self.sock)

    def _connected(self, transport) -> None:
        self.transport = transport
        transport.set_write_buffer_limits(high=_HIGH_WATER)
        for data in self.early:
            transport.write(data)
        self.early.clear()

    def _send(self, data: bytes) -> None:
        """Frames go out in the order they are sent, also before the connection is made."""
        if self.transport is not None:
            self.transport.write(data)
            return
        self.early.append(data)
        if self.connecting is None:
            self.connecting = asyncio.ensure_future(self._connect())

    # Flow control: frames wait in the transport's buffer while the worker is behind; past
    # _HIGH_WATER the transport pauses us, and the archive and the reads wait until it has
    # drained (else a crawler faster than its worker buffers every response it fetches).
    def _pause(self) -> None:
        if self.drained is None:
            self.drained = asyncio.get_running_loop().create_future()

    def _resume(self) -> None:
        drained, self.drained = self.drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)

    @property
    def behind(self) -> bool:
        """The worker is behind: :meth:`until_drained` before sending more."""
        return self.drained is not None

    async def until_drained(self) -> None:
        while self.drained is not None and not self.died:
            await asyncio.shield(self.drained)

    async def read(self, body: bytes, fetch: Fetch) -> PageReading:
        """The worker's reading of one page; WorkerDied if it is gone."""
        if self.drained is not None:
            await self.until_drained()
        if self.died:
            raise WorkerDied(self.died)
        self.seq += 1
        future = asyncio.get_running_loop().create_future()
        self.pending[self.seq] = future
        self._send(frame((self.seq, body, fetch)))
        return await future

    def archive(self, options: dict, exchange: dict) -> Ticket:
        """Hand one exchange (:meth:`qa_crawler.warc.WarcArchive.write`'s arguments) to the
        worker's archive, opened with ``options`` (WarcArchive's) the first time; its ticket.
        WorkerDied if the worker is gone (the caller archives the response itself)."""
        if self.died or self.closing:
            raise WorkerDied(self.died or "the page worker is closing")
        if not self.archiving:
            self._send(frame(("warc-open", options)))
            self.archiving = True
        self.tickets += 1
        self._send(frame(("warc", self.tickets, exchange)))
        self.archived_bytes += len(exchange.get("body") or b"")
        return Ticket(self.tickets)

    def _answer(self, seq: int, ok: bool, value) -> None:
        if seq < 0:  # an archive write that failed: the worker's StorageError
            if self.on_archive_error is not None:
                self.on_archive_error(value)
            return
        future = self.pending.pop(seq, None)
        if future is None or future.done():
            return
        if ok:
            self.read_count += 1
            future.set_result(value)
        else:
            future.set_exception(value)

    def _lost(self) -> None:
        self.transport = None
        self._resume()
        if self.flushing is not None and not self.flushing.done():
            self.flushing.set_result(None)
        if self.closing and not self.pending:
            return
        self.died = self.why_ended()
        for future in self.pending.values():
            if not future.done():
                future.set_exception(WorkerDied(self.died))
        self.pending.clear()

    def why_ended(self) -> str:
        try:
            status = self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return f"the page worker (pid {self.pid}) closed its end and is still running"
        if status < 0:
            try:
                name = signal.Signals(-status).name
            except ValueError:
                name = f"signal {-status}"
            how = f"killed by {name}"
        else:
            how = f"exit status {status}"
        return f"the page worker (pid {self.pid}) died ({how}) after reading {self.read_count} pages"

    def finish(self) -> None:
        """Close the socket: the worker reads what it was sent, closes and indexes its WARC
        files, and ends (:meth:`wait` for it). Frames still in the transport's buffer (archive
        frames sent after the last page's) are flushed first, on the loop: await
        :meth:`finished` for that."""
        if self.closing:
            return
        self.closing = True
        if self.transport is not None and self.transport.get_write_buffer_size():
            self.flushing = asyncio.get_running_loop().create_future()
            self.transport.close()  # connection_lost once the buffer is written
            return
        # Nothing buffered: shut down now, so the worker ends (and indexes) while the crawler
        # goes on; the transport would close the socket only on the loop's next turn.
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # not connected any more: the worker is gone already
        if self.transport is not None:
            self.transport.close()
        else:
            self.sock.close()

    async def finished(self) -> None:
        """:meth:`finish`, and what was sent written to the worker."""
        self.finish()
        if self.flushing is not None:
            await self.flushing

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the worker to end (after :meth:`finish`); kill it after ``timeout``
        (by default 10 s, and a second more per 5 MB it archived: it indexes them as it ends)."""
        if timeout is None:
            timeout = 10.0 + (50.0 + self.archived_bytes / 5e6 if self.archiving else 0.0)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            logger.warning("The page worker (pid %d) did not end; killing it", self.pid)
            self.proc.kill()
            self.proc.wait()

    def close(self, timeout: float | None = None) -> None:
        """Close the socket (the worker ends on it) and wait for the process."""
        self.finish()
        self.wait(timeout)


def worker_wanted(settings) -> bool:
    """Whether the crawl reads its pages in the page worker (``QA_PARSE_PROCESSES``): "auto" when
    the site lets it fetch fast (no DOWNLOAD_DELAY, AutoThrottle off): at a polite rate a page
    costs the reactor nothing worth a second process); 0 never; 1 (or more: one worker reads
    fast enough for a core's crawling) always."""
    value = str(settings.get("QA_PARSE_PROCESSES", "auto")).strip().lower()
    if value == "auto":
        return settings.getfloat("DOWNLOAD_DELAY") == 0 and not settings.getbool(
            "AUTOTHROTTLE_ENABLED")
    try:
        return int(value) > 0
    except ValueError:
        raise ValueError(f"QA_PARSE_PROCESSES must be auto, 0 or 1, not {value!r}") from None


__all__ = ["PageReader", "PageReading", "PageWorker", "Ticket", "WorkerDied", "discard_prestarted",
           "frame", "prestart", "read_frame", "serve", "worker_wanted"]
