"""Connection timeouts (SPEC §2 http.header_timeout_ms, http.idle_timeout_ms): a client
that sends half a head, or keeps an idle keep-alive connection, is disconnected once the
timeout passes, and not long after (deadlines are checked every 100 ms)."""

import socket
import time


def _wait_for_close(sock: socket.socket, limit: float) -> float:
    """Reads until the server closes the connection; returns when it did (monotonic)."""
    sock.settimeout(limit)
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return time.monotonic()
        if not chunk:
            return time.monotonic()


def test_half_a_head_is_dropped_after_header_timeout(gateways):
    gw = gateways.start({"http": {"header_timeout_ms": 300}})
    with socket.create_connection(("127.0.0.1", gw.port), timeout=5) as s:
        s.sendall(b"GET /v1/things HTTP/1.1\r\nHost: x\r\n")  # no blank line: never whole
        t0 = time.monotonic()
        closed = _wait_for_close(s, 5)
    assert 0.25 <= closed - t0 < 2.0, closed - t0


def test_idle_keep_alive_connection_is_closed_after_idle_timeout(gateways):
    gw = gateways.start({"http": {"idle_timeout_ms": 300}})
    _, key = gw.new_account("free")
    with socket.create_connection(("127.0.0.1", gw.port), timeout=5) as s:
        s.sendall(b"GET /v1/things HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                  + key.encode() + b"\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            head += s.recv(65536)
        assert head.startswith(b"HTTP/1.1 200"), head[:80]
        t0 = time.monotonic()
        closed = _wait_for_close(s, 5)
    assert 0.25 <= closed - t0 < 2.0, closed - t0


def test_a_busy_connection_is_not_cut_by_the_idle_timeout(gateways, mock):
    # The upstream takes longer than idle_timeout: the request is in flight, not idle.
    gw = gateways.start({"http": {"idle_timeout_ms": 200},
                         "upstream": {"request_timeout_ms": 5000}})
    _, key = gw.new_account("free")
    r = gw.client(key).get("/v1/slow", headers={"X-Mock-Delay-Ms": "600"})
    assert r.status == 200, r
