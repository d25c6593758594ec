"""The upstream pool against an upstream that closes idle keep-alive connections (issue 11
item 4): a pooled connection the upstream closed is never used for a request, a request
whose pooled connection dies before any answer is sent once more on a fresh connection,
and 502 means the upstream really is unavailable.

Each test talks over one client connection, so every request lands on the same gateway
worker and therefore draws on the same per-worker pool. The upstream is
keepalive_upstream.KeepAliveUpstream; a test waits for its own "closed an idle
connection" events rather than for time to pass.
"""

from __future__ import annotations

import json
import socket
import time

import pytest

from helpers import Response, assert_error_shape
from keepalive_upstream import KeepAliveUpstream
from raw_upstream import RawResponse, parse_responses, request_bytes


class KeepAliveClient:
    """One raw client connection to the gateway: a request at a time, exact bytes out.
    (helpers.Client retries on a closed connection itself, which would hide the
    gateway's answers.)"""

    def __init__(self, port: int, key: str):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=15)
        self.key = key
        self.buf = b""
        self.closed = False

    def close(self) -> None:
        self.sock.close()

    def send(self, data: bytes, timeout: float = 15.0) -> RawResponse | None:
        """Sends `data` and returns the one response to it (None: the gateway closed the
        connection before a whole response arrived)."""
        self.sock.sendall(data)
        deadline = time.monotonic() + timeout
        while True:
            responses, rest = parse_responses(self.buf, closed=False)
            if responses:
                self.buf = rest
                return responses[0]
            if self.closed:
                return None
            self.sock.settimeout(max(deadline - time.monotonic(), 0.01))
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                chunk = b""
            if not chunk:
                self.closed = True
                continue
            self.buf += chunk

    def post(self, seq: str, body: bytes, chunked: bool = False,
             path: str | None = None) -> RawResponse | None:
        lines = [f"Authorization: Bearer {self.key}", f"X-Seq: {seq}"]
        if chunked:
            lines.append("Transfer-Encoding: chunked")
            half = len(body) // 2
            framed = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in (body[:half], body[half:]) if p)
            framed += b"0\r\n\r\n"
        else:
            lines.append(f"Content-Length: {len(body)}")
            framed = body
        return self.send(request_bytes("POST", path or f"/v1/things/{seq}", lines, framed))

    def get(self, seq: str, path: str | None = None) -> RawResponse | None:
        lines = [f"Authorization: Bearer {self.key}", f"X-Seq: {seq}"]
        return self.send(request_bytes("GET", path or f"/v1/things/{seq}", lines))


@pytest.fixture
def upstream():
    up = KeepAliveUpstream(idle_timeout=1.0)
    yield up
    up.stop()


@pytest.fixture
def patient_upstream():
    """Never closes an idle connection by itself."""
    up = KeepAliveUpstream(idle_timeout=None)
    yield up
    up.stop()


def client_for(gw) -> KeepAliveClient:
    _, key = gw.new_account("pro")
    return KeepAliveClient(gw.port, key)


def assert_answered_once(up: KeepAliveUpstream, r: RawResponse | None, seq: str,
                         body: bytes = b"") -> None:
    assert r is not None and r.status == 200, r
    seen = up.seen(seq)
    assert len(seen) == 1, [(s.conn, s.method, s.path) for s in seen]
    assert seen[0].body == body, seen[0]
    assert r.json()["body_len"] == len(body), r


def test_requests_after_the_upstream_closed_idle_connections(gateways, upstream):
    """The upstream closes the pooled connection after 1 s idle; the next request of each
    kind is answered 200 on a new connection, and the upstream reads it exactly once."""
    gw = gateways.start(upstream_url=upstream.url)
    c = client_for(gw)
    body = json.dumps({"text": "hello " * 50}).encode()
    try:
        assert_answered_once(upstream, c.post("warm", body), "warm", body)
        kinds = [
            ("content-length", lambda seq: c.post(seq, body), body),
            ("chunked", lambda seq: c.post(seq, body, chunked=True), body),
            ("bodiless", lambda seq: c.get(seq), b""),
        ]
        for n, (seq, send, sent) in enumerate(kinds, start=1):
            upstream.wait_idle_closed(n)  # the pooled connection is closed by now
            connections = upstream.connections
            r = send(seq)
            assert_answered_once(upstream, r, seq, sent)
            assert upstream.seen(seq)[0].conn == connections + 1, "on a new connection"
        assert upstream.dropped == 0
    finally:
        c.close()


@pytest.mark.parametrize("kind", ["content-length", "chunked", "bodiless"])
def test_a_pooled_connection_that_dies_under_the_request_is_retried_once(
        gateways, patient_upstream, kind):
    """The race a pre-use check cannot see: the upstream closes the pooled connection just
    as the request reaches it, unread. The gateway sends the request again on a fresh
    connection: 200, and the upstream read it once."""
    up = patient_upstream
    # A generous idle cap: the second request must go out on the pooled connection.
    gw = gateways.start({"upstream": {"pool_idle_timeout_ms": 600000}}, upstream_url=up.url)
    c = client_for(gw)
    body = b"x" * 3000
    try:
        assert_answered_once(up, c.get("warm"), "warm")
        assert up.connections == 1
        up.drop_next_on_reused(1)
        if kind == "bodiless":
            r, sent = c.get("it"), b""
        else:
            r, sent = c.post("it", body, chunked=kind == "chunked"), body
        assert_answered_once(up, r, "it", sent)
        assert up.dropped == 1  # the first attempt reached a connection that was closing
        assert up.connections == 2
        assert up.seen("it")[0].conn == 2
        # The fresh connection went back to the pool and serves the next request.
        assert_answered_once(up, c.post("after", body), "after", body)
        assert up.seen("after")[0].conn == 2
    finally:
        c.close()


def test_an_upstream_that_closes_mid_response_head_is_502_and_not_retried(
        gateways, patient_upstream):
    up = patient_upstream
    gw = gateways.start({"upstream": {"pool_idle_timeout_ms": 600000}}, upstream_url=up.url)
    c = client_for(gw)
    try:
        assert_answered_once(up, c.get("warm"), "warm")  # the next one goes out pooled
        r = c.post("cut", b"payload", path="/v1/things/partial-head")
        assert r is not None, "the gateway answers a failed exchange"
        assert_error_shape(as_response(r), 502, "upstream_unavailable")
        assert len(up.seen("cut")) == 1, "never sent again after an answer began"
        assert up.connections == 1
    finally:
        c.close()


def test_an_upstream_that_closes_mid_response_body_is_not_retried(gateways, patient_upstream):
    """The head was relayed, so the client learns of the failure by the close; the
    upstream read the request once."""
    up = patient_upstream
    gw = gateways.start({"upstream": {"pool_idle_timeout_ms": 600000}}, upstream_url=up.url)
    c = client_for(gw)
    try:
        assert_answered_once(up, c.get("warm"), "warm")
        r = c.get("cut", "/v1/things/partial-body")
        assert r is None and c.closed, r  # 10 of 100 bytes, then the close
        assert len(up.seen("cut")) == 1
    finally:
        c.close()


def test_an_upstream_really_down_is_502(gateways, upstream):
    """The upstream process goes away with the pooled connection: the stale connection is
    discarded, the fresh connect is refused, and that is a 502, for a POST with a body as
    for a GET."""
    gw = gateways.start(upstream_url=upstream.url)
    c = client_for(gw)
    try:
        assert_answered_once(upstream, c.post("warm", b"{}"), "warm", b"{}")
        upstream.stop()
        r = c.post("down", b'{"a": 1}')
        assert r is not None
        assert_error_shape(as_response(r), 502, "upstream_unavailable")
        r = c.get("down2")
        assert r is not None
        assert_error_shape(as_response(r), 502, "upstream_unavailable")
        assert upstream.seen("down") == [] and upstream.seen("down2") == []
    finally:
        c.close()


def test_pool_idle_timeout_caps_reuse(gateways, patient_upstream):
    """upstream.pool_idle_timeout_ms: 0 reuses no connection; the default reuses one."""
    up = patient_upstream
    capped = gateways.start({"upstream": {"pool_idle_timeout_ms": 0}}, upstream_url=up.url)
    c = client_for(capped)
    try:
        for i in range(3):
            assert_answered_once(up, c.get(f"capped{i}"), f"capped{i}")
        assert [up.seen(f"capped{i}")[0].conn for i in range(3)] == [1, 2, 3]
    finally:
        c.close()
    default = gateways.start(upstream_url=up.url)
    c = client_for(default)
    try:
        for i in range(3):
            assert_answered_once(up, c.get(f"warm{i}"), f"warm{i}")
        assert len({up.seen(f"warm{i}")[0].conn for i in range(3)}) == 1
    finally:
        c.close()


def as_response(r: RawResponse) -> Response:
    return r.as_response()
