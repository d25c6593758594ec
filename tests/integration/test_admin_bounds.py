"""Issue 11 item 3: every number an admin override brings in is held to the bounds the
configuration enforces (0 to 1e9 per limit). A bad override is a 400 in the Kallglot error
shape whose `param` names the field, and the account is left as it was; the largest
accepted override works for requests on the memory store and on Redis (where the check
script once refused anything above 2^40 as a store error on every request)."""

from __future__ import annotations

from helpers import metric_sum, redis_store, wait_store_ok

MAX = 1_000_000_000

# Raw JSON (so that 1e300, 2^63 and 1.0 reach the gateway exactly as written) and the
# `param` the 400 must name.
BAD_OVERRIDES = [
    ('{"api_requests_per_minute": -1}', "overrides.api_requests_per_minute"),
    ('{"api_requests_per_minute": 1000000001}', "overrides.api_requests_per_minute"),
    ('{"api_requests_per_minute": 9223372036854775808}', "overrides.api_requests_per_minute"),
    ('{"api_requests_per_minute": 18446744073709551616}', "overrides.api_requests_per_minute"),
    ('{"api_requests_per_minute": 1e300}', "overrides.api_requests_per_minute"),
    ('{"api_requests_per_minute": 1.5}', "overrides.api_requests_per_minute"),
    ('{"api_requests_per_minute": 100.0}', "overrides.api_requests_per_minute"),
    ('{"api_requests_per_minute": "100"}', "overrides.api_requests_per_minute"),
    ('{"api_requests_per_minute": null}', "overrides.api_requests_per_minute"),
    ('{"ws_messages_per_second": 1099511627777}', "overrides.ws_messages_per_second"),
    ('{"ws_audio_bytes_per_second": -32768}', "overrides.ws_audio_bytes_per_second"),
    ('{"ws_audio_bytes_per_second": 4.5e9}', "overrides.ws_audio_bytes_per_second"),
    ('{"concurrent_sessions": 1000000001}', "overrides.concurrent_sessions"),
    ('{"concurrent_sessions": "unlimited"}', "overrides.concurrent_sessions"),
    ('{"groups": {"analysis": 9223372036854775807}}', "overrides.groups.analysis"),
    ('{"groups": {"analysis": -5}}', "overrides.groups.analysis"),
    ('{"groups": {"analysis": "15"}}', "overrides.groups.analysis"),
    ('{"groups": {"analysis": 0.5}}', "overrides.groups.analysis"),
    ('{"groups": {"no_such_group": 5}}', "overrides.groups.no_such_group"),
    ('{"groups": [5]}', "overrides.groups"),
    ('{"shadow_mode": "yes"}', "overrides.shadow_mode"),
    ('{"burst": 10}', "overrides.burst"),
]

LARGEST = {"api_requests_per_minute": MAX, "concurrent_sessions": MAX,
           "ws_messages_per_second": MAX, "ws_audio_bytes_per_second": MAX,
           "groups": {"analysis": MAX, "sessions_write": MAX}}


def put_raw(gw, account: str, body: str):
    return gw.admin.client.request(
        "PUT", f"/admin/v1/accounts/{account}",
        headers={"Authorization": f"Bearer {gw.admin.token}",
                 "Content-Type": "application/json"},
        body=body.encode(), use_key=False)


def assert_bad_request(r, param: str) -> None:
    assert r.status == 400, r
    assert "application/json" in (r.header("Content-Type") or ""), r
    err = r.json()["error"]
    assert err["type"] == "invalid_request_error", err
    assert err["code"] == "invalid_request", err
    assert err["param"] == param, err
    assert param in err["message"], err
    assert err["request_id"] == r.header("X-Request-ID"), (err, r)


def test_each_out_of_bounds_override_is_a_400_naming_the_field(gateway):
    account, key = gateway.new_account("pro", {"api_requests_per_minute": 700})
    before = gateway.admin.request("GET", f"/admin/v1/accounts/{account}")
    assert before.status == 200, before
    for overrides, param in BAD_OVERRIDES:
        r = put_raw(gateway, account, f'{{"plan": "free", "overrides": {overrides}}}')
        assert_bad_request(r, param)
        # Not created either: the same body for a new account is refused the same way.
        assert_bad_request(put_raw(gateway, f"{account}_new",
                                   f'{{"plan": "free", "overrides": {overrides}}}'), param)
    after = gateway.admin.request("GET", f"/admin/v1/accounts/{account}")
    assert after.json() == before.json()  # plan, overrides, effective limits, keys
    r = gateway.admin.request("GET", f"/admin/v1/accounts/{account}_new")
    assert r.status == 404, r
    # And its requests are still limited as before.
    resp = gateway.client(key).get("/v1/things")
    assert resp.status == 200, resp
    assert resp.int_header("X-RateLimit-Limit") == 700, resp


def test_an_unknown_top_level_field_is_named_too(gateway):
    account, _ = gateway.new_account("pro")
    assert_bad_request(put_raw(gateway, account, '{"plan": "pro", "limits": {}}'), "limits")


def requests_at_the_largest_limits(gw) -> None:
    """An account with every number at the bound: requests admitted and counted exactly
    (never a store error), the group counted beside the plan-wide limit, a session slot
    taken under the largest concurrent-session limit."""
    account, key = gw.new_account("pro", LARGEST)
    effective = gw.admin.request("GET", f"/admin/v1/accounts/{account}").json()["effective_limits"]
    assert effective["api_requests_per_minute"] == MAX, effective
    assert effective["groups"]["analysis"] == MAX, effective
    c = gw.client(key)
    for i in range(1, 4):
        r = c.get("/v1/things")
        assert r.status == 200, r
        assert r.int_header("X-RateLimit-Limit") == MAX, r
        assert r.int_header("X-RateLimit-Remaining") == MAX - i, r
        assert r.int_header("X-RateLimit-Used") == i, r
    r = c.post("/v1/analysis/run", body=b"{}", headers={"Content-Type": "application/json"})
    assert r.status == 200, r
    assert r.int_header("X-RateLimit-Limit") == MAX, r
    r = c.post("/v1/sessions", body=b'{"source_language":"en","target_language":"de"}',
               headers={"Content-Type": "application/json"})
    assert r.status == 201, r
    assert r.int_header("X-Concurrent-Sessions-Limit") == MAX, r
    assert r.int_header("X-Concurrent-Sessions-Active") == 1, r
    status = c.get("/v1/rate_limits")
    assert status.status == 200, status
    body = status.json()
    assert body["limits"]["api"]["limit"] == MAX, body
    assert body["limits"]["api"]["used"] == 5, body  # 3 GETs, analysis, session; a peek is free
    assert body["limits"]["analysis"]["limit"] == MAX, body
    assert body["limits"]["analysis"]["used"] == 1, body
    assert body["concurrent_sessions"] == {"limit": MAX, "active": 1}, body
    assert body["websocket"] == {"messages_per_second": MAX, "audio_bytes_per_second": MAX}, body
    assert metric_sum(gw.admin.metrics(), "kallglot_gateway_store_errors_total") == 0


def test_the_largest_override_works_on_memory(gateway, mock):
    requests_at_the_largest_limits(gateway)


def test_the_largest_override_works_on_redis(gateways, mock, redis_server):
    # fail_closed: a store error would be a 503 here, not an admission that hides it.
    gw = gateways.start(redis_store(redis_server.url, on_failure="fail_closed"))
    wait_store_ok(gw)
    requests_at_the_largest_limits(gw)
