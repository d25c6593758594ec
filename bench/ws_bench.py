#!/usr/bin/python3
"""WebSocket benchmark: session streams through kallglot-gateway vs straight to the mock.

Like bench/http_bench.sh, it starts its own mock upstream (`kallglot-gateway mock-upstream`)
and gateway (memory store, fresh accounts.db), both pinned to SERVER_CPU, and runs the load
from this process pinned to CLIENT_CPU. Two scenarios, each against `direct` (the mock, the
floor: no proxy) and `gateway`:

  latency   N concurrent streams (default 1000) of free-plan audio: every stream sends a
            3200-byte binary frame every 100 ms (32 000 B/s, under the free plan's 32 KiB/s
            and 100 msg/s) for D seconds to the mock in echo mode. Each frame carries its
            send time; the round trip is measured per echoed frame. Reported: RTT
            percentiles per target, the gateway's added latency (gateway percentile minus
            direct percentile), achieved bytes/s, lost frames. The sessions are created
            through the gateway by a free-plan account (concurrent sessions overridden to
            unlimited), so the gateway limits each stream with the free plan's numbers.
  maxrate   1 and 8 streams sending 1 KiB binary messages as fast as the receiver takes
            them (TCP back-pressure) for S seconds, mock in counting mode (without hashing
            unless --mock-hash); messages/s as
            counted by the mock (each stream asks the mock for its count over the stream,
            which queues behind everything sent). Through the gateway with an account whose
            ws_messages_per_second and ws_audio_bytes_per_second are 1 000 000 000.

The client is a minimal asyncio WebSocket implementation (one Protocol per connection, no
per-message task or future; frames are masked with an all-zero key, which RFC 6455 permits
and which makes masking free) so that the load generator costs as little as possible. Even
so, 1000 streams on one core of Python may saturate it: the summary reports the client's
CPU use (time.process_time over wall time) and flags runs where it passed 90%, in which
case latencies include client queueing (equally for both targets, but the difference gets
noisier). Server CPU is read from /proc/<pid>/stat for the mock and the gateway.

Usage:
  /usr/bin/python3 bench/ws_bench.py [options]       (expects build/kallglot-gateway)

Options (defaults in brackets):
  --binary PATH         gateway binary [$GW_BINARY or build/kallglot-gateway]
  --scenarios LIST      latency,maxrate [both]
  --targets LIST        direct,gateway [both]
  --streams N           latency scenario streams [1000]
  --duration S          latency scenario measured seconds [10] (after --warmup S [2])
  --frame-bytes B       latency frame size [3200]     --interval-ms MS   frame period [100]
  --maxrate-seconds S   seconds per max-rate run [5]  --maxrate-streams LIST  [1,8]
  --message-bytes B     max-rate message size [1024]
  --runs N              repetitions (interleaved; medians reported) [1]
  --mock-hash           max rate: the mock also SHA-256s what it counts [off: hash=0]
  --server-cpu C / --client-cpu C                     [0 / 1]
Output: a Markdown table on stdout and in bench/results/ws-<timestamp>/summary.md, with
results.json and the mock's and gateway's logs beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import http.client
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ADMIN_TOKEN = "bench-admin-token"
BIG = 1_000_000_000
GROUPS = ("sessions_write", "sessions_read", "recordings", "analysis", "webhooks")


def log(msg: str) -> None:
    print(f"ws_bench: {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------
# A lean WebSocket client


class HandshakeError(Exception):
    pass


class WsClient(asyncio.Protocol):
    """One client WebSocket. Binary messages go to `on_binary(buf, start, length)` (a view
    into the receive buffer, valid during the call only); text messages resolve the oldest
    `text()` waiter; pings are answered; a close is answered and ends the connection."""

    __slots__ = ("transport", "buf", "handshake", "closed", "text_waiters", "pong_waiters",
                 "writable", "on_binary", "frag_op", "frag", "closing")

    def __init__(self, on_binary=None):
        loop = asyncio.get_running_loop()
        self.transport = None
        self.buf = bytearray()
        self.handshake = loop.create_future()
        self.closed = loop.create_future()
        self.text_waiters: deque = deque()
        self.pong_waiters: deque = deque()
        self.writable = asyncio.Event()
        self.writable.set()
        self.on_binary = on_binary
        self.frag_op = None
        self.frag = None
        self.closing = False

    @classmethod
    async def connect(cls, host: str, port: int, path: str, on_binary=None) -> "WsClient":
        loop = asyncio.get_running_loop()
        _, proto = await loop.create_connection(lambda: cls(on_binary), host, port)
        key = base64.b64encode(os.urandom(16)).decode()
        proto.transport.write(
            (f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
             f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
             f"Sec-WebSocket-Version: 13\r\n\r\n").encode())
        await asyncio.wait_for(proto.handshake, 30)
        return proto

    # asyncio.Protocol
    def connection_made(self, transport) -> None:
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc) -> None:
        if not self.handshake.done():
            self.handshake.set_exception(HandshakeError(f"connection lost: {exc!r}"))
        if not self.closed.done():
            self.closed.set_result(None)
        for w in list(self.text_waiters) + list(self.pong_waiters):
            if not w.done():
                w.set_exception(ConnectionError("connection lost"))
        self.writable.set()

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if not self.handshake.done():
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buf[:end])
            del self.buf[:end + 4]
            m = re.match(rb"HTTP/1\.1 (\d{3})", head)
            if not m or m.group(1) != b"101":
                self.handshake.set_exception(HandshakeError(head[:300].decode(errors="replace")))
                self.transport.close()
                return
            self.handshake.set_result(None)
        self._parse()

    def _parse(self) -> None:
        buf = self.buf
        n = len(buf)
        pos = 0
        while n - pos >= 2:
            b0 = buf[pos]
            b1 = buf[pos + 1]
            length = b1 & 0x7F
            hl = 2
            if length == 126:
                if n - pos < 4:
                    break
                length = (buf[pos + 2] << 8) | buf[pos + 3]
                hl = 4
            elif length == 127:
                if n - pos < 10:
                    break
                length = int.from_bytes(buf[pos + 2:pos + 10], "big")
                hl = 10
            if b1 & 0x80:
                hl += 4  # servers do not mask; tolerate it without unmasking
            if n - pos < hl + length:
                break
            start = pos + hl
            pos = start + length
            self._frame(b0 & 0x80, b0 & 0x0F, buf, start, length)
        if pos:
            del buf[:pos]

    def _frame(self, fin: int, op: int, buf: bytearray, start: int, length: int) -> None:
        if op >= 0x8:  # control
            payload = bytes(buf[start:start + length])
            if op == 0x9:
                self._send(0xA, payload)
            elif op == 0xA:
                if self.pong_waiters:
                    w = self.pong_waiters.popleft()
                    if not w.done():
                        w.set_result(time.perf_counter())
            elif op == 0x8:
                if not self.closing:
                    self.closing = True
                    self._send(0x8, payload[:2])
                self.transport.close()
            return
        if op == 0x0 or not fin:  # a fragment
            if op != 0x0:
                self.frag_op, self.frag = op, bytearray()
            if self.frag is None:
                return
            self.frag += buf[start:start + length]
            if not fin:
                return
            op, data = self.frag_op, self.frag
            self.frag_op = self.frag = None
            buf, start, length = data, 0, len(data)
        if op == 0x2:
            if self.on_binary is not None:
                self.on_binary(buf, start, length)
        elif op == 0x1:
            text = bytes(buf[start:start + length]).decode()
            while self.text_waiters:
                w = self.text_waiters.popleft()
                if not w.done():
                    w.set_result(text)
                    break

    # sending
    @staticmethod
    def frame(op: int, payload: bytes) -> bytes:
        n = len(payload)
        if n < 126:
            head = bytes((0x80 | op, 0x80 | n))
        elif n < 65536:
            head = bytes((0x80 | op, 0x80 | 126)) + n.to_bytes(2, "big")
        else:
            head = bytes((0x80 | op, 0x80 | 127)) + n.to_bytes(8, "big")
        return head + b"\0\0\0\0" + payload  # an all-zero mask key: payload as is

    def _send(self, op: int, payload: bytes) -> None:
        if not self.transport.is_closing():
            self.transport.write(self.frame(op, payload))

    def send_raw(self, frame: bytes) -> None:
        self.transport.write(frame)

    async def text_request(self, text: str, timeout: float = 60) -> str:
        w = asyncio.get_running_loop().create_future()
        self.text_waiters.append(w)
        self._send(0x1, text.encode())
        return await asyncio.wait_for(w, timeout)

    async def ping(self, timeout: float = 30) -> float:
        w = asyncio.get_running_loop().create_future()
        self.pong_waiters.append(w)
        self._send(0x9, b"bench")
        return await asyncio.wait_for(w, timeout)

    async def close(self, timeout: float = 5) -> None:
        if not self.closing and not self.transport.is_closing():
            self.closing = True
            self._send(0x8, (1000).to_bytes(2, "big"))
        try:
            await asyncio.wait_for(asyncio.shield(self.closed), timeout)
        except asyncio.TimeoutError:
            self.transport.abort()


# --------------------------------------------------------------------------------------
# Processes


class Servers:
    """The mock upstream and the gateway, pinned to one CPU, in a scratch directory."""

    def __init__(self, binary: str, server_cpu: int, out: Path, want_gateway: bool):
        self.binary, self.cpu, self.out = binary, server_cpu, out
        self.work = Path(tempfile.mkdtemp(prefix="gw-ws-bench."))
        self.procs: dict[str, subprocess.Popen] = {}
        self.mock_port = self._start_mock()
        self.gw_port = self.admin_port = 0
        if want_gateway:
            self._start_gateway()

    def _spawn(self, name: str, args: list[str], env: dict | None = None) -> subprocess.Popen:
        logf = open(self.out / f"{name}.log", "w")
        full_env = dict(os.environ)
        full_env.update(env or {})
        p = subprocess.Popen(["taskset", "-c", str(self.cpu), *args], stdout=logf,
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=full_env,
                             cwd=self.work)
        self.procs[name] = p
        return p

    def _start_mock(self) -> int:
        self._spawn("mock", [self.binary, "mock-upstream", "--listen", "127.0.0.1:0"])
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            m = re.search(r"mock-upstream listening on 127\.0\.0\.1:(\d+)",
                          (self.out / "mock.log").read_text())
            if m:
                return int(m.group(1))
            self.check_alive()
            time.sleep(0.05)
        raise RuntimeError("the mock upstream did not start")

    def _start_gateway(self) -> None:
        self.gw_port, self.admin_port = free_port(), free_port()
        cfg = self.work / "gateway.yaml"
        cfg.write_text(
            f"listen: 127.0.0.1:{self.gw_port}\n"
            f"admin:\n  listen: 127.0.0.1:{self.admin_port}\n"
            f"upstream:\n  url: http://127.0.0.1:{self.mock_port}\n"
            f"store:\n  backend: memory\n"
            f"accounts:\n  path: {self.work}/accounts.db\n")
        self._spawn("gateway", [self.binary, "serve", "--config", str(cfg)],
                    env={"KALLGLOT_GATEWAY_ADMIN_TOKEN": ADMIN_TOKEN})
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                if http_call(self.admin_port, "GET", "/healthz")[0] == 200:
                    with socket.create_connection(("127.0.0.1", self.gw_port), timeout=1):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("the gateway did not become healthy")

    def check_alive(self) -> None:
        for name, p in self.procs.items():
            if p.poll() is not None:
                tail = (self.out / f"{name}.log").read_text()[-2000:]
                raise RuntimeError(f"{name} exited with {p.returncode}:\n{tail}")

    def cpu_seconds(self) -> dict[str, float]:
        out = {}
        tick = os.sysconf("SC_CLK_TCK")
        for name, p in self.procs.items():
            try:
                # taskset execs the binary: the pid is the server's own.
                fields = Path(f"/proc/{p.pid}/stat").read_text().rsplit(")", 1)[1].split()
                out[name] = (int(fields[11]) + int(fields[12])) / tick
            except (OSError, IndexError, ValueError):
                out[name] = float("nan")
        return out

    def stop(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        shutil.rmtree(self.work, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_call(port: int, method: str, path: str, body=None, headers=None,
              conn: http.client.HTTPConnection | None = None) -> tuple[int, bytes]:
    own = conn is None
    c = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        data = json.dumps(body).encode() if body is not None else None
        h = {"Content-Type": "application/json"} if data is not None else {}
        h.update(headers or {})
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        if own:
            c.close()


def admin(servers: Servers, method: str, path: str, body=None) -> dict:
    status, data = http_call(servers.admin_port, method, path, body,
                             {"Authorization": f"Bearer {ADMIN_TOKEN}"})
    if status // 100 != 2:
        raise RuntimeError(f"admin {method} {path}: {status} {data[:300]!r}")
    return json.loads(data) if data else {}


def new_account(servers: Servers, account: str, plan: str, overrides: dict) -> str:
    admin(servers, "PUT", f"/admin/v1/accounts/{account}", {"plan": plan, "overrides": overrides})
    return admin(servers, "POST", f"/admin/v1/accounts/{account}/keys",
                 {"environment": "live"})["key"]


def create_sessions(servers: Servers, key: str, n: int) -> list[tuple[str, str]]:
    """n sessions created through the gateway: [(id, stream token)]."""
    conn = http.client.HTTPConnection("127.0.0.1", servers.gw_port, timeout=30)
    out = []
    try:
        for _ in range(n):
            status, data = http_call(servers.gw_port, "POST", "/v1/sessions", {},
                                     {"Authorization": f"Bearer {key}"}, conn=conn)
            if status != 201:
                raise RuntimeError(f"POST /v1/sessions: {status} {data[:300]!r}")
            j = json.loads(data)
            out.append((j["id"], j["stream"]["token"]))
    finally:
        conn.close()
    return out


# --------------------------------------------------------------------------------------
# Scenarios


def pct(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, int(round(p / 100 * (len(sorted_values) - 1)))))
    return sorted_values[k]


@dataclass
class Measured:
    wall: float = 0.0
    client_cpu: float = 0.0
    server_cpu: dict = field(default_factory=dict)

    def client_util(self) -> float:
        return self.client_cpu / self.wall if self.wall else float("nan")


async def open_streams(port: int, paths: list[str], on_binary_factory) -> list[WsClient]:
    clients: list[WsClient | None] = [None] * len(paths)
    sem = asyncio.Semaphore(64)

    async def one(i: int):
        async with sem:
            clients[i] = await WsClient.connect("127.0.0.1", port, paths[i], on_binary_factory(i))

    await asyncio.gather(*(one(i) for i in range(len(paths))))
    return clients  # type: ignore[return-value]


async def close_all(clients: list[WsClient]) -> None:
    await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)


async def latency_run(servers: Servers, port: int, paths: list[str], frame_bytes: int,
                      interval: float, warmup: float, duration: float) -> dict:
    n = len(paths)
    rtts: list[float] = []
    state = {"recording": False, "recv": 0, "recv_bytes": 0}
    sent_rec = [0]

    def factory(_i: int):
        def on_binary(buf, start, length):
            now = time.perf_counter_ns()
            if length >= 16:
                ts, rec = struct.unpack_from("<QQ", buf, start)
                if rec and state["recording"]:
                    rtts.append((now - ts) / 1e6)
                    state["recv"] += 1
                    state["recv_bytes"] += length
        return on_binary

    t_open = time.perf_counter()
    clients = await open_streams(port, paths, factory)
    open_seconds = time.perf_counter() - t_open
    pad = bytes(max(0, frame_bytes - 16))
    # Stream i sends at offset i/n of the interval: a steady flow, not n-frame bursts. The
    # schedule is cyclic, so one cursor walks it: O(1) per frame, whatever n is.
    start = time.perf_counter() + 0.05
    offsets = [interval * i / n for i in range(n)]
    cursor, cycle = 0, 0
    t_rec = start + warmup
    t_end = t_rec + duration
    measured = Measured()
    cpu0 = wall0 = None
    srv0 = None
    late = 0
    frame = WsClient.frame
    pack = struct.pack
    perf_ns = time.perf_counter_ns
    while True:
        now = time.perf_counter()
        if now >= t_end:
            break
        if cpu0 is None and now >= t_rec:
            state["recording"] = True
            cpu0, wall0, srv0 = time.process_time(), now, servers.cpu_seconds()
        recording = state["recording"]
        marker = 1 if recording else 0
        while True:
            due = start + cycle * interval + offsets[cursor]
            if due > now:
                break
            if now - due > interval:
                late += 1
            clients[cursor].send_raw(frame(0x2, pack("<QQ", perf_ns(), marker) + pad))
            if recording:
                sent_rec[0] += 1
            cursor += 1
            if cursor == n:
                cursor, cycle = 0, cycle + 1
        await asyncio.sleep(0.001)
    state_end_wall = time.perf_counter()
    measured.wall = state_end_wall - wall0
    measured.client_cpu = time.process_time() - cpu0
    srv1 = servers.cpu_seconds()
    measured.server_cpu = {k: (srv1[k] - srv0[k]) / measured.wall for k in srv1}
    await asyncio.sleep(1.0)  # echoes still in flight
    state["recording"] = False
    await close_all(clients)
    rtts.sort()
    return {
        "streams": n, "open_seconds": open_seconds, "sent": sent_rec[0],
        "received": state["recv"], "lost": sent_rec[0] - state["recv"],
        "late_sends": late,
        "sent_bytes_per_s": sent_rec[0] * frame_bytes / measured.wall,
        "echo_bytes_per_s": state["recv_bytes"] / measured.wall,
        "p50": pct(rtts, 50), "p90": pct(rtts, 90), "p99": pct(rtts, 99),
        "p999": pct(rtts, 99.9), "max": rtts[-1] if rtts else float("nan"),
        "client_cpu": measured.client_util(), "server_cpu": measured.server_cpu,
        "wall": measured.wall,
    }


async def maxrate_run(servers: Servers, port: int, paths: list[str], message_bytes: int,
                      seconds: float) -> dict:
    clients = await open_streams(port, paths, lambda _i: None)
    frame = WsClient.frame(0x2, os.urandom(message_bytes))
    stop = asyncio.Event()
    sent = [0] * len(clients)

    async def pump(i: int, c: WsClient):
        k = 0
        while not stop.is_set():
            if not c.writable.is_set():
                await c.writable.wait()
                if c.transport.is_closing():
                    return
            for _ in range(64):
                c.send_raw(frame)
            k += 64
            await asyncio.sleep(0)
        sent[i] = k

    cpu0, srv0 = time.process_time(), servers.cpu_seconds()
    t0 = time.perf_counter()
    tasks = [asyncio.ensure_future(pump(i, c)) for i, c in enumerate(clients)]
    await asyncio.sleep(seconds)
    stop.set()
    await asyncio.gather(*tasks)
    # Each stream's count, from the mock, queued behind everything the stream sent.
    replies = await asyncio.gather(*(c.text_request('{"type":"stats"}', 120) for c in clients))
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    srv1 = servers.cpu_seconds()
    await close_all(clients)
    counted = sum(json.loads(r)["messages"] for r in replies)
    return {
        "streams": len(clients), "sent": sum(sent), "counted": counted,
        "messages_per_s": counted / wall, "mib_per_s": counted * message_bytes / wall / 2**20,
        "client_cpu": cpu / wall,
        "server_cpu": {k: (srv1[k] - srv0[k]) / wall for k in srv1}, "wall": wall,
    }


# --------------------------------------------------------------------------------------
# Main


def fmt_cpu(d: dict) -> str:
    return " / ".join(f"{d.get(k, float('nan')):.0%}" for k in ("gateway", "mock") if k in d)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", default=os.environ.get("GW_BINARY",
                                                       str(ROOT / "build" / "kallglot-gateway")))
    ap.add_argument("--scenarios", default="latency,maxrate")
    ap.add_argument("--targets", default="direct,gateway")
    ap.add_argument("--streams", type=int, default=1000)
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--frame-bytes", type=int, default=3200)
    ap.add_argument("--interval-ms", type=float, default=100.0)
    ap.add_argument("--maxrate-seconds", type=float, default=5.0)
    ap.add_argument("--maxrate-streams", default="1,8")
    ap.add_argument("--message-bytes", type=int, default=1024)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--mock-hash", action="store_true",
                    help="max rate: let the mock hash the data it counts (as before 2026-11-28)")
    ap.add_argument("--server-cpu", type=int, default=0)
    ap.add_argument("--client-cpu", type=int, default=1)
    args = ap.parse_args()
    scenarios = [s for s in args.scenarios.split(",") if s]
    targets = [t for t in args.targets.split(",") if t]
    if args.frame_bytes < 16:
        ap.error("--frame-bytes must be at least 16 (it carries a timestamp)")
    args.binary = os.path.abspath(args.binary)
    if not os.access(args.binary, os.X_OK):
        log(f"{args.binary} not found (build it first, or set GW_BINARY / --binary)")
        return 1
    if shutil.which("taskset") is None:
        log("taskset is required")
        return 1

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 4 * args.streams + 1024
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(need, soft)), hard))
    os.sched_setaffinity(0, {args.client_cpu})

    stamp = time.strftime("%Y%m%dT%H%M%S")
    out = ROOT / "bench" / "results" / f"ws-{stamp}"
    out.mkdir(parents=True, exist_ok=True)
    servers = Servers(args.binary, args.server_cpu, out, "gateway" in targets)
    results: dict = {"args": vars(args), "latency": {}, "maxrate": {}}
    try:
        ports = {"direct": servers.mock_port, "gateway": servers.gw_port}
        # Sessions: free-plan ones for the latency streams, unlimited ones for max rate.
        big_requests = {"api_requests_per_minute": BIG, "groups": {g: BIG for g in GROUPS},
                        "concurrent_sessions": None}
        max_streams = max(int(x) for x in args.maxrate_streams.split(","))
        if "gateway" in targets:
            free_key = new_account(servers, "bench_free", "free", big_requests)
            huge_key = new_account(servers, "bench_huge", "enterprise",
                                   {**big_requests, "ws_messages_per_second": BIG,
                                    "ws_audio_bytes_per_second": BIG})
            latency_sessions = (create_sessions(servers, free_key, args.streams)
                                if "latency" in scenarios else [])
            maxrate_sessions = create_sessions(servers, huge_key, max_streams)
        else:
            latency_sessions = [(f"sess_bench_{i}", "kst_bench") for i in range(args.streams)]
            maxrate_sessions = [(f"sess_max_{i}", "kst_bench") for i in range(max_streams)]

        def paths(sessions, mode):
            return [f"/v1/sessions/{sid}/connect?token={tok}&mode={mode}"
                    for sid, tok in sessions]

        # Sanity: one echo through every target before anything is measured.
        async def sanity(port):
            got = []
            c = await WsClient.connect("127.0.0.1", port,
                                       paths(maxrate_sessions[:1], "echo")[0],
                                       lambda b, s, n: got.append(bytes(b[s:s + n])))
            c.send_raw(WsClient.frame(0x2, b"sanity"))
            await c.ping()
            for _ in range(100):
                if got:
                    break
                await asyncio.sleep(0.02)
            await c.close()
            if got != [b"sanity"]:
                raise RuntimeError(f"no echo through port {port}: {got!r}")

        for t in targets:
            asyncio.run(sanity(ports[t]))

        interval = args.interval_ms / 1000
        # The mock shares the server CPU: by default it skips hashing what it counts
        # (a fifth of its CPU per 1 KiB message), so more of that CPU is the gateway's.
        maxrate_mode = "count" if args.mock_hash else "count&hash=0"
        for run in range(1, args.runs + 1):
            if "latency" in scenarios:
                for t in targets:
                    log(f"run {run}/{args.runs}: latency, {args.streams} streams, {t} "
                        f"({args.warmup:g}+{args.duration:g} s)")
                    r = asyncio.run(latency_run(servers, ports[t],
                                                paths(latency_sessions, "echo"),
                                                args.frame_bytes, interval, args.warmup,
                                                args.duration))
                    servers.check_alive()
                    results["latency"].setdefault(t, []).append(r)
                    log(f"  p50 {r['p50']:.2f} ms, p99 {r['p99']:.2f} ms, lost {r['lost']}, "
                        f"client CPU {r['client_cpu']:.0%}")
            if "maxrate" in scenarios:
                for k in [int(x) for x in args.maxrate_streams.split(",")]:
                    for t in targets:
                        log(f"run {run}/{args.runs}: maxrate, {k} stream(s), {t} "
                            f"({args.maxrate_seconds:g} s)")
                        r = asyncio.run(maxrate_run(servers, ports[t],
                                                    paths(maxrate_sessions[:k], maxrate_mode),
                                                    args.message_bytes, args.maxrate_seconds))
                        servers.check_alive()
                        results["maxrate"].setdefault(f"{k}:{t}", []).append(r)
                        log(f"  {r['messages_per_s']:,.0f} msg/s, client CPU "
                            f"{r['client_cpu']:.0%}")
    finally:
        servers.stop()

    (out / "results.json").write_text(json.dumps(results, indent=2, default=str))
    summary = render(results, args, scenarios, targets)
    (out / "summary.md").write_text(summary)
    print(summary)
    log(f"results in {out}")
    return 0


def med(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def med_cpu(runs: list[dict], who: str) -> float:
    return statistics.median(r["server_cpu"].get(who, float("nan")) for r in runs)


def render(results: dict, args, scenarios: list[str], targets: list[str]) -> str:
    lines = [f"# WebSocket benchmark {time.strftime('%Y%m%dT%H%M%S')}", ""]
    version = subprocess.run([args.binary, "--version"], capture_output=True, text=True)
    lines.append(f"Load from one Python process on CPU {args.client_cpu}; mock upstream and "
                 f"gateway on CPU {args.server_cpu}; median of {args.runs} run(s). Host: "
                 f"{os.cpu_count()} CPUs, {os.uname().release}. "
                 f"{(version.stdout or version.stderr).strip().splitlines()[0]}.")
    lines.append("")
    saturated = []
    if "latency" in scenarios and results["latency"]:
        lines += [f"## Latency: {args.streams} streams, {args.frame_bytes}-byte binary frame "
                  f"every {args.interval_ms:g} ms each (echo), {args.duration:g} s measured", "",
                  "| target | frames sent | lost | sent B/s | echoed B/s | RTT p50 ms | p90 | "
                  "p99 | p99.9 | max | client CPU | server CPU (gateway / mock) |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
        for t in targets:
            runs = results["latency"].get(t)
            if not runs:
                continue
            cu = med(runs, "client_cpu")
            if cu > 0.9:
                saturated.append(f"latency/{t}")
            cpu = {k: med_cpu(runs, k) for k in runs[0]["server_cpu"]}
            lines.append(
                f"| {t} | {med(runs, 'sent'):,.0f} | {med(runs, 'lost'):,.0f} | "
                f"{med(runs, 'sent_bytes_per_s'):,.0f} | {med(runs, 'echo_bytes_per_s'):,.0f} | "
                f"{med(runs, 'p50'):.2f} | {med(runs, 'p90'):.2f} | {med(runs, 'p99'):.2f} | "
                f"{med(runs, 'p999'):.2f} | {med(runs, 'max'):.2f} | {cu:.0%} | {fmt_cpu(cpu)} |")
        if "direct" in results["latency"] and "gateway" in results["latency"]:
            d, g = results["latency"]["direct"], results["latency"]["gateway"]
            lines += ["", "Added by the gateway (gateway percentile − direct percentile): " +
                      ", ".join(f"{p} {med(g, p) - med(d, p):+.2f} ms"
                                for p in ("p50", "p90", "p99", "p999")) + "."]
        lines.append("")
    if "maxrate" in scenarios and results["maxrate"]:
        lines += [f"## Max rate: {args.message_bytes}-byte binary messages as fast as accepted, "
                  f"{args.maxrate_seconds:g} s per run (counted by the mock, "
                  f"{'hashing' if args.mock_hash else 'not hashing'})", "",
                  "| streams | target | messages/s | MiB/s | gateway/direct | client CPU | "
                  "server CPU (gateway / mock) |",
                  "|---:|---|---:|---:|---:|---:|---|"]
        for k in [int(x) for x in args.maxrate_streams.split(",")]:
            for t in targets:
                runs = results["maxrate"].get(f"{k}:{t}")
                if not runs:
                    continue
                cu = med(runs, "client_cpu")
                if cu > 0.9:
                    saturated.append(f"maxrate/{k}/{t}")
                ratio = ""
                direct = results["maxrate"].get(f"{k}:direct")
                if t == "gateway" and direct:
                    ratio = f"{med(runs, 'messages_per_s') / med(direct, 'messages_per_s'):.2f}x"
                cpu = {w: med_cpu(runs, w) for w in runs[0]["server_cpu"]}
                lines.append(f"| {k} | {t} | {med(runs, 'messages_per_s'):,.0f} | "
                             f"{med(runs, 'mib_per_s'):,.1f} | {ratio} | {cu:.0%} | "
                             f"{fmt_cpu(cpu)} |")
        lines.append("")
    if saturated:
        lines.append("**Client CPU above 90%** in: " + ", ".join(saturated) + ". The load "
                     "generator (one Python process) is then a bottleneck: rates are lower "
                     "bounds, and latencies include client-side queueing (for both targets).")
        lines.append("")
    lines.append("Server CPU is each process's CPU time over wall time (both share CPU "
                 f"{args.server_cpu}, so they add up to at most 100%).")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
