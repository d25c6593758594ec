"""SPEC §8: the decision service over gRPC (Envoy's ShouldRateLimit), asked by two
independent clients (Python grpcio, Node @grpc/grpc-js), on the proxy's own counters."""

from __future__ import annotations

import base64
import json

import pytest

from decision_clients import PythonRls, body_of, compile_python_stubs, headers_of, node_checks
from helpers import ensure_window, free_port

KEY = "api_key"


@pytest.fixture(scope="session")
def stubs(tmp_path_factory):
    return compile_python_stubs(tmp_path_factory.mktemp("rls-stubs"))


def with_grpc(overrides: dict | None = None) -> tuple[dict, int]:
    port = free_port()
    cfg = {"decision": {"grpc_listen": f"127.0.0.1:{port}"}}
    for k, v in (overrides or {}).items():
        cfg[k] = v
    return cfg, port


@pytest.fixture
def served(gateways, stubs):
    """A gateway with the decision service on, and a Python client of it."""
    cfg, port = with_grpc()
    gw = gateways.start(cfg)
    client = PythonRls(stubs, port)
    yield gw, client, port
    client.close()


def code_name(stubs, code: int) -> str:
    return stubs[0].RateLimitResponse.Code.Name(code)


def test_plan_wide_limit_counts_down_then_over_limit(served, stubs):
    gw, rls, _ = served
    _, key = gw.new_account("free")  # 60 per minute
    ensure_window(5)
    for i in range(60):
        r = rls.check([[(KEY, key)]])
        assert code_name(stubs, r.overall_code) == "OK", r
        (status,) = r.statuses
        assert code_name(stubs, status.code) == "OK"
        assert status.current_limit.name == "api"
        assert status.current_limit.requests_per_unit == 60
        assert stubs[0].RateLimitResponse.RateLimit.Unit.Name(status.current_limit.unit) == "MINUTE"
        assert status.limit_remaining == 59 - i
        assert 0 < status.duration_until_reset.seconds <= 60
        h = headers_of(r)
        assert h["X-RateLimit-Limit"] == "60" and h["X-RateLimit-Remaining"] == str(59 - i)
        assert "Retry-After" not in h and not r.raw_body
    over = rls.check([[(KEY, key)]])
    assert code_name(stubs, over.overall_code) == "OVER_LIMIT"
    assert code_name(stubs, over.statuses[0].code) == "OVER_LIMIT"
    assert over.statuses[0].limit_remaining == 0
    h = headers_of(over)
    assert int(h["Retry-After"]) >= 1 and h["X-RateLimit-Remaining"] == "0"
    assert h["Content-Type"] == "application/json"
    err = body_of(over)["error"]
    assert err["code"] == "rate_limit_exceeded" and err["type"] == "rate_limit_error"


def test_bearer_values_are_read_like_the_proxy(served, stubs):
    gw, rls, _ = served
    _, key = gw.new_account("free")
    r = rls.check([[(KEY, f"Bearer {key}")]])
    assert code_name(stubs, r.overall_code) == "OK"


def test_concurrent_checks_admit_exactly_the_limit(served, stubs):
    gw, rls, _ = served
    account, key = gw.new_account("free", {"api_requests_per_minute": 25})
    ensure_window(10)
    futures = [rls.check_async([[(KEY, key)]]) for _ in range(50)]
    codes = [code_name(stubs, f.result().overall_code) for f in futures]
    assert codes.count("OK") == 25 and codes.count("OVER_LIMIT") == 25


def test_one_budget_with_proxied_requests(served, stubs):
    gw, rls, _ = served
    _, key = gw.new_account("free")
    ensure_window(5)
    c = gw.client(key)
    for _ in range(30):
        assert c.get("/v1/things").status == 200
    for i in range(30):
        r = rls.check([[(KEY, key)]])
        assert code_name(stubs, r.overall_code) == "OK"
        assert r.statuses[0].limit_remaining == 29 - i
    assert c.get("/v1/things").status == 429
    assert code_name(stubs, rls.check([[(KEY, key)]]).overall_code) == "OVER_LIMIT"


def test_group_descriptors_align_and_are_all_or_nothing(served, stubs):
    gw, rls, _ = served
    _, key = gw.new_account("free")  # api 60, analysis 15
    ensure_window(5)
    descriptors = [[(KEY, key)], [(KEY, key), ("group", "analysis")],
                   [(KEY, key), ("method", "GET"), ("path", "/v1/analysis/42?x=1")],
                   [(KEY, key), ("method", "GET"), ("path", "/v1/things")]]
    for i in range(15):
        r = rls.check(descriptors)
        assert code_name(stubs, r.overall_code) == "OK"
        api, group, route, outside = r.statuses
        assert api.current_limit.name == "api" and api.limit_remaining == 59 - i
        assert group.current_limit.name == "analysis" and group.limit_remaining == 14 - i
        assert route.current_limit.name == "analysis" and route.limit_remaining == 14 - i
        assert not outside.HasField("current_limit")  # a route in no group: no limit
        assert code_name(stubs, outside.code) == "OK"
    over = rls.check(descriptors)
    assert code_name(stubs, over.overall_code) == "OVER_LIMIT"
    assert [code_name(stubs, s.code) for s in over.statuses] == ["OK", "OVER_LIMIT",
                                                                  "OVER_LIMIT", "OK"]
    # All or nothing: the refused check charged the plan-wide limit nothing.
    after = rls.check([[(KEY, key)]])
    assert after.statuses[0].limit_remaining == 60 - 15 - 1


def test_hits_addend_is_the_cost(served, stubs):
    gw, rls, _ = served
    _, key = gw.new_account("free")
    ensure_window(5)
    r = rls.check([[(KEY, key)]], hits_addend=10)
    assert r.statuses[0].limit_remaining == 50
    r = rls.check([{"entries": [(KEY, key)], "hits_addend": 5}])
    assert r.statuses[0].limit_remaining == 45
    r = rls.check([[(KEY, key)]], hits_addend=0)  # 0 = 1
    assert r.statuses[0].limit_remaining == 44


def test_unknown_and_revoked_keys_are_over_limit_with_the_401_body(served, stubs):
    gw, rls, _ = served
    account, _ = gw.new_account("free")
    key_id, key = gw.admin.create_key(account)
    for presented in ("sk_live_" + "x" * 43, "not-a-key", ""):
        r = rls.check([[(KEY, presented)], [(KEY, presented), ("group", "analysis")]])
        assert code_name(stubs, r.overall_code) == "OVER_LIMIT", presented
        assert [code_name(stubs, s.code) for s in r.statuses] == ["OVER_LIMIT"] * 2
        err = body_of(r)["error"]
        assert err["type"] == "authentication_error" and err["code"] == "invalid_api_key"
        assert err["request_id"].startswith("req_")
    assert code_name(stubs, rls.check([[(KEY, key)]]).overall_code) == "OK"
    gw.admin.revoke_key(key_id)
    r = rls.check([[(KEY, key)]])
    assert code_name(stubs, r.overall_code) == "OVER_LIMIT"
    assert body_of(r)["error"]["code"] == "invalid_api_key"


def test_other_domains_are_never_ok(served, stubs):
    gw, rls, _ = served
    _, key = gw.new_account("free")
    r = rls.check([[(KEY, key)]], domain="envoy")
    assert code_name(stubs, r.overall_code) == "OVER_LIMIT"
    assert body_of(r)["error"]["code"] == "unknown_domain"


def test_malformed_requests_are_answered_without_harm(served, stubs):
    gw, rls, _ = served
    _, key = gw.new_account("free")
    ensure_window(5)
    cases = {
        "no_limits": rls.check([]),
        "invalid_cost": rls.check([[(KEY, key)]], hits_addend=2**32 - 1),
        "unknown_group": rls.check([[(KEY, key), ("group", "nope")]]),
        "invalid_request_target": rls.check([[(KEY, key), ("method", "GET"), ("path", "x")]]),
        "multiple_callers": rls.check([[(KEY, key)], [(KEY, key + "x")]]),
        "invalid_descriptor": rls.check([[(KEY, key), (KEY, key)]]),
        "too_many_limits": rls.check([[(KEY, key)]] * 65),
    }
    for code, r in cases.items():
        assert code_name(stubs, r.overall_code) == "OVER_LIMIT", code
        assert body_of(r)["error"]["code"] == code
    # A descriptor without entries names nobody: 401, not an admit.
    empty = rls.check([[]])
    assert code_name(stubs, empty.overall_code) == "OVER_LIMIT"
    assert body_of(empty)["error"]["code"] == "invalid_api_key"
    # Over the request size bound: gRPC refuses it; the service goes on.
    with pytest.raises(rls.grpc.RpcError) as too_big:
        rls.check([[(KEY, key), ("x", "y" * 70_000)]])
    assert too_big.value.code() == rls.grpc.StatusCode.RESOURCE_EXHAUSTED
    # None of it charged anything.
    ok = rls.check([[(KEY, key)]])
    assert code_name(stubs, ok.overall_code) == "OK" and ok.statuses[0].limit_remaining == 59


def test_plan_upgrade_applies_to_the_next_check(served, stubs):
    gw, rls, _ = served
    account, key = gw.new_account("free", {"api_requests_per_minute": 2})
    ensure_window(5)
    for _ in range(2):
        assert code_name(stubs, rls.check([[(KEY, key)]]).overall_code) == "OK"
    assert code_name(stubs, rls.check([[(KEY, key)]]).overall_code) == "OVER_LIMIT"
    gw.admin.put_account(account, "pro")
    r = rls.check([[(KEY, key)]])
    assert code_name(stubs, r.overall_code) == "OK"
    assert r.statuses[0].current_limit.requests_per_unit == 600
    assert r.statuses[0].limit_remaining == 600 - 3  # the refused check spent nothing


def test_account_entry_shares_the_keys_budget(served, stubs):
    gw, rls, _ = served
    account, key = gw.new_account("free")
    ensure_window(5)
    assert rls.check([[(KEY, key)]]).statuses[0].limit_remaining == 59
    r = rls.check([[("account", account)]])
    assert code_name(stubs, r.overall_code) == "OK" and r.statuses[0].limit_remaining == 58
    gone = rls.check([[("account", "acct_never_created")]])
    assert body_of(gone)["error"]["code"] == "unknown_account"
    bad = rls.check([[("account", "no spaces")]])
    assert body_of(bad)["error"]["code"] == "invalid_descriptor"


def test_ietf_fields_when_configured(gateways, stubs):
    cfg, port = with_grpc({"headers": ["x-ratelimit", "ietf"]})
    gw = gateways.start(cfg)
    rls = PythonRls(stubs, port)
    _, key = gw.new_account("free")
    h = headers_of(rls.check([[(KEY, key)]]))
    assert "RateLimit-Policy" in h and "RateLimit" in h and "X-RateLimit-Limit" in h
    rls.close()


def test_node_client_interoperates(served, stubs):
    gw, _, port = served
    _, key = gw.new_account("free", {"api_requests_per_minute": 5})
    ensure_window(10)
    request = {"domain": "kallglot",
               "descriptors": [{"entries": [{"key": KEY, "value": key}]},
                               {"entries": [{"key": KEY, "value": key},
                                            {"key": "group", "value": "analysis"}]}]}
    unknown = {"domain": "kallglot",
               "descriptors": [{"entries": [{"key": KEY, "value": "sk_live_" + "y" * 43}]}]}
    results = node_checks(port, [request] * 8 + [unknown], concurrency=4)
    codes = [r["overall_code"] for r in results[:8]]
    assert codes.count("OK") == 5 and codes.count("OVER_LIMIT") == 3
    ok = next(r for r in results if r["overall_code"] == "OK")
    assert [s["current_limit"]["name"] for s in ok["statuses"]] == ["api", "analysis"]
    assert ok["statuses"][0]["current_limit"]["unit"] == "MINUTE"
    over = next(r for r in results[:8] if r["overall_code"] == "OVER_LIMIT")
    assert {h["key"] for h in over["response_headers_to_add"]} >= {"Retry-After",
                                                                   "X-RateLimit-Limit"}
    assert json.loads(base64.b64decode(over["raw_body"]))["error"]["code"] == \
        "rate_limit_exceeded"
    assert results[8]["overall_code"] == "OVER_LIMIT"
    assert json.loads(base64.b64decode(results[8]["raw_body"]))["error"]["code"] == \
        "invalid_api_key"


def test_shutdown_with_the_service_on_exits_cleanly(gateways, stubs):
    cfg, port = with_grpc()
    gw = gateways.start(cfg)
    rls = PythonRls(stubs, port)
    _, key = gw.new_account("free")
    assert code_name(stubs, rls.check([[(KEY, key)]]).overall_code) == "OK"
    rls.close()
    assert gw.stop() == 0
    assert "decision service (gRPC) listening on 127.0.0.1:" in gw.proc.output()


def test_grpc_port_taken_is_a_clear_startup_error(gateways, tmp_path):
    import socket
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cfg = gateways.config({"decision": {"grpc_listen": f"127.0.0.1:{port}"}})
        from helpers import Gateway
        gw = Gateway(gateways.binary, tmp_path, cfg, "taken")
        assert gw.proc.wait(15) != 0
        assert "decision service: cannot listen on 127.0.0.1:" in gw.proc.output()


# ---- Redis: the same counters across instances, and on_failure ----------------------

def test_redis_instances_share_one_budget_across_proxy_and_grpc(gateways, redis_server, stubs):
    from helpers import redis_store
    cfg, port = with_grpc(redis_store(redis_server.url))
    deciding = gateways.start(cfg)
    proxying = gateways.start(redis_store(redis_server.url))
    rls = PythonRls(stubs, port)
    _, key = deciding.new_account("free")
    ensure_window(5)
    c = proxying.client(key)
    for _ in range(30):
        assert c.get("/v1/things").status == 200
    for i in range(30):
        r = rls.check([[(KEY, key)]])
        assert code_name(stubs, r.overall_code) == "OK", i
        assert r.statuses[0].limit_remaining == 29 - i
    assert code_name(stubs, rls.check([[(KEY, key)]]).overall_code) == "OVER_LIMIT"
    assert c.get("/v1/things").status == 429
    rls.close()


@pytest.mark.parametrize("mode", ["fail_open", "fail_closed"])
def test_store_outage_follows_on_failure(gateways, redis_server, stubs, mode):
    from helpers import redis_store
    cfg, port = with_grpc(redis_store(redis_server.url, on_failure=mode, timeout_ms=50))
    gw = gateways.start(cfg)
    rls = PythonRls(stubs, port)
    _, key = gw.new_account("free")
    # Verified (and cached) by the decision service before the outage.
    assert code_name(stubs, rls.check([[(KEY, key)]]).overall_code) == "OK"
    redis_server.kill()
    r = rls.check([[(KEY, key)]])
    if mode == "fail_open":
        assert code_name(stubs, r.overall_code) == "OK"
        assert "X-RateLimit-Limit" not in headers_of(r)  # nothing decided the count
    else:
        assert code_name(stubs, r.overall_code) == "OVER_LIMIT"
        assert body_of(r)["error"]["code"] == "rate_limiter_unavailable"
    # A key never verified cannot be, whatever on_failure says.
    unknown = rls.check([[(KEY, "sk_live_" + "z" * 43)]])
    assert code_name(stubs, unknown.overall_code) == "OVER_LIMIT"
    assert body_of(unknown)["error"]["code"] == "rate_limiter_unavailable"
    rls.close()


def test_a_flood_of_made_up_keys_leaves_known_callers_alone(served, stubs):
    """5,000 distinct well-formed keys nobody created (each one a store lookup, then a
    bounded set of known-unknown keys) beside a known caller: every made-up key is
    OVER_LIMIT with the 401 body, and the known caller's budget is untouched by them."""
    import secrets
    gw, rls, _ = served
    _, key = gw.new_account("free")
    ensure_window(20)
    assert rls.check([[(KEY, key)]]).statuses[0].limit_remaining == 59
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    for _ in range(10):
        batch = [rls.check_async([[(KEY, "sk_live_" + "".join(
            secrets.choice(alphabet) for _ in range(43)))]]) for _ in range(500)]
        for f in batch:
            r = f.result()
            assert code_name(stubs, r.overall_code) == "OVER_LIMIT"
            assert body_of(r)["error"]["code"] == "invalid_api_key"
    r = rls.check([[(KEY, key)]])
    assert code_name(stubs, r.overall_code) == "OK" and r.statuses[0].limit_remaining == 58
