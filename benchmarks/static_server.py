"""A static HTTP server for a pre-rendered mirror, on 127.0.0.1, in its own process.

``python -m benchmarks.static_server MIRROR_DIR [--port 0]`` prints ``PORT <n>`` once it
listens. Every answer comes from memory (aiohttp's low-level server, keep-alive). The path with
its query is looked up, then the bare path (listings link articles with ``?from=list``), as the
demo server does. ``/__bench__/stats`` returns the request count, ``/__bench__/reset`` zeroes it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from collections import Counter
from pathlib import Path

from aiohttp import web

from benchmarks.mirror import load_mirror

NOT_FOUND = (404, {"Content-Type": "text/html; charset=utf-8"},
             b"<html><body><h1>Page not found</h1></body></html>")


async def serve(mirror: Path, host: str, port: int) -> None:
    pages = load_mirror(mirror)
    counts: Counter = Counter()
    missing: Counter = Counter()

    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        path_qs = request.raw_path
        if path_qs.startswith("/__bench__/"):
            if path_qs == "/__bench__/reset":
                counts.clear()
                missing.clear()
            body = json.dumps({"requests": sum(counts.values()), "by_status": dict(counts),
                               "not_found": dict(missing.most_common(20))}).encode()
            return web.Response(body=body, content_type="application/json")
        hit = pages.get(path_qs)
        if hit is None:
            hit = pages.get(path_qs.split("?", 1)[0].split("#", 1)[0])
        if hit is None:
            missing[path_qs] += 1
            hit = NOT_FOUND
        status, headers, body = hit
        counts[status] += 1
        return web.Response(status=status, headers=headers, body=body)

    server = web.Server(handler, access_log=None)
    runner = web.ServerRunner(server, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=1024, reuse_address=True)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]
    print(f"PORT {bound}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.static_server")
    parser.add_argument("mirror", type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    if not args.host.startswith("127.") and args.host not in ("localhost", "::1"):
        print("loopback only", file=sys.stderr)
        return 2
    asyncio.run(serve(args.mirror, args.host, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
