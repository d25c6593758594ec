"""SPEC §3 unknown_key: `reject` (401) or `anonymous` (requests without a key are limited by
client IP with the plan `anonymous`)."""

from helpers import assert_admitted, assert_error_shape, assert_rate_limited, ensure_window


def test_anonymous_requests_are_limited_by_ip_with_the_anonymous_plan(gateways, mock):
    gw = gateways.start({"unknown_key": "anonymous",
                         "plans": {"anonymous": {"api_requests_per_minute": 3}}})
    c = gw.client()
    ensure_window(3)
    for i in range(3):
        assert_admitted(c.get("/v1/public"), 3, 2 - i, "api")
    assert_rate_limited(c.get("/v1/public"), 3, "api")
    assert mock.count("/v1/public") == 3
    # Keyed callers have their own counters.
    _, key = gw.new_account("free")
    assert_admitted(gw.client(key).get("/v1/public"), 60, 59, "api")
    # The anonymous plan shows in the status endpoint.
    r = c.get("/v1/rate_limits")
    assert r.status == 200, r
    assert r.json()["plan"] == "anonymous"


def test_reject_is_the_default(gateway):
    assert_error_shape(gateway.client().get("/v1/public"), 401, "invalid_api_key")


def test_explicit_reject(gateways, mock):
    gw = gateways.start({"unknown_key": "reject"})
    assert_error_shape(gw.client().get("/v1/public"), 401, "invalid_api_key")
    assert mock.count("/v1/public") == 0
