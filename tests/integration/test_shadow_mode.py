"""SPEC §3 shadow_mode (global, per plan, per group): decide, add headers, count would-be
rejections, never reject."""

from helpers import assert_admitted, assert_rate_limited, ensure_window, parse_metrics

DECISIONS = "kallglot_gateway_decisions_total"


def shadow_count(metrics_text: str, **labels) -> float:
    return sum(v for n, l, v in parse_metrics(metrics_text)
               if n == DECISIONS and "shadow" in l.get("result", "")
               and all(l.get(k) == want for k, want in labels.items()))


def test_global_shadow_mode_never_rejects(gateways, mock):
    gw = gateways.start({"shadow_mode": True, "plans": {"free": {"api_requests_per_minute": 3}}})
    _, key = gw.new_account("free")
    c = gw.client(key)
    ensure_window(3)
    for i in range(3):
        assert_admitted(c.get("/v1/shadow"), 3, 2 - i, "api")
    for _ in range(4):
        r = c.get("/v1/shadow")
        assert r.status == 200, r
        assert r.int_header("X-RateLimit-Limit") == 3
        assert r.int_header("X-RateLimit-Remaining") == 0
        assert r.header("X-RateLimit-Resource") == "api"
    assert mock.count("/v1/shadow") == 7
    assert shadow_count(gw.admin.metrics(), plan="free") >= 4


def test_plan_shadow_mode_only_for_that_plan(gateways):
    gw = gateways.start({"plans": {"free": {"shadow_mode": True, "api_requests_per_minute": 2},
                                   "starter": {"api_requests_per_minute": 2}}})
    _, free_key = gw.new_account("free")
    _, starter_key = gw.new_account("starter")
    ensure_window(3)
    free, starter = gw.client(free_key), gw.client(starter_key)
    for _ in range(4):
        r = free.get("/v1/x")
        assert r.status == 200, r
    assert r.int_header("X-RateLimit-Remaining") == 0
    assert starter.get("/v1/x").status == 200
    assert starter.get("/v1/x").status == 200
    assert_rate_limited(starter.get("/v1/x"), 2, "api")
    assert shadow_count(gw.admin.metrics(), plan="free") >= 2


def test_group_shadow_mode_only_for_that_group(gateways):
    gw = gateways.start({"groups": {"analysis": {"shadow_mode": True}},
                         "plans": {"free": {"api_requests_per_minute": 7,
                                            "groups": {"analysis": 2, "webhooks": 2}}}})
    _, key = gw.new_account("free")
    c = gw.client(key)
    ensure_window(3)
    for i in range(4):
        r = c.get("/v1/analysis/a")
        assert r.status == 200, r  # analysis over its 2 but shadowed
        assert r.header("X-RateLimit-Resource") == "analysis"
        assert r.int_header("X-RateLimit-Remaining") == max(0, 1 - i)
    # webhooks (not shadowed) is enforced.
    assert c.get("/v1/webhooks").status == 200
    assert c.get("/v1/webhooks").status == 200
    assert_rate_limited(c.get("/v1/webhooks"), 2, "webhooks")
    # The plan-wide limit (not shadowed) is enforced too: 6 of 7 spent (4 analysis + 2
    # webhooks; the rejected webhook consumed nothing).
    assert_admitted(c.get("/v1/x"), 7, 0, "api")
    assert_rate_limited(c.get("/v1/x"), 7, "api")
    assert shadow_count(gw.admin.metrics(), group="analysis") >= 2
