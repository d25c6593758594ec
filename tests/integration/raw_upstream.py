"""A recording upstream for the request-smuggling tests, and raw HTTP/1.1 client helpers.

`RawUpstream` is a TCP server on one background thread (plain sockets, a selector loop)
that keeps every byte each connection sent it, exactly, and answers every request it can frame with a 200 whose JSON
body echoes what it parsed. It frames requests the most lenient way, the way a careless
backend would: bare LF line endings, obs-fold, whitespace before the colon and duplicate
fields are all accepted; a `Transfer-Encoding` containing "chunked" anywhere means a chunked
body, else the first `Content-Length`, else no body. So if the gateway ever forwarded
something that two parsers could read two ways, the recorded bytes show it:
`lenient_parse_all(data, "te")` and `lenient_parse_all(data, "cl")` re-read them with
Transfer-Encoding or Content-Length winning when both are present, and a test checks that
both readings agree and that neither finds a request the gateway did not admit.

The fixtures (`raw_upstream_module`, module-scoped; `raw_upstream`, the same server with
its recordings cleared for one test) and `start_gateway` / `attach` (a gateway shared by the
tests of one module, its log shown when one of them fails) are imported by the test files.
"""

from __future__ import annotations

import http.client
import io
import json
import re
import selectors
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from helpers import Gateway, Response, base_config, deep_merge, free_port, wait_until

U64 = 1 << 64


# --------------------------------------------------------------------------------------
# The lenient parser (pure functions)


@dataclass
class RawRequest:
    method: str
    target: str
    version: str
    headers: list[tuple[str, str]]
    body: bytes
    raw: bytes = b""  # the bytes this request was read from, exactly

    def values(self, name: str) -> list[str]:
        """Every value of the field `name` (case-insensitive), in order."""
        return [v for n, v in self.headers if n.lower() == name.lower()]

    def header(self, name: str) -> str | None:
        vals = self.values(name)
        return vals[0] if vals else None

    def summary(self) -> tuple:
        """What two readings of the same bytes must agree on."""
        return (self.method, self.target, self.version, tuple(self.headers), self.body)


class _Incomplete(Exception):
    """More bytes are needed to finish the request."""


class _Malformed(Exception):
    """Even the lenient parser cannot frame this."""


def _line(data: bytes, pos: int) -> tuple[bytes, int]:
    """The line at `pos` without its LF (and one CR before it), and the position after it."""
    nl = data.find(b"\n", pos)
    if nl < 0:
        raise _Incomplete
    line = data[pos:nl]
    if line.endswith(b"\r"):
        line = line[:-1]
    return line, nl + 1


def _content_length(value: str) -> int:
    m = re.match(r"\s*\+?(\d+)", value)
    return int(m.group(1)) if m else 0


def _chunked(data: bytes, pos: int) -> tuple[bytes, int]:
    body = bytearray()
    while True:
        line, pos = _line(data, pos)
        m = re.match(rb"[ \t]*([0-9A-Fa-f]+)", line)  # leading hex digits, like strtoul
        if not m:
            raise _Malformed(f"chunk size line {line[:40]!r}")
        size = int(m.group(1), 16) % U64  # wraps like a naive 64-bit parser
        if size == 0:
            while True:  # trailer section, up to the empty line
                trailer, pos = _line(data, pos)
                if not trailer:
                    return bytes(body), pos
        if len(data) - pos < size:
            raise _Incomplete
        body += data[pos:pos + size]
        pos += size
        # The CRLF after the data: optional here (lenient), but wait until it is decidable.
        if pos >= len(data):
            raise _Incomplete
        if data[pos:pos + 1] == b"\r":
            if pos + 1 >= len(data):
                raise _Incomplete
            pos += 1
        if data[pos:pos + 1] == b"\n":
            pos += 1


def _parse_one(data: bytes, pos: int, prefer: str) -> tuple[RawRequest, int]:
    start = pos
    while True:  # empty lines before a request line are skipped (RFC 9112 §2.2)
        line, nxt = _line(data, pos)
        if line.strip():
            break
        pos = nxt
    tokens = line.split()
    if len(tokens) < 2:
        raise _Malformed(f"request line {line[:80]!r}")
    method, target = tokens[0].decode("latin-1"), tokens[1].decode("latin-1")
    version = tokens[2].decode("latin-1") if len(tokens) > 2 else "HTTP/0.9"
    pos = nxt
    headers: list[tuple[str, str]] = []
    while True:
        line, pos = _line(data, pos)
        if not line:
            break
        if line[:1] in (b" ", b"\t") and headers:  # obs-fold: continues the previous value
            name, value = headers[-1]
            more = line.strip(b" \t").decode("latin-1")
            headers[-1] = (name, f"{value} {more}".strip())
            continue
        colon = line.find(b":")
        if colon < 0:
            continue  # not a field: ignored
        headers.append((line[:colon].strip(b" \t").decode("latin-1"),
                        line[colon + 1:].strip(b" \t").decode("latin-1")))
    chunked = any("chunked" in v.lower() for n, v in headers if n.lower() == "transfer-encoding")
    lengths = [v for n, v in headers if n.lower() == "content-length"]
    length = _content_length(lengths[0]) if lengths else None
    if prefer == "te":
        use_chunked = chunked
    elif prefer == "cl":
        use_chunked = chunked and length is None
    else:
        raise ValueError(f"prefer must be 'te' or 'cl', not {prefer!r}")
    if use_chunked:
        body, pos = _chunked(data, pos)
    elif length is not None:
        if len(data) - pos < length:
            raise _Incomplete
        body, pos = data[pos:pos + length], pos + length
    else:
        body = b""
    return RawRequest(method, target, version, headers, bytes(body), bytes(data[start:pos])), pos


@dataclass
class Parsed:
    requests: list[RawRequest]
    rest: bytes          # bytes after the last complete request (an incomplete one, or junk)
    malformed: str = ""  # why `rest` cannot be framed at all ("" if it may just be incomplete)


def lenient_parse(data: bytes, prefer: str) -> Parsed:
    """Every complete request in `data`, read leniently; `prefer` ("te" or "cl") says which
    of Transfer-Encoding and Content-Length frames the body when both are present."""
    out: list[RawRequest] = []
    pos = 0
    while pos < len(data):
        if not data[pos:].strip():
            return Parsed(out, data[pos:])  # trailing blank lines only
        try:
            req, pos2 = _parse_one(data, pos, prefer)
        except _Incomplete:
            return Parsed(out, data[pos:])
        except _Malformed as exc:
            return Parsed(out, data[pos:], str(exc) or "malformed")
        out.append(req)
        pos = pos2
    return Parsed(out, b"")


def lenient_parse_all(data: bytes, prefer: str) -> list[RawRequest]:
    """The complete requests of `lenient_parse` (see there)."""
    return lenient_parse(data, prefer).requests


# --------------------------------------------------------------------------------------
# The recording server


@dataclass
class _Conn:
    sock: socket.socket
    data: bytearray = field(default_factory=bytearray)
    parsed_upto: int = 0  # end of the last request answered
    baseline: int = 0     # what reset() left behind
    closed: bool = False
    broken: bool = False  # unparseable: answered 400, records what follows, answers nothing


def _answer(req: RawRequest) -> bytes:
    body = json.dumps({"method": req.method, "target": req.target,
                       "headers": [[n, v] for n, v in req.headers],
                       "body_len": len(req.body)}).encode()
    head = (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    return head if req.method == "HEAD" else head + body


class RawUpstream:
    """See the module docstring. One thread serves every connection (a selector loop), so
    `sync()` can tell exactly when everything the kernel had received for this server at
    the time of the call is recorded. The accessors sync first: whatever a gateway sent
    before a test looks is in what the test sees. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._conns: list[_Conn] = []
        self._requests: list[RawRequest] = []
        self._barriers: list[threading.Event] = []  # guarded by _lock
        self._stopping = False
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self._listener.setblocking(False)
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ, None)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._thread = threading.Thread(target=self._loop, name="raw-upstream", daemon=True)
        self._thread.start()

    # -- what was received (since the last reset) --

    def sync(self, timeout: float = 5.0) -> None:
        """Returns once every byte and connection the kernel held for this server when
        called has been read and recorded."""
        done = threading.Event()
        with self._lock:
            self._barriers.append(done)
        self._wake()
        if not done.wait(timeout):
            raise TimeoutError(f"raw upstream did not settle within {timeout}s")

    def connections(self) -> list[bytes]:
        """The bytes of every connection that sent something, per connection, in order."""
        self.sync()
        with self._lock:
            return [bytes(c.data[c.baseline:]) for c in self._conns if len(c.data) > c.baseline]

    def all_bytes(self) -> bytes:
        return b"".join(self.connections())

    def requests(self) -> list[RawRequest]:
        """Every request this server framed and answered, in arrival order."""
        self.sync()
        with self._lock:
            return list(self._requests)

    def open_with_partial_request(self) -> int:
        """Connections still open that received bytes since the last reset and hold the
        start of a request never completed."""
        self.sync()
        with self._lock:
            return sum(1 for c in self._conns
                       if not c.closed and len(c.data) > max(c.parsed_upto, c.baseline))

    def reset(self) -> None:
        self.sync()
        with self._lock:
            for c in self._conns:
                c.baseline = len(c.data)
            self._requests = []

    def stop(self) -> None:
        self._stopping = True
        self._wake()
        self._thread.join(5)
        for c in self._conns:
            c.sock.close()
        self._listener.close()
        self._wake_r.close()
        self._wake_w.close()
        self._selector.close()

    # -- serving (the loop thread only) --

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass

    def _loop(self) -> None:
        while not self._stopping:
            for key, _ in self._selector.select():
                self._ready(key)
            with self._lock:
                waiting = bool(self._barriers)
            if waiting and not self._selector.select(timeout=0):
                # Nothing readable: everything received so far is recorded.
                with self._lock:
                    barriers, self._barriers = self._barriers, []
                for done in barriers:
                    done.set()

    def _ready(self, key) -> None:
        if key.fileobj is self._wake_r:
            try:
                while self._wake_r.recv(4096):
                    pass
            except BlockingIOError:
                pass
        elif key.fileobj is self._listener:
            while True:
                try:
                    sock, _ = self._listener.accept()
                except (BlockingIOError, InterruptedError):
                    return
                except OSError:
                    return
                sock.setblocking(False)
                conn = _Conn(sock)
                with self._lock:
                    self._conns.append(conn)
                self._selector.register(sock, selectors.EVENT_READ, conn)
        else:
            self._readable(key.data)

    def _readable(self, conn: _Conn) -> None:
        try:
            chunk = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._selector.unregister(conn.sock)
            conn.sock.close()
            with self._lock:
                conn.closed = True
            return
        with self._lock:
            conn.data += chunk
            if conn.broken:
                return
            data = bytes(conn.data[conn.parsed_upto:])
        parsed = lenient_parse(data, "te")
        out = b""
        with self._lock:
            for req in parsed.requests:
                self._requests.append(req)
                out += _answer(req)
            conn.parsed_upto += len(data) - len(parsed.rest)
            if parsed.malformed:
                conn.broken = True
                out += (b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                        b"Connection: close\r\n\r\n")
        if out:
            self._send(conn, out)
        if parsed.malformed:
            try:
                conn.sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    @staticmethod
    def _send(conn: _Conn, out: bytes) -> None:
        """Small answers: the socket buffer takes them at once; a peer that stops reading
        for seconds is not one of ours."""
        conn.sock.settimeout(5)
        try:
            conn.sock.sendall(out)
        except OSError:
            pass
        finally:
            conn.sock.setblocking(False)


@pytest.fixture(scope="module")
def raw_upstream_module():
    up = RawUpstream()
    yield up
    up.stop()


@pytest.fixture
def raw_upstream(raw_upstream_module) -> RawUpstream:
    """The module's recording upstream, with its recordings cleared for this test."""
    raw_upstream_module.reset()
    return raw_upstream_module


# --------------------------------------------------------------------------------------
# A gateway shared by the tests of one module


def start_gateway(binary: str, workdir: Path, upstream_url: str,
                  overrides: dict | None = None, name: str = "gateway") -> Gateway:
    cfg = deep_merge(base_config(free_port(), free_port(), upstream_url, workdir), overrides or {})
    gw = Gateway(binary, workdir, cfg, name)
    try:
        gw.wait_ready()
    except BaseException:
        gw.stop()
        raise
    return gw


def attach(request, gw: Gateway) -> Gateway:
    """Shows `gw`'s log in the report of the current test if it fails (see conftest.py)."""
    node = request.node
    if not hasattr(node, "gw_processes"):
        node.gw_processes = []
    node.gw_processes.append(gw.proc)
    assert gw.proc.alive(), f"{gw.proc.name} is not running:\n{gw.proc.output()[-5000:]}"
    return gw


# --------------------------------------------------------------------------------------
# A raw client: exact bytes out, responses parsed back


@dataclass
class RawResponse:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    head: bytes

    def values(self, name: str) -> list[str]:
        return [v for n, v in self.headers if n.lower() == name.lower()]

    def header(self, name: str) -> str | None:
        vals = self.values(name)
        return vals[0] if vals else None

    def as_response(self) -> Response:
        """As helpers.Response, for assert_error_shape / assert_admitted."""
        status_line_end = self.head.find(b"\r\n")
        msg = http.client.parse_headers(io.BytesIO(self.head[status_line_end + 2:]))
        return Response(self.status, self.reason, msg, self.body)

    def json(self):
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"RawResponse({self.status} {self.reason}, {self.headers}, {self.body[:300]!r})"


def parse_responses(data: bytes, closed: bool = True) -> tuple[list[RawResponse], bytes]:
    """The complete responses in `data` and what is left. A response framed by neither
    Content-Length nor chunked ends at the close (when `closed`)."""
    out: list[RawResponse] = []
    pos = 0
    while pos < len(data):
        end = data.find(b"\r\n\r\n", pos)
        if end < 0:
            break
        head = data[pos:end + 4]
        m = re.match(rb"HTTP/1\.[01] (\d{3}) ?([^\r\n]*)\r\n", head)
        if not m:
            break
        status = int(m.group(1))
        headers = []
        for line in head[m.end():-4].split(b"\r\n"):
            if b":" in line:
                n, v = line.split(b":", 1)
                headers.append((n.decode("latin-1").strip(), v.decode("latin-1").strip()))
        lower = {n.lower(): v for n, v in headers}
        body_at = end + 4
        if status < 200 or status in (204, 304):
            body, nxt = b"", body_at
        elif "chunked" in lower.get("transfer-encoding", "").lower():
            try:
                body, nxt = _chunked(data, body_at)
            except (_Incomplete, _Malformed):
                break
        elif "content-length" in lower:
            n = int(lower["content-length"])
            if len(data) - body_at < n:
                break
            body, nxt = data[body_at:body_at + n], body_at + n
        elif closed:
            body, nxt = data[body_at:], len(data)
        else:
            break
        out.append(RawResponse(status, m.group(2).decode("latin-1"), headers, bytes(body),
                               bytes(head)))
        pos = nxt
    return out, data[pos:]


@dataclass
class Exchange:
    raw: bytes                     # everything the server sent
    responses: list[RawResponse]
    closed: bool                   # the server closed the connection (FIN or RST) in time

    @property
    def statuses(self) -> list[int]:
        return [r.status for r in self.responses]


def exchange(port: int, data: bytes, *, half_close: bool = False, until: int | None = None,
             timeout: float = 5.0) -> Exchange:
    """Sends `data` on a new connection and reads until the gateway closes it, or (`until`)
    once that many complete responses arrived, or at most `timeout` seconds. With
    `half_close` the client shuts its sending side after `data`: the gateway then sees the
    end of the stream once it has read everything, and closes when it is done."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(data)
            if half_close:
                s.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the gateway may refuse and close before reading everything
        buf = b""
        closed = False
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            s.settimeout(left)
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                closed = True
                break
            except socket.timeout:
                break
            if not chunk:
                closed = True
                break
            buf += chunk
            if until is not None and len(parse_responses(buf, closed=False)[0]) >= until:
                break
    responses, _ = parse_responses(buf, closed=closed)
    return Exchange(buf, responses, closed)


def request_bytes(method: str = "GET", target: str = "/v1/x", lines: list[str] | tuple = (),
                  body: bytes = b"", host: str | None = "gw", version: str = "HTTP/1.1") -> bytes:
    """A request head written exactly: the request line, `Host` first (unless None), each of
    `lines` as given, CRLF everywhere, then `body` as is (no framing field is added)."""
    head = f"{method} {target} {version}\r\n"
    if host is not None:
        head += f"Host: {host}\r\n"
    head += "".join(f"{line}\r\n" for line in lines)
    return head.encode("latin-1") + b"\r\n" + body


def wait_upstream_settled(raw: RawUpstream, timeout: float = 5.0) -> None:
    """Until no upstream connection holds the start of a request and stays open: a
    half-forwarded request must be abandoned with its connection, never reused."""
    wait_until(lambda: raw.open_with_partial_request() == 0, timeout,
               what="upstream connections holding a partial request to close")
