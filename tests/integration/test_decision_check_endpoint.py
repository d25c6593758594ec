"""SPEC §8: POST /v1/check on the admin listener, the decision service over HTTP."""

from __future__ import annotations

from helpers import ensure_window, raw_exchange, raw_status


def check(gw, body, token="default"):
    return gw.admin.request("POST", "/v1/check", body, token=token)


def test_shape_and_countdown(gateway):
    _, key = gateway.new_account("free")
    ensure_window(5)
    r = check(gateway, {"api_key": key, "method": "GET", "path": "/v1/things"})
    assert r.status == 200, r
    j = r.json()
    assert j["allowed"] is True and j["limit"] == 60 and j["remaining"] == 59
    assert j["reset"] > 1_700_000_000 and j["retry_after"] is None
    assert j["headers"]["X-RateLimit-Limit"] == "60"
    assert j["headers"]["X-RateLimit-Remaining"] == "59"
    assert j["headers"]["X-RateLimit-Resource"] == "api"
    assert "status" not in j and "error" not in j


def test_route_group_is_applied_like_the_proxy(gateway):
    _, key = gateway.new_account("free")  # analysis: 15
    ensure_window(5)
    for i in range(15):
        j = check(gateway, {"api_key": key, "method": "POST",
                            "path": "/v1/analysis/7"}).json()
        assert j["allowed"] is True and j["limit"] == 15 and j["remaining"] == 14 - i, j
    j = check(gateway, {"api_key": key, "method": "POST", "path": "/v1/analysis/7"}).json()
    assert j["allowed"] is False and j["status"] == 429
    assert j["retry_after"] >= 1 and j["headers"]["Retry-After"] == str(j["retry_after"])
    assert j["error"]["code"] == "rate_limit_exceeded"
    # The proxy sees the same counters.
    r = gateway.client(key).post("/v1/analysis/7")
    assert r.status == 429, r


def test_shares_the_proxys_budget_and_cost(gateway):
    _, key = gateway.new_account("free")
    ensure_window(5)
    c = gateway.client(key)
    for _ in range(10):
        assert c.get("/v1/things").status == 200
    j = check(gateway, {"api_key": key, "method": "GET", "path": "/v1/things", "cost": 5}).json()
    assert j["remaining"] == 60 - 15
    assert c.get("/v1/things").int_header("X-RateLimit-Remaining") == 60 - 16


def test_unknown_key_is_a_refused_decision(gateway):
    j = check(gateway, {"api_key": "sk_live_" + "q" * 43, "method": "GET", "path": "/"}).json()
    assert j["allowed"] is False and j["status"] == 401
    assert j["error"]["code"] == "invalid_api_key" and j["limit"] is None


def test_admin_token_required(gateway):
    body = {"api_key": "k", "method": "GET", "path": "/"}
    assert check(gateway, body, token=None).status == 401
    assert check(gateway, body, token="wrong").status == 401
    r = gateway.admin.request("GET", "/v1/check")
    assert r.status == 405 and r.header("Allow") == "POST"
    # Two Authorization fields, either order, one of them the token: refused.
    payload = b'{"api_key":"k","method":"GET","path":"/"}'
    for first, second in (("wrong", gateway.admin.token), (gateway.admin.token, "wrong")):
        head = (f"POST /v1/check HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {first}\r\n"
                f"Authorization: Bearer {second}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\n\r\n").encode()
        answer = raw_exchange("127.0.0.1", gateway.admin_port, head + payload)
        assert raw_status(answer) == 401, answer[:200]


def test_bad_bodies_are_400_naming_the_member(gateway):
    _, key = gateway.new_account("free")
    cases = [
        ({"method": "GET", "path": "/"}, "api_key"),
        ({"api_key": key, "path": "/"}, "method"),
        ({"api_key": key, "method": "GET"}, "path"),
        ({"api_key": key, "method": "GET", "path": "/", "cost": 0}, "cost"),
        ({"api_key": key, "method": "GET", "path": "/", "cost": 2**63}, "cost"),
        ({"api_key": key, "method": "GET", "path": "/", "surprise": 1}, "surprise"),
        ({"api_key": key, "method": "GET", "path": "no-slash"}, "path"),
    ]
    for body, param in cases:
        r = check(gateway, body)
        assert r.status == 400, (body, r)
        assert r.json()["error"]["param"] == param, (body, r.json())
    r = gateway.admin.request("POST", "/v1/check", headers={"Content-Type": "application/json"})
    assert r.status == 400
    # Nothing was charged.
    j = check(gateway, {"api_key": key, "method": "GET", "path": "/"}).json()
    assert j["remaining"] == 59


def test_hostile_bodies_are_refused_and_charge_nothing(gateway):
    _, key = gateway.new_account("free")
    _, other = gateway.new_account("free")
    ensure_window(5)

    def raw(body: bytes):
        return gateway.admin.client.request(
            "POST", "/v1/check", body=body, use_key=False,
            headers={"Authorization": f"Bearer {gateway.admin.token}",
                     "Content-Type": "application/json"})

    route = b'"method":"GET","path":"/v1/things"'
    cases = [
        # One member twice parses two ways (a DOM keeps the last, others the first): refused.
        (b'{"api_key":"%s","api_key":"%s",%s}' % (key.encode(), other.encode(), route),
         "api_key"),
        (b'{"api_key":"%s",%s,"cost":1,"cost":1000000}' % (key.encode(), route), "cost"),
        # Values of the wrong kind, nested, or numbers at and past 2^63.
        (b'{"api_key":{"api_key":"%s"},%s}' % (key.encode(), route), "api_key"),
        (b'{"api_key":"%s",%s,"cost":9223372036854775808}' % (key.encode(), route), "cost"),
        (b'{"api_key":"%s",%s,"cost":1e3}' % (key.encode(), route), "cost"),
        # Not one JSON object: trailing data, nesting past the parser's depth, bad UTF-8.
        (b'{"api_key":"%s",%s} {}' % (key.encode(), route), None),
        (b'{"x":' + b'[' * 100_000 + b']' * 100_000 + b'}', None),
        (b'{"api_key":"\xff\xfe",%s}' % route, None),
    ]
    for body, param in cases:
        r = raw(body)
        assert r.status == 400, (body[:80], r)
        error = r.json()["error"]
        assert error.get("param") == param, (body[:80], error)
    twice = raw(cases[0][0]).json()["error"]
    assert twice["message"] == '"api_key" appears more than once.', twice
    # A body past the listener's 1 MiB bound is refused from its declared length, unread.
    head = (b"POST /v1/check HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
            % (gateway.admin.token.encode(), 1024 * 1024 + 1))
    assert raw_status(raw_exchange("127.0.0.1", gateway.admin_port, head)) == 413

    # Neither caller was charged.
    for k in (key, other):
        j = check(gateway, {"api_key": k, "method": "GET", "path": "/v1/things"}).json()
        assert j["remaining"] == 59, j
