"""SPEC §4: hop-by-hop headers are stripped, X-Forwarded-For/-Proto added; with
`headers: [..., ietf]` the RateLimit-Policy and RateLimit fields of the IETF draft."""

import re

from helpers import ensure_window

HOP_BY_HOP = ("keep-alive", "te", "proxy-authorization", "x-foo", "trailer", "proxy-connection")


def test_hop_by_hop_headers_are_not_forwarded(gateway):
    _, key = gateway.new_account("free")
    c = gateway.client(key)
    r = c.get("/v1/echo", headers={
        "Connection": "keep-alive, X-Foo",
        "X-Foo": "secret-hop-header",
        "Keep-Alive": "timeout=5, max=100",
        "TE": "trailers",
        "Trailer": "X-Checksum",
        "Proxy-Authorization": "Basic Zm9vOmJhcg==",
        "Proxy-Connection": "keep-alive",
        "X-Custom-End-To-End": "kept",
    })
    assert r.status == 200, r
    seen = r.json()["headers"]
    for name in HOP_BY_HOP:
        assert name not in seen, f"{name} reached the upstream: {seen}"
    assert "x-foo" not in seen.get("connection", "").lower()
    assert seen["x-custom-end-to-end"] == "kept"


def test_forwarded_headers_are_added(gateway):
    _, key = gateway.new_account("free")
    c = gateway.client(key)
    seen = c.get("/v1/echo").json()["headers"]
    assert seen["x-forwarded-for"] == "127.0.0.1", seen
    assert seen["x-forwarded-proto"] == "http", seen
    # From a peer that is not a trusted proxy (trusted_proxies is empty by default), what
    # the client claims about its origin never reaches the upstream.
    seen = c.get("/v1/echo", headers={"X-Forwarded-For": "203.0.113.7", "Forwarded": "for=1.2.3.4",
                                      "X-Real-IP": "1.2.3.4"}).json()["headers"]
    assert seen["x-forwarded-for"] == "127.0.0.1", seen
    assert "forwarded" not in seen and "x-real-ip" not in seen, seen
    assert seen["x-forwarded-proto"] == "http", seen


def test_method_path_query_and_end_to_end_headers_reach_upstream(gateway):
    _, key = gateway.new_account("free")
    c = gateway.client(key)
    r = c.request("PATCH", "/v1/webhooks/wh_1?expand=events&x=%20y",
                  headers={"Content-Type": "application/json", "Accept-Language": "de"},
                  body=b'{"url":"https://example.com/hook"}')
    assert r.status == 200, r
    j = r.json()
    assert j["method"] == "PATCH"
    assert j["path"] == "/v1/webhooks/wh_1"
    assert j["query"] == "expand=events&x=%20y"
    assert j["body_bytes"] == len(b'{"url":"https://example.com/hook"}')
    assert j["headers"]["content-type"] == "application/json"
    assert j["headers"]["accept-language"] == "de"


def test_response_headers_of_the_upstream_are_relayed(gateway):
    _, key = gateway.new_account("free")
    r = gateway.client(key).get("/v1/echo")
    assert r.header("Content-Type") == "application/json"
    assert r.header("X-RateLimit-Limit") == "60"


def test_ietf_headers(gateways):
    gw = gateways.start({"headers": ["x-ratelimit", "ietf"]})
    _, key = gw.new_account("free")
    c = gw.client(key)
    ensure_window(3)
    r = c.get("/v1/analysis/a")
    assert r.status == 200, r
    assert r.header("X-RateLimit-Limit") == "15"
    policy, state = r.header("RateLimit-Policy"), r.header("RateLimit")
    assert policy and state, r
    # Structured-field lists of named policies: "name";q=<quota>;w=<window seconds>
    # and "name";r=<remaining>;t=<seconds until reset>.
    policies = dict(re.findall(r'"?([A-Za-z0-9_\-]+)"?;q=(\d+);w=60', policy))
    assert policies.get("api") == "60", policy
    assert policies.get("analysis") == "15", policy
    states = {n: (int(rr), int(t)) for n, rr, t in
              re.findall(r'"?([A-Za-z0-9_\-]+)"?;r=(\d+);t=(\d+)', state)}
    assert states["api"][0] == 59, state
    assert states["analysis"][0] == 14, state
    for _, t in states.values():
        assert 0 <= t <= 60, state


def test_ietf_only_replaces_the_default_list(gateways):
    gw = gateways.start({"headers": ["ietf"]})
    _, key = gw.new_account("free")
    r = gw.client(key).get("/v1/things")
    assert r.status == 200, r
    assert r.header("RateLimit-Policy") and r.header("RateLimit"), r
    assert r.header("X-RateLimit-Limit") is None, r


def test_rate_limit_headers_are_not_sent_upstream(gateway):
    _, key = gateway.new_account("free")
    seen = gateway.client(key).get("/v1/echo").json()["headers"]
    assert not any(k.startswith("x-ratelimit") for k in seen), seen
