"""Who a request comes from (SPEC §3 trusted_proxies, unknown_key: anonymous; issue 11).
From an untrusted peer the client is the peer: its X-Forwarded-For, Forwarded and
X-Real-IP never reach the upstream and buy no fresh budget. From a trusted proxy the
client is the right-most X-Forwarded-For address that is not a trusted proxy, and the
upstream gets the chain with the peer appended. Anonymous callers keep a bounded amount of
memory per client address, and none of it in the usage history.

Source addresses come from 127.0.0.0/8 (all loopback on Linux): each is a distinct peer.
"""

from __future__ import annotations

import http.client
import json

import pytest

from helpers import ensure_window, is_sanitized, rss_kib

PROXY = "127.0.5.1"      # trusted in these tests
STRANGER = "127.0.5.2"   # not trusted


def request_from(gw, source: str, path: str = "/v1/echo",
                 headers: dict | None = None) -> tuple[int, dict, bytes]:
    c = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=10, source_address=(source, 0))
    try:
        c.request("GET", path, headers=headers or {})
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def seen_by_upstream(gw, source: str, headers: dict, key: str | None = None) -> dict:
    if key:
        headers = {**headers, "Authorization": f"Bearer {key}"}
    status, _, body = request_from(gw, source, headers=headers)
    assert status == 200, (status, body)
    return json.loads(body)["headers"]


def test_a_trusted_proxy_names_the_client_and_a_stranger_cannot(gateways):
    gw = gateways.start({"trusted_proxies": [f"{PROXY}/32", "10.0.0.0/8"]})
    _, key = gw.new_account("free")
    origin = {"X-Forwarded-For": "198.51.100.1, 203.0.113.7, 10.1.1.1",
              "Forwarded": "for=203.0.113.7", "X-Real-IP": "203.0.113.7"}

    seen = seen_by_upstream(gw, PROXY, origin, key)
    assert seen["x-forwarded-for"] == f"198.51.100.1, 203.0.113.7, 10.1.1.1, {PROXY}", seen
    assert seen["forwarded"] == "for=203.0.113.7" and seen["x-real-ip"] == "203.0.113.7", seen

    seen = seen_by_upstream(gw, STRANGER, origin, key)
    assert seen["x-forwarded-for"] == STRANGER, seen
    assert "forwarded" not in seen and "x-real-ip" not in seen, seen


def test_anonymous_budgets_follow_the_client_a_trusted_proxy_names(gateways, mock):
    gw = gateways.start({"unknown_key": "anonymous", "trusted_proxies": [f"{PROXY}/32"],
                         "plans": {"anonymous": {"api_requests_per_minute": 2}}})
    ensure_window(5)
    for client in ("203.0.113.7", "203.0.113.8"):
        statuses = [request_from(gw, PROXY, "/v1/public", {"X-Forwarded-For": client})[0]
                    for _ in range(3)]
        assert statuses == [200, 200, 429], (client, statuses)
    # The proxy's own budget is untouched by what it carried.
    assert request_from(gw, PROXY, "/v1/public")[0] == 200
    assert mock.count("/v1/public") == 5


def test_a_stranger_rotating_forwarded_for_gets_no_fresh_budget(gateways, mock):
    gw = gateways.start({"unknown_key": "anonymous", "trusted_proxies": [f"{PROXY}/32"],
                         "plans": {"anonymous": {"api_requests_per_minute": 2}}})
    ensure_window(5)
    statuses = [request_from(gw, STRANGER, "/v1/public",
                             {"X-Forwarded-For": f"203.0.113.{i}"})[0] for i in range(5)]
    assert statuses == [200, 200, 429, 429, 429], statuses
    assert mock.count("/v1/public") == 2


def test_memory_per_anonymous_address_is_small_and_bounded(gateways, mock):
    """4096 distinct client addresses, one request each: the gateway's resident memory
    grows by less than 2 KiB per address (counters and a bounded caller cache; no usage
    history for anonymous callers)."""
    if is_sanitized(gateways.binary):
        pytest.skip("ASan quarantines freed memory: RSS measures the sanitizer, not the gateway")
    gw = gateways.start({"unknown_key": "anonymous"})
    # Warm up allocator arenas, pools and caches with a first batch of addresses.
    for i in range(512):
        assert request_from(gw, f"127.6.0.{1 + i % 250}", "/v1/public")[0] == 200
    before = rss_kib(gw.proc.pid)
    n = 4096
    for i in range(n):
        source = f"127.7.{i // 250}.{1 + i % 250}"
        assert request_from(gw, source, "/v1/public")[0] == 200
    grown = rss_kib(gw.proc.pid) - before
    per_address = grown * 1024 / n
    print(f"RSS grew {grown} KiB for {n} anonymous addresses: {per_address:.0f} B each")
    assert per_address < 2048, f"{per_address:.0f} B per anonymous address"
    assert mock.count("/v1/public") == 512 + n
