"""Raw asyncio fetch ceiling: GET every URL of a list with aiohttp, N at a time, no parsing.

``python -m benchmarks.fetch_aiohttp BASE_URL PATHS_FILE [--concurrency 64]`` prints one JSON
line: pages, bytes, seconds (inside the process), statuses.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter

import aiohttp


async def fetch_all(base: str, paths: list[str], concurrency: int) -> dict:
    queue: asyncio.Queue[str] = asyncio.Queue()
    for p in paths:
        queue.put_nowait(p)
    statuses: Counter = Counter()
    total = 0

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal total
        while True:
            try:
                path = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            async with session.get(base + path) as resp:
                body = await resp.read()
                statuses[resp.status] += 1
                total += len(body)

    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
    began = time.perf_counter()
    async with aiohttp.ClientSession(connector=connector, auto_decompress=True) as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
    seconds = time.perf_counter() - began
    return {"pages": sum(statuses.values()), "bytes": total, "seconds": round(seconds, 3),
            "statuses": {str(k): v for k, v in statuses.items()}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fetch_aiohttp")
    parser.add_argument("base_url")
    parser.add_argument("paths_file")
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args(argv)
    with open(args.paths_file) as fh:
        paths = [line.strip() for line in fh if line.strip()]
    result = asyncio.run(fetch_all(args.base_url.rstrip("/"), paths, args.concurrency))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
