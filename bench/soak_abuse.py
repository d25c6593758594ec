#!/usr/bin/python3
"""The abusive client of bench/soak.sh: everything a hostile or broken client may send, at a
steady pace, beside the legitimate traffic, for --seconds.

Each behaviour runs as its own loop and counts the outcome of every attempt (an HTTP status,
a WebSocket close code, "refused" for a connection closed before it could send anything,
"closed", "reset", "timeout"):

  made_up_keys   a fresh made-up key (`sk_live_` + 43 base62; every fourth malformed) on a
                 new connection from a new source address in 127.100.0.0/16 (unknown_key:
                 anonymous makes each address an anonymous caller with its own budget)
  xff_trusted    from the trusted proxy (--trusted, e.g. 127.0.0.9) on one keep-alive
                 connection, a new X-Forwarded-For client address (10.0.0.0/8) each time
  xff_stranger   the same from an untrusted peer (127.70.0.1): X-Forwarded-For is ignored,
                 so its anonymous budget runs out (429)
  idle           every --idle-every s, --idle-conns connections from one address
                 (127.66.0.1) that send nothing: over max_connections_per_ip they are
                 refused, the rest are closed by the gateway's deadline (or dropped by us
                 after --idle-hold s)
  churn          connections from many addresses (127.65.0.0/16) opened and closed at once
  slowloris      --slow-conns connections from 127.67.0.0/24 sending one header line a
                 second and never ending the head, each reopened once the gateway closes it
                 (outcome: the seconds it stayed open, rounded)
  oversized      a head with a 20 KiB header line (431 expected)
  garbage        2 KiB of random bytes (400 or a close expected)
  fake_upgrades  stream upgrades for made-up sessions from one address (127.68.0.1), 4 a
                 second: over websocket.upgrades_per_minute_per_ip they get 429
  dup_streams    every 5 s, three streams of one made-up session (over
                 websocket.max_streams_per_session = 2 the third gets 429), held 2 s
  big_message    every 15 s, --big-streams streams at once, each holding an unfinished
                 message of --big-bytes (128 KiB fragments, never the last one): past the
                 shared websocket.max_buffered_bytes some are closed with 1013
  huge_frame     every 15 s, a stream sending one frame over websocket.max_message_bytes
                 (--max-message-bytes; 1009 expected)

Cumulative counts go to --status (JSON, replaced atomically) every second.

  soak_abuse.py --port P --status FILE --seconds 600 --trusted 127.0.0.9
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import struct
import sys
import time
from collections import defaultdict

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
PATH = "/v1/sessions/sess_soak/transcript"


class Tally:
    def __init__(self) -> None:
        self.outcomes: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def count(self, action: str, outcome: str) -> None:
        self.outcomes[action][outcome] += 1

    def write(self, path: str) -> None:
        tmp = f"{path}.tmp"
        with open(tmp, "w") as f:
            json.dump({"time": time.time(), "outcomes": self.outcomes}, f)
        os.replace(tmp, path)


def made_up_key(malformed: bool = False) -> str:
    secret = "".join(random.choices(ALPHABET, k=43))
    return ("sk_fake_" if malformed else "sk_live_") + secret


def nth_address(prefix: tuple[int, int], n: int) -> str:
    """The n-th address of a /16 under 127.0.0.0/8, skipping .0 and .255 host bytes."""
    n %= 254 * 256
    return f"127.{prefix[1]}.{n // 254}.{n % 254 + 1}"


async def connect(port: int, source: str, timeout: float = 5):
    return await asyncio.wait_for(
        asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0)), timeout)


async def read_status(reader: asyncio.StreamReader, timeout: float = 10) -> str:
    """The status code of the response head, or what happened instead."""
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
    except asyncio.IncompleteReadError as e:
        return "refused" if not e.partial else "closed"
    except asyncio.LimitOverrunError:
        return "head_too_long"
    except asyncio.TimeoutError:
        return "timeout"
    except ConnectionResetError:
        return "reset"
    parts = head.split(b"\r\n", 1)[0].split()
    return parts[1].decode() if len(parts) > 1 else "garbled"


async def read_response(reader: asyncio.StreamReader, timeout: float = 10) -> str:
    """Status of one response, its body consumed (Content-Length only: what the gateway and
    the mock send here)."""
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        await asyncio.wait_for(reader.readexactly(length), timeout)
    except asyncio.IncompleteReadError as e:
        return "refused" if not e.partial else "closed"
    except asyncio.TimeoutError:
        return "timeout"
    except (ConnectionResetError, BrokenPipeError):
        return "reset"
    return head.split(b"\r\n", 1)[0].split()[1].decode()


def close_quietly(writer) -> None:
    try:
        writer.close()
    except Exception:  # noqa: BLE001
        pass


async def paced(period: float, deadline: float, fn, max_in_flight: int = 32) -> None:
    """Starts fn() every `period` seconds until the deadline, at most max_in_flight at once."""
    sem = asyncio.Semaphore(max_in_flight)
    tasks: set = set()

    async def guarded():
        try:
            await fn()
        finally:
            sem.release()

    next_at = time.monotonic()
    while time.monotonic() < deadline:
        await sem.acquire()
        t = asyncio.ensure_future(guarded())
        tasks.add(t)
        t.add_done_callback(tasks.discard)
        next_at += period
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
    await asyncio.gather(*tasks, return_exceptions=True)


class Abuser:
    def __init__(self, args, tally: Tally) -> None:
        self.args = args
        self.port = args.port
        self.tally = tally
        self.deadline = time.monotonic() + args.seconds
        self.n = defaultdict(int)  # per-action sequence numbers

    def next(self, action: str) -> int:
        self.n[action] += 1
        return self.n[action]

    async def request(self, action: str, source: str, raw: bytes, timeout: float = 10) -> None:
        try:
            reader, writer = await connect(self.port, source)
        except (OSError, asyncio.TimeoutError) as e:
            self.tally.count(action, f"connect_{type(e).__name__}")
            return
        try:
            writer.write(raw)
            self.tally.count(action, await read_status(reader, timeout))
        except (ConnectionResetError, BrokenPipeError):
            self.tally.count(action, "reset")
        finally:
            close_quietly(writer)

    # ---- HTTP ---------------------------------------------------------------------------

    async def made_up_keys(self) -> None:
        i = self.next("made_up_keys")
        key = made_up_key(malformed=i % 4 == 0)
        raw = (f"GET {PATH} HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer {key}\r\n"
               f"Connection: close\r\n\r\n").encode()
        await self.request("made_up_keys", nth_address((127, 100), i), raw)

    async def xff(self, action: str, source: str, period: float) -> None:
        """One keep-alive connection, a new forwarded client address per request."""
        writer = None
        while time.monotonic() < self.deadline:
            try:
                if writer is None:
                    reader, writer = await connect(self.port, source)
                i = self.next(action)
                client = f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"
                writer.write((f"GET {PATH} HTTP/1.1\r\nHost: gw\r\nX-Forwarded-For: {client}\r\n"
                              f"Authorization: Bearer {made_up_key()}\r\n\r\n").encode())
                outcome = await read_response(reader)
                self.tally.count(action, outcome)
                if not outcome.isdigit():
                    close_quietly(writer)
                    writer = None
            except (OSError, asyncio.TimeoutError) as e:
                self.tally.count(action, f"connect_{type(e).__name__}")
                if writer is not None:
                    close_quietly(writer)
                writer = None
            await asyncio.sleep(period)
        if writer is not None:
            close_quietly(writer)

    async def oversized(self) -> None:
        raw = (f"GET {PATH} HTTP/1.1\r\nHost: gw\r\nX-Pad: {'a' * 20480}\r\n"
               f"Connection: close\r\n\r\n").encode()
        await self.request("oversized", nth_address((127, 72), self.next("oversized")), raw)

    async def garbage(self) -> None:
        await self.request("garbage", nth_address((127, 73), self.next("garbage")),
                           os.urandom(2048), timeout=5)

    # ---- connections --------------------------------------------------------------------

    async def idle_wave(self) -> None:
        """Many idle connections from one address; how each one ended."""
        async def one():
            try:
                reader, writer = await connect(self.port, "127.66.0.1")
            except (OSError, asyncio.TimeoutError) as e:
                self.tally.count("idle", f"connect_{type(e).__name__}")
                return
            t0 = time.monotonic()
            try:
                data = await asyncio.wait_for(reader.read(4096), self.args.idle_hold)
                waited = time.monotonic() - t0
                if waited < 0.5 and not data:
                    self.tally.count("idle", "refused")
                else:
                    self.tally.count("idle", f"closed_by_gateway_after_{round(waited)}s")
            except asyncio.TimeoutError:
                self.tally.count("idle", "dropped_by_us")
            except ConnectionResetError:
                self.tally.count("idle", "reset")
            finally:
                close_quietly(writer)

        await asyncio.gather(*(one() for _ in range(self.args.idle_conns)))

    async def churn(self) -> None:
        try:
            _, writer = await connect(self.port, nth_address((127, 65), self.next("churn")))
            self.tally.count("churn", "opened_and_dropped")
            close_quietly(writer)
        except (OSError, asyncio.TimeoutError) as e:
            self.tally.count("churn", f"connect_{type(e).__name__}")

    async def slowloris(self, k: int) -> None:
        source = f"127.67.0.{k + 1}"
        while time.monotonic() < self.deadline:
            try:
                reader, writer = await connect(self.port, source)
            except (OSError, asyncio.TimeoutError) as e:
                self.tally.count("slowloris", f"connect_{type(e).__name__}")
                await asyncio.sleep(1)
                continue
            t0 = time.monotonic()
            writer.write(f"GET {PATH} HTTP/1.1\r\nHost: gw\r\n".encode())
            line = 0
            outcome = "dropped_by_us"
            try:
                while time.monotonic() < self.deadline:
                    # A header line a second; the gateway's answer (408 or a close) ends it.
                    try:
                        data = await asyncio.wait_for(reader.read(4096), 1.0)
                    except asyncio.TimeoutError:
                        line += 1
                        writer.write(f"X-Slow-{line}: y\r\n".encode())
                        await writer.drain()
                        continue
                    status = data.split(b"\r\n", 1)[0].split()[1:2]
                    outcome = (f"{status[0].decode()}_after_{round(time.monotonic() - t0)}s"
                               if data else f"closed_after_{round(time.monotonic() - t0)}s")
                    break
            except (ConnectionResetError, BrokenPipeError):
                outcome = f"reset_after_{round(time.monotonic() - t0)}s"
            finally:
                close_quietly(writer)
            self.tally.count("slowloris", outcome)

    # ---- streams ------------------------------------------------------------------------

    async def upgrade(self, source: str, session_id: str, token: str | None = "kst_soakfake"):
        """Opens a stream by hand: (status, reader, writer); reader/writer None unless 101."""
        reader, writer = await connect(self.port, source)
        key = base64.b64encode(os.urandom(16)).decode()
        query = f"?token={token}&mode=count&hash=0" if token else ""
        writer.write((f"GET /v1/sessions/{session_id}/connect{query} HTTP/1.1\r\nHost: gw\r\n"
                      f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                      f"Sec-WebSocket-Version: 13\r\n\r\n").encode())
        status = await read_status(reader)
        if status != "101":
            close_quietly(writer)
            return status, None, None
        return status, reader, writer

    @staticmethod
    def frame(opcode: int, payload: bytes, fin: bool = True, length: int | None = None) -> bytes:
        """A client frame, masked with the all-zero key (RFC 6455 allows it; the payload is
        then sent as is). `length` may announce more than the payload."""
        n = len(payload) if length is None else length
        b0 = (0x80 if fin else 0) | opcode
        if n < 126:
            head = struct.pack("!BB", b0, 0x80 | n)
        elif n < 65536:
            head = struct.pack("!BBH", b0, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", b0, 0x80 | 127, n)
        return head + b"\0\0\0\0" + payload

    @staticmethod
    async def close_code(reader: asyncio.StreamReader, timeout: float) -> str:
        """Reads until the gateway's close frame: its code, or how the connection ended."""
        async def until_close():
            while True:
                b0, b1 = await reader.readexactly(2)
                n = b1 & 0x7F
                if n == 126:
                    n = struct.unpack("!H", await reader.readexactly(2))[0]
                elif n == 127:
                    n = struct.unpack("!Q", await reader.readexactly(8))[0]
                payload = await reader.readexactly(n)
                if b0 & 0x0F == 0x8:
                    return str(struct.unpack("!H", payload[:2])[0]) if len(payload) >= 2 else "close"

        try:
            return await asyncio.wait_for(until_close(), timeout)
        except asyncio.IncompleteReadError:
            return "closed_without_close_frame"
        except asyncio.TimeoutError:
            return "timeout"
        except ConnectionResetError:
            return "reset"

    async def fake_upgrades(self) -> None:
        i = self.next("fake_upgrades")
        try:
            status, _, writer = await self.upgrade("127.68.0.1", f"sess_fake_{i}")
        except (OSError, asyncio.TimeoutError) as e:
            self.tally.count("fake_upgrades", f"connect_{type(e).__name__}")
            return
        self.tally.count("fake_upgrades", status)
        if writer is not None:
            writer.write(self.frame(0x8, struct.pack("!H", 1000)))
            close_quietly(writer)

    async def dup_streams(self) -> None:
        i = self.next("dup_streams")
        held = []
        try:
            for _ in range(3):
                status, _, writer = await self.upgrade(nth_address((127, 69), i), f"sess_dup_{i}")
                self.tally.count("dup_streams", status)
                if writer is not None:
                    held.append(writer)
            await asyncio.sleep(2)
        except (OSError, asyncio.TimeoutError) as e:
            self.tally.count("dup_streams", f"connect_{type(e).__name__}")
        finally:
            for w in held:
                w.write(self.frame(0x8, struct.pack("!H", 1000)))
                close_quietly(w)

    async def big_message(self) -> None:
        """Several streams at once, each holding an unfinished message of --big-bytes: past
        the shared websocket.max_buffered_bytes budget some are closed (1013)."""
        i = self.next("big_message")

        async def one(k: int):
            try:
                status, reader, writer = await self.upgrade(nth_address((127, 71), i * 8 + k),
                                                            f"sess_big_{i}_{k}")
            except (OSError, asyncio.TimeoutError) as e:
                self.tally.count("big_message", f"connect_{type(e).__name__}")
                return
            if writer is None:
                self.tally.count("big_message", f"upgrade_{status}")
                return
            closer = asyncio.ensure_future(self.close_code(reader, 6))
            try:
                opcode, sent, piece = 0x2, 0, 128 * 1024
                while sent < self.args.big_bytes and not closer.done():
                    writer.write(self.frame(opcode, os.urandom(piece), fin=False))
                    opcode = 0x0  # continuation frames
                    sent += piece
                    await writer.drain()
                    await asyncio.sleep(0.05)
            except (ConnectionResetError, BrokenPipeError):
                pass
            outcome = await closer  # held unfinished until the gateway closes it, or 6 s
            self.tally.count("big_message", "held_unfinished" if outcome == "timeout" else outcome)
            close_quietly(writer)

        await asyncio.gather(*(one(k) for k in range(self.args.big_streams)))

    async def huge_frame(self) -> None:
        """One frame past websocket.max_message_bytes (1009 expected)."""
        i = self.next("huge_frame")
        try:
            status, reader, writer = await self.upgrade(nth_address((127, 74), i), f"sess_huge_{i}")
        except (OSError, asyncio.TimeoutError) as e:
            self.tally.count("huge_frame", f"connect_{type(e).__name__}")
            return
        if writer is None:
            self.tally.count("huge_frame", f"upgrade_{status}")
            return
        size = self.args.max_message_bytes + 128 * 1024
        try:
            writer.write(self.frame(0x2, os.urandom(size), length=2 * size))
            await writer.drain()
        except (ConnectionResetError, BrokenPipeError):
            pass
        self.tally.count("huge_frame", await self.close_code(reader, 10))
        close_quietly(writer)

    # ---- all of it ----------------------------------------------------------------------

    async def every(self, seconds: float, fn) -> None:
        while time.monotonic() < self.deadline:
            t0 = time.monotonic()
            try:
                await fn()
            except Exception as e:  # noqa: BLE001 - an abuser's failure is an outcome too
                self.tally.count(fn.__name__, f"error_{type(e).__name__}")
            await asyncio.sleep(max(0.0, seconds - (time.monotonic() - t0)))

    async def run(self) -> None:
        a, d = self.args, self.deadline
        await asyncio.gather(
            paced(1 / a.key_rate, d, self.made_up_keys),
            self.xff("xff_trusted", a.trusted, 1 / a.xff_rate),
            self.xff("xff_stranger", "127.70.0.1", 1 / a.xff_rate),
            self.every(a.idle_every, self.idle_wave),
            paced(1 / a.churn_rate, d, self.churn),
            *(self.slowloris(k) for k in range(a.slow_conns)),
            paced(0.2, d, self.oversized),
            paced(0.2, d, self.garbage),
            paced(0.25, d, self.fake_upgrades),
            self.every(5, self.dup_streams),
            self.every(15, self.big_message),
            self.every(15, self.huge_frame),
        )


async def main_async(args) -> None:
    tally = Tally()
    abuser = Abuser(args, tally)

    async def report():
        while True:
            tally.write(args.status)
            await asyncio.sleep(1)

    reporter = asyncio.ensure_future(report())
    try:
        await abuser.run()
    finally:
        reporter.cancel()
        tally.write(args.status)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--status", required=True)
    ap.add_argument("--seconds", type=float, default=600)
    ap.add_argument("--trusted", default="127.0.0.9", help="an address in trusted_proxies")
    ap.add_argument("--key-rate", type=float, default=40, help="made-up keys per second")
    ap.add_argument("--xff-rate", type=float, default=10, help="requests/s of each xff loop")
    ap.add_argument("--churn-rate", type=float, default=20)
    ap.add_argument("--idle-conns", type=int, default=100)
    ap.add_argument("--idle-every", type=float, default=15)
    ap.add_argument("--idle-hold", type=float, default=12)
    ap.add_argument("--slow-conns", type=int, default=16)
    ap.add_argument("--big-streams", type=int, default=4)
    ap.add_argument("--big-bytes", type=int, default=768 << 10)
    ap.add_argument("--max-message-bytes", type=int, default=1 << 20,
                    help="the gateway's websocket.max_message_bytes")
    args = ap.parse_args()
    asyncio.run(main_async(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
