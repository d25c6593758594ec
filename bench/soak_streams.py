#!/usr/bin/python3
"""The legitimate session streams of bench/soak.sh: opened and closed continuously.

Each of --workers loops until --seconds have passed: create a session through the gateway
(POST /v1/sessions with one of the known keys, in turn), open its stream in the mock's echo
mode, send --messages messages (text and binary in turn, ~1 KiB) every --interval seconds,
each awaited back, close the stream (1000), end the session (POST /v1/sessions/{id}/end).
Worker w connects from 127.0.1.<w+1>, so that its stream upgrades stay under the per-client
cap whatever the other clients do.

Everything counted is cumulative and written to --status (JSON, replaced atomically) every
second and at the end; an "errors" map keeps a few examples of each kind of failure. A
failure never stops a worker: it is counted, and the worker starts its next session.

  soak_streams.py --port P --key K1 --key K2 --status FILE --seconds 600
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time

import websockets

COUNTERS = ("sessions_created", "create_failed", "streams_opened", "open_failed",
            "messages_sent", "echoes", "echo_wrong", "echo_timeouts", "closed_unexpectedly",
            "streams_closed", "sessions_ended", "end_failed")


class Tally:
    def __init__(self) -> None:
        self.counts = {k: 0 for k in COUNTERS}
        self.errors: dict[str, list[str]] = {}

    def fail(self, kind: str, detail: str) -> None:
        self.counts[kind] += 1
        examples = self.errors.setdefault(kind, [])
        if len(examples) < 5:
            examples.append(f"{time.strftime('%H:%M:%S')} {detail[:200]}")

    def write(self, path: str) -> None:
        tmp = f"{path}.tmp"
        with open(tmp, "w") as f:
            json.dump({"time": time.time(), **self.counts, "errors": self.errors}, f)
        os.replace(tmp, path)


async def http_call(port: int, source: str, method: str, path: str, key: str,
                    body: bytes = b"") -> tuple[int, bytes]:
    """One request on its own connection (Connection: close): (status, body)."""
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0)), 10)
    try:
        head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")
        writer.write(head.encode() + body)
        data = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    status_line, _, rest = data.partition(b"\r\n")
    parts = status_line.split()
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    return status, rest.partition(b"\r\n\r\n")[2]


async def one_session(w: int, args, key: str, tally: Tally) -> None:
    source = f"127.0.1.{w + 1}"
    status, body = await http_call(args.port, source, "POST", "/v1/sessions", key, b"{}")
    if status != 201:
        tally.fail("create_failed", f"POST /v1/sessions: {status} {body[:120]!r}")
        await asyncio.sleep(1)
        return
    tally.counts["sessions_created"] += 1
    j = json.loads(body)
    sid, token = j["id"], j["stream"]["token"]
    url = f"ws://127.0.0.1:{args.port}/v1/sessions/{sid}/connect?token={token}&mode=echo"
    try:
        ws = await websockets.connect(url, max_size=None, compression=None, ping_interval=None,
                                      open_timeout=10, close_timeout=5,
                                      local_addr=(source, 0))
    except Exception as e:  # noqa: BLE001 - any failure to open is what we count
        tally.fail("open_failed", f"{sid}: {e!r}")
    else:
        tally.counts["streams_opened"] += 1
        try:
            for i in range(args.messages):
                m = (f"{sid} {i} " + "x" * 1000) if i % 2 == 0 else random.randbytes(1024)
                await ws.send(m)
                tally.counts["messages_sent"] += 1
                try:
                    back = await asyncio.wait_for(ws.recv(), 5)
                except asyncio.TimeoutError:
                    tally.fail("echo_timeouts", f"{sid} message {i}")
                    break
                if back == m:
                    tally.counts["echoes"] += 1
                else:
                    tally.fail("echo_wrong", f"{sid} message {i}: {str(back)[:120]}")
                await asyncio.sleep(args.interval)
            await ws.close()
            if ws.close_code == 1000:
                tally.counts["streams_closed"] += 1
            else:
                tally.fail("closed_unexpectedly", f"{sid}: close {ws.close_code} {ws.close_reason}")
        except websockets.ConnectionClosed as e:
            tally.fail("closed_unexpectedly", f"{sid}: {e!r}")
    status, body = await http_call(args.port, source, "POST", f"/v1/sessions/{sid}/end", key, b"{}")
    if 200 <= status < 300:
        tally.counts["sessions_ended"] += 1
    else:
        tally.fail("end_failed", f"{sid}: {status} {body[:120]!r}")


async def worker(w: int, args, deadline: float, tally: Tally) -> None:
    n = w
    while time.monotonic() < deadline:
        key = args.key[n % len(args.key)]
        n += 1
        try:
            await one_session(w, args, key, tally)
        except Exception as e:  # noqa: BLE001 - a refused connect, a timeout: count, go on
            tally.fail("create_failed", f"worker {w}: {e!r}")
            await asyncio.sleep(1)


async def main_async(args) -> None:
    tally = Tally()
    deadline = time.monotonic() + args.seconds
    tasks = [asyncio.ensure_future(worker(w, args, deadline, tally)) for w in range(args.workers)]

    async def report():
        while True:
            tally.write(args.status)
            await asyncio.sleep(1)

    reporter = asyncio.ensure_future(report())
    await asyncio.gather(*tasks)
    reporter.cancel()
    tally.write(args.status)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--key", action="append", required=True, help="a known API key (repeat)")
    ap.add_argument("--status", required=True)
    ap.add_argument("--seconds", type=float, default=600)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--messages", type=int, default=40)
    ap.add_argument("--interval", type=float, default=0.05)
    args = ap.parse_args()
    asyncio.run(main_async(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
