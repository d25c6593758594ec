"""Malformed and oversized requests (http.max_header_bytes 16 KiB -> 431,
http.max_body_bytes -> 413, malformed -> 400) and bodies streamed without buffering."""

import hashlib
import os
import socket

from helpers import Client, raw_exchange, raw_status, rss_kib


def test_malformed_request_line_is_400_and_gateway_keeps_serving(gateway):
    _, key = gateway.new_account("free")
    for junk in (b"THIS IS NOT HTTP\r\n\r\n", b"GET /v1/x HTTP/1.1\r\nHost x\r\n\r\n",
                 b"GET /v1/x HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
                 b"\x16\x03\x01\x02\x00\x01\x00\r\n\r\n"):
        resp = raw_exchange("127.0.0.1", gateway.port, junk)
        assert resp, f"no answer to {junk!r}"
        assert raw_status(resp) == 400, (junk, resp[:300])
    r = gateway.client(key).get("/v1/x")
    assert r.status == 200, r


def test_header_block_over_16_kib_is_431(gateway, mock):
    _, key = gateway.new_account("free")
    c = gateway.client(key)
    ok = c.get("/v1/headers", headers={"X-Big": "a" * 12000})
    assert ok.status == 200, ok
    req = (f"GET /v1/headers HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
           f"X-Big: {'a' * 20000}\r\n\r\n").encode()
    resp = raw_exchange("127.0.0.1", gateway.port, req)
    assert raw_status(resp) == 431, resp[:300]
    many = "".join(f"X-H{i}: {'b' * 100}\r\n" for i in range(200))
    req = (f"GET /v1/headers HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
           f"{many}\r\n").encode()
    assert raw_status(raw_exchange("127.0.0.1", gateway.port, req)) == 431
    assert mock.count("/v1/headers") == 1
    assert gateway.client(key).get("/v1/x").status == 200


def test_body_over_max_body_bytes_is_413(gateways, mock):
    gw = gateways.start({"http": {"max_body_bytes": 1048576}})
    _, key = gw.new_account("free")
    c = gw.client(key)
    ok = c.post("/v1/upload", body=b"x" * 1048576)
    assert ok.status == 200, ok
    assert ok.json()["body_bytes"] == 1048576
    size = 2 * 1048576
    head = (f"POST /v1/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
            f"Content-Length: {size}\r\nContent-Type: application/octet-stream\r\n\r\n").encode()

    def send_body(sock: socket.socket):
        chunk = b"y" * 65536
        for _ in range(size // len(chunk)):
            sock.sendall(chunk)

    resp = raw_exchange("127.0.0.1", gw.port, head, sender=send_body)
    assert raw_status(resp) == 413, resp[:300]
    assert mock.count("/v1/upload") == 1
    assert gw.client(key).get("/v1/x").status == 200


def test_chunked_body_over_max_body_bytes_is_rejected(gateways, mock):
    gw = gateways.start({"http": {"max_body_bytes": 1048576}})
    _, key = gw.new_account("free")
    c = gw.client(key)

    def chunks():
        for _ in range(40):
            yield b"z" * 65536  # 2.5 MiB, chunked (no Content-Length)

    try:
        r = c.request("POST", "/v1/chunked", body=chunks())
        status = r.status
    except OSError:
        status = None  # the gateway may cut the connection once the limit is crossed
    assert status in (413, None), status
    # The upstream never received the whole 2.5 MiB body.
    assert mock.stats()["body_bytes"] < 40 * 65536
    assert gw.client(key).get("/v1/x").status == 200


def test_50_mb_upload_streams_through_without_buffering(gateway, mock):
    _, key = gateway.new_account("free")
    c = Client("127.0.0.1", gateway.port, key=key, timeout=60)
    assert c.get("/v1/warmup").status == 200
    rss_before = rss_kib(gateway.proc.pid)
    size = 50 * 1024 * 1024
    digest = hashlib.sha256()
    block = os.urandom(1024 * 1024)

    def body():
        for i in range(50):
            chunk = block[i:] + block[:i]
            digest.update(chunk)
            yield chunk

    r = c.request("POST", "/v1/recordings-upload", body=body(),
                  headers={"Content-Length": str(size), "Content-Type": "audio/wav"})
    assert r.status == 200, r
    j = r.json()
    assert j["body_bytes"] == size
    assert j["body_sha256"] == digest.hexdigest()
    peak = rss_kib(gateway.proc.pid, "VmHWM")
    assert peak - rss_before < 20 * 1024, f"RSS grew by {(peak - rss_before) // 1024} MiB"


def test_50_mb_download_streams_through_without_buffering(gateway, mock):
    _, key = gateway.new_account("free")
    c = Client("127.0.0.1", gateway.port, key=key, timeout=60)
    assert c.get("/v1/warmup").status == 200
    rss_before = rss_kib(gateway.proc.pid)
    size = 50 * 1024 * 1024
    r = c.get("/v1/recordings/big", headers={"X-Mock-Body-Bytes": str(size)})
    assert r.status == 200, r.status
    assert len(r.body) == size
    assert r.body[:52] == bytes(range(ord("a"), ord("z") + 1)) * 2
    peak = rss_kib(gateway.proc.pid, "VmHWM")
    assert peak - rss_before < 20 * 1024, f"RSS grew by {(peak - rss_before) // 1024} MiB"


def test_many_idle_connections_do_not_break_the_gateway(gateway):
    _, key = gateway.new_account("free")
    socks = []
    try:
        for _ in range(200):
            socks.append(socket.create_connection(("127.0.0.1", gateway.port), timeout=5))
        # Half-sent requests on some of them.
        for s in socks[:50]:
            s.sendall(b"GET /v1/x HTTP/1.1\r\nHost: a\r\n")
        r = gateway.client(key).get("/v1/x")
        assert r.status == 200, r
    finally:
        for s in socks:
            s.close()
    assert gateway.client(key).get("/v1/x").status == 200


def test_a_websocket_handshake_with_a_body_is_400(gateway, mock):
    """RFC 6455 §4.1: the handshake is a GET without a body; bytes after its head would
    otherwise reach the relay as frames."""
    head = (b"GET /v1/sessions/sess_x/connect?token=t HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n")
    resp = raw_exchange("127.0.0.1", gateway.port, head + b"Content-Length: 5\r\n\r\nhello")
    assert raw_status(resp) == 400, resp[:300]
    assert mock.count("/v1/sessions/sess_x/connect") == 0
    # An empty body (Content-Length: 0) is no body: the handshake goes on to the upstream.
    resp = raw_exchange("127.0.0.1", gateway.port, head + b"Content-Length: 0\r\n\r\n")
    assert raw_status(resp) in (101, 401, 404), resp[:300]
    assert mock.count("/v1/sessions/sess_x/connect") == 1
