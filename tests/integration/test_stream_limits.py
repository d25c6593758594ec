"""Resource caps of session streams (SPEC §3 websocket.*, issue 11): upgrades carry no API
key, so they are limited per client address; open streams are capped per session and in
all; unfinished client messages share one memory budget (1013 past it); and a drain closes
open streams with 1001 toward both sides instead of cutting them.

Client addresses come from 127.0.0.0/8 (all loopback on Linux).
"""

from __future__ import annotations

import asyncio
import random
import signal
import time

import pytest
import websockets

from helpers import metric_sum, wait_until
from test_streams import HUGE, Stream, new_session, run

REFUSED = "kallglot_gateway_refused_total"


async def refused_status(port: int, session_id: str, source: str | None = None,
                         token: str = "kst_integration") -> tuple[int, dict]:
    with pytest.raises(websockets.InvalidStatusCode) as exc:
        await Stream.open(port, session_id, token, source=source)
    return exc.value.status_code, {k.lower(): v for k, v in exc.value.headers.raw_items()}


def test_upgrades_are_limited_per_client_address(gateways, mock):
    gw = gateways.start({"websocket": {"upgrades_per_minute_per_ip": 3}})

    async def body():
        for i in range(3):
            s = await Stream.open(gw.port, f"sess_up_{i}", source="127.0.8.1")
            await s.close()
        status, headers = await refused_status(gw.port, "sess_up_x", source="127.0.8.1")
        assert status == 429, status
        assert int(headers["retry-after"]) >= 1, headers
        # Another client is not affected.
        s = await Stream.open(gw.port, "sess_up_y", source="127.0.8.2")
        await s.close()

    run(body())
    assert mock.stats()["ws_connections_total"] == 4  # the refused one never reached it
    assert metric_sum(gw.admin.metrics(), REFUSED, reason="upgrades_per_minute_per_ip") == 1
    log = gw.proc.output()
    assert "stream upgrades from 127.0.8.1 refused" in log
    # Four made-up sessions, one line (a line a second at most).
    assert log.count("did not see created") <= 2, log


def test_the_refusal_is_the_gateways_error_shape(gateways, mock):
    gw = gateways.start({"websocket": {"upgrades_per_minute_per_ip": 1}})
    _, sid, token = new_session(gw)
    c = gw.client()
    upgrade = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
    path = f"/v1/sessions/{sid}/connect?token={token}"
    assert c.get(path, headers=upgrade).status == 101
    c.close()
    c = gw.client()
    r = c.get(path, headers=upgrade)
    assert r.status == 429, r
    assert r.json()["error"]["code"] == "too_many_stream_upgrades", r.json()


def test_open_streams_are_capped_per_session(gateways, mock):
    gw = gateways.start({"websocket": {"max_streams_per_session": 1}})
    _, sid, token = new_session(gw)
    _, other, other_token = new_session(gw)

    async def body():
        first = await Stream.open(gw.port, sid, token, mode="echo")
        status, _ = await refused_status(gw.port, sid, token=token)
        assert status == 429
        s = await Stream.open(gw.port, other, other_token)  # another session: its own cap
        await s.close()
        await first.send("still relayed")
        assert await first.wait_data(1) == ["still relayed"]
        await first.close()

    run(body())
    assert metric_sum(gw.admin.metrics(), REFUSED, reason="max_streams_per_session") == 1

    async def again():  # the slot is given back once the stream has ended
        try:
            s = await Stream.open(gw.port, sid, token)
        except websockets.InvalidStatusCode:
            return False
        await s.close()
        return True

    wait_until(lambda: run(again()), 5, what="the session's stream slot given back")


def test_open_streams_are_capped_in_all(gateways, mock):
    gw = gateways.start({"websocket": {"max_streams": 2}})

    async def body():
        held = [await Stream.open(gw.port, f"sess_all_{i}") for i in range(2)]
        status, headers = await refused_status(gw.port, "sess_all_x")
        assert status == 503 and int(headers["retry-after"]) >= 1, (status, headers)
        for s in held:
            await s.close()

    run(body())
    assert metric_sum(gw.admin.metrics(), REFUSED, reason="max_streams") == 1


def test_a_message_past_the_shared_budget_closes_its_stream_with_1013(gateways, mock):
    # 128 KiB of each message are free; 1 MB beyond that is shared. The budget counts the
    # buffer's capacity, which may grow to about twice the message: hence the margins.
    gw = gateways.start({"websocket": {"max_buffered_bytes": 1_000_000}})
    _, sid, token = new_session(gw, "pro", HUGE)

    async def body():
        s = await Stream.open(gw.port, sid, token, mode="echo")
        fits = random.randbytes(300_000)  # at most ~600 KB of buffer: inside free + budget
        await s.send(fits)
        assert await s.wait_data(1) == [fits]
        try:
            await s.send(random.randbytes(3_000_000))
        except websockets.ConnectionClosed:
            pass
        code, _ = await s.wait_closed()
        assert code == 1013
        # The budget was given back: the same message size fits again, on a new stream.
        s = await Stream.open(gw.port, sid, token, mode="echo")
        await s.send(fits)
        assert await s.wait_data(1) == [fits]
        await s.close()

    run(body())
    assert metric_sum(gw.admin.metrics(), REFUSED, reason="max_buffered_bytes") == 1
    assert gw.proc.alive()


def test_a_drain_closes_open_streams_with_1001_toward_both_sides(gateways, mock):
    gw = gateways.start({"shutdown_grace_ms": 300})
    _, sid, token = new_session(gw)

    async def body():
        s = await Stream.open(gw.port, sid, token, mode="echo")
        await s.send("before")
        assert await s.wait_data(1) == ["before"]
        gw.proc.signal(signal.SIGTERM)
        code, _ = await s.wait_closed(timeout=10)
        return code

    t0 = time.monotonic()
    assert run(body()) == 1001
    assert gw.proc.wait(10) == 0
    assert time.monotonic() - t0 < 8
    wait_until(lambda: mock.stats()["ws_close_codes"].get("1001", 0) >= 1, 5,
               what="the upstream told 1001")
    assert "closing its stream with 1001" in gw.proc.output()
