"""SPEC §4 Self-service status: GET /v1/rate_limits returns the plan and every limit (limit,
remaining, reset) plus active sessions; it is never counted and never forwarded.

Assumed shape (SPEC names the fields, not the layout):
  {"plan": "free", "limits": {"api": {"limit","remaining","reset",...}, "analysis": {...}},
   ... active sessions somewhere in the body}
"""

import time

from helpers import (assert_admitted, assert_error_shape, ensure_window, limits_of,
                     next_minute_boundary)

FREE_GROUPS = {"sessions_write": 30, "sessions_read": 60, "recordings": 30, "analysis": 15,
               "webhooks": 30}


def test_reports_plan_and_every_limit(gateway, mock):
    _, key = gateway.new_account("free")
    c = gateway.client(key)
    ensure_window(3)
    for _ in range(3):
        assert c.get("/v1/things").status == 200
    assert c.get("/v1/analysis/x").status == 200
    t = time.time()
    r = c.get("/v1/rate_limits")
    assert r.status == 200, r
    body = r.json()
    assert body["plan"] == "free", body
    limits = limits_of(body)
    assert limits["api"]["limit"] == 60
    assert limits["api"]["remaining"] == 56
    for group, n in FREE_GROUPS.items():
        assert limits[group]["limit"] == n, (group, body)
    assert limits["analysis"]["remaining"] == 14
    assert limits["recordings"]["remaining"] == 30
    for name, entry in limits.items():
        assert isinstance(entry["reset"], int), (name, entry)
        assert entry["reset"] in (next_minute_boundary(t - 1), next_minute_boundary(t)), entry
    assert "session" in r.body.decode(), "active sessions missing"
    assert mock.count("/v1/rate_limits") == 0


def test_is_never_counted_nor_forwarded(gateway, mock):
    _, key = gateway.new_account("free", overrides={"api_requests_per_minute": 3})
    c = gateway.client(key)
    ensure_window(5)
    for _ in range(50):
        r = c.get("/v1/rate_limits")
        assert r.status == 200, r
        assert limits_of(r.json())["api"]["remaining"] == 3
    assert mock.count("/v1/rate_limits") == 0
    assert_admitted(c.get("/v1/things"), 3, 2, "api")


def test_carries_the_callers_rate_limit_fields_uncounted(gateway):
    _, key = gateway.new_account("free", overrides={"api_requests_per_minute": 5})
    c = gateway.client(key)
    ensure_window(5)
    assert c.get("/v1/things").status == 200
    for _ in range(3):
        r = c.get("/v1/rate_limits")
        assert r.status == 200, r
        assert r.int_header("X-RateLimit-Limit") == 5, r
        assert r.int_header("X-RateLimit-Remaining") == 4, r  # one spent, none by this
        assert r.int_header("X-RateLimit-Used") == 1, r
        assert r.header("X-RateLimit-Resource") == "api", r
        assert r.int_header("X-RateLimit-Reset") == limits_of(r.json())["api"]["reset"], r
        assert r.header("Date"), r


def test_still_answers_when_the_limit_is_exhausted(gateway):
    _, key = gateway.new_account("free", overrides={"api_requests_per_minute": 1})
    c = gateway.client(key)
    ensure_window(3)
    assert c.get("/v1/things").status == 200
    assert c.get("/v1/things").status == 429
    r = c.get("/v1/rate_limits")
    assert r.status == 200, r
    api = limits_of(r.json())["api"]
    assert api["limit"] == 1 and api["remaining"] == 0, api


def test_requires_a_key(gateway):
    assert_error_shape(gateway.client().get("/v1/rate_limits"), 401, "invalid_api_key")


def test_reflects_the_pro_plan_and_test_keys(gateway):
    account, key = gateway.new_account("pro")
    _, test_key = gateway.admin.create_key(account, "test")
    body = gateway.client(key).get("/v1/rate_limits").json()
    assert body["plan"] == "pro"
    assert limits_of(body)["api"]["limit"] == 600
    assert limits_of(body)["analysis"]["limit"] == 150
    body = gateway.client(test_key).get("/v1/rate_limits").json()
    assert limits_of(body)["api"]["limit"] == 60
    assert limits_of(body)["analysis"]["limit"] == 15
