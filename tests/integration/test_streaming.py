"""Request and response bodies stream through the gateway intact, whatever their framing
and however slowly they arrive."""

import hashlib
import socket

from helpers import Client


def _chunked_request(port: int, key: str, pieces: list[bytes], expect_continue: bool) -> bytes:
    """Sends a chunked POST piece by piece on a raw socket; returns the raw response."""
    head = (f"POST /v1/chunked-upload HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer {key}\r\n"
            "Transfer-Encoding: chunked\r\nConnection: close\r\n")
    if expect_continue:
        head += "Expect: 100-continue\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall((head + "\r\n").encode())
        if expect_continue:
            interim = sock.recv(64)
            assert interim.startswith(b"HTTP/1.1 100"), interim
        for piece in pieces:
            # One chunk per send: the gateway sees the body arrive in separate reads.
            sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        sock.sendall(b"0\r\n\r\n")
        data = b""
        while True:
            got = sock.recv(65536)
            if not got:
                return data
            data += got


def _json_body(raw: bytes):
    import json
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    return json.loads(body)


def test_chunked_upload_arrives_whole(gateway, mock):
    _, key = gateway.new_account("free")
    pieces = [bytes([65 + i % 26]) * (1000 + 7919 * i) for i in range(40)]
    reply = _json_body(_chunked_request(gateway.port, key, pieces, expect_continue=False))
    whole = b"".join(pieces)
    assert reply["body_bytes"] == len(whole)
    assert reply["body_sha256"] == hashlib.sha256(whole).hexdigest()


def test_chunked_upload_after_100_continue_arrives_whole(gateway, mock):
    _, key = gateway.new_account("free")
    pieces = [b"x" * 5000, b"y" * 70000, b"z" * 3]
    reply = _json_body(_chunked_request(gateway.port, key, pieces, expect_continue=True))
    whole = b"".join(pieces)
    assert reply["body_bytes"] == len(whole)
    assert reply["body_sha256"] == hashlib.sha256(whole).hexdigest()


def test_large_response_streams_back_intact(gateway, mock):
    _, key = gateway.new_account("free")
    size = 5 * 1024 * 1024 + 17
    r = Client("127.0.0.1", gateway.port, key=key, timeout=30).get(
        "/v1/recordings-download", headers={"X-Mock-Body-Bytes": str(size)})
    assert r.status == 200
    expected = bytes(ord("a") + i % 26 for i in range(size))
    assert len(r.body) == size
    assert r.body == expected
