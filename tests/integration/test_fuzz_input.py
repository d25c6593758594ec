"""Mutated requests never take the gateway down: every answer is a well-formed HTTP
response or a closed connection, and the gateway serves normally afterwards."""

import random
import socket

from helpers import raw_status

SEED_REQUESTS = [
    b"GET /v1/sessions/abc HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer {key}\r\n\r\n",
    b"POST /v1/sessions HTTP/1.1\r\nHost: gw\r\nX-API-Key: {key}\r\nContent-Length: 11\r\n\r\n"
    b"{\"a\": true}",
    b"POST /v1/analysis/x HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer {key}\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
]
NASTY = [b"\r\n", b"\n", b"\x00", b":", b" ", b"%", b"/..", b"\xff", b"99999999999999999999",
         b"chunked", b"-1", b"Content-Length: 5\r\n", b"Transfer-Encoding: chunked\r\n"]


def mutate(rng: random.Random, data: bytes) -> bytes:
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        choice = rng.randrange(4)
        pos = rng.randrange(len(data) + 1)
        if choice == 0 and data:  # flip a byte
            data[min(pos, len(data) - 1)] = rng.randrange(256)
        elif choice == 1:  # insert something nasty
            data[pos:pos] = rng.choice(NASTY)
        elif choice == 2:  # truncate
            del data[pos:]
        else:  # duplicate a slice
            end = min(len(data), pos + rng.randint(1, 40))
            data[pos:pos] = data[pos:end]
    return bytes(data)


def exchange(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)  # no more to come: the gateway answers or closes
        reply = b""
        while True:
            try:
                got = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                return reply
            if not got:
                return reply
            reply += got


def test_mutated_requests_get_http_answers_and_the_gateway_survives(gateway, mock):
    _, key = gateway.new_account("pro", overrides={"api_requests_per_minute": 1000000,
                                                   "groups": {"analysis": 1000000,
                                                              "sessions_write": 1000000,
                                                              "sessions_read": 1000000}})
    rng = random.Random(20261127)  # fixed seed: a failure replays exactly
    answered = 0
    for i in range(400):
        seed = rng.choice(SEED_REQUESTS).replace(b"{key}", key.encode())
        data = mutate(rng, seed)
        reply = exchange(gateway.port, data)
        if reply:
            status = raw_status(reply)  # asserts a well-formed status line
            assert 100 <= status <= 599, (i, data, reply[:200])
            answered += 1
        assert gateway.proc.alive(), f"gateway died on input {i}: {data!r}"
    assert answered > 200, answered  # most mutations still get an answer, not a bare close
    assert gateway.client(key).get("/v1/after-fuzz").status == 200
