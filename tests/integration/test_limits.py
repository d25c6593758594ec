"""SPEC §1/§4: the published per-minute limits, plan-wide and per endpoint group, the
X-RateLimit-* headers, the 429 body, all-or-nothing consumption, nothing rejected reaches
the upstream."""

import time

import pytest

from helpers import assert_admitted, assert_rate_limited, ensure_window


@pytest.mark.parametrize("plan,limit", [("free", 60), ("starter", 120), ("pro", 600)])
def test_plan_wide_limit_admits_exactly_the_published_number(gateway, mock, plan, limit):
    _, key = gateway.new_account(plan)
    c = gateway.client(key)
    ensure_window(3 + limit * 0.01)
    for i in range(limit):
        t = time.time()
        r = c.get("/v1/things")
        assert_admitted(r, limit, limit - 1 - i, "api", used=i + 1, t_before=t)
    for _ in range(3):
        r = c.get("/v1/things")
        assert_rate_limited(r, limit, "api")
    assert mock.count("/v1/things") == limit


@pytest.mark.parametrize(
    "plan,plan_limit,group,group_limit,method,path",
    [
        ("free", 60, "analysis", 15, "GET", "/v1/sessions/sess_abc/analysis"),
        ("free", 60, "sessions_write", 30, "POST", "/v1/sessions/sess_abc/end"),
        ("starter", 120, "analysis", 30, "POST", "/v1/analysis/jobs"),
        ("starter", 120, "recordings", 60, "DELETE", "/v1/recordings/rec_1"),
        ("pro", 600, "webhooks", 300, "POST", "/v1/webhooks"),
    ],
)
def test_group_limit_then_rejection_consumes_nothing(gateway, mock, plan, plan_limit, group,
                                                     group_limit, method, path):
    _, key = gateway.new_account(plan)
    c = gateway.client(key)
    ensure_window(3 + group_limit * 0.01)
    for i in range(group_limit):
        t = time.time()
        r = c.request(method, path)
        assert_admitted(r, group_limit, group_limit - 1 - i, group, used=i + 1, t_before=t)
    for _ in range(2):
        r = c.request(method, path)
        assert_rate_limited(r, group_limit, group)
    assert mock.count(path) == group_limit
    # The rejected requests consumed nothing from the plan-wide limit.
    r = c.get("/v1/things")
    assert_admitted(r, plan_limit, plan_limit - group_limit - 1, "api", used=group_limit + 1)


def test_free_analysis_message_is_exact(gateway):
    _, key = gateway.new_account("free")
    c = gateway.client(key)
    ensure_window(3)
    for _ in range(15):
        assert c.get("/v1/analysis/a1").status == 200
    r = c.get("/v1/analysis/a1")
    err = assert_rate_limited(r, 15, "analysis")
    n = err["retry_after"]
    unit = "second" if n == 1 else "seconds"
    assert err["message"] == f"Rate limit exceeded for analysis (15 per minute). Retry after {n} {unit}."
    assert err["request_id"].startswith("req_")


def test_plan_wide_rejection_does_not_consume_the_group(gateway, mock):
    account, key = gateway.new_account("free", overrides={"api_requests_per_minute": 3})
    c = gateway.client(key)
    ensure_window(3)
    for i in range(3):
        r = c.get("/v1/things")
        assert_admitted(r, 3, 2 - i, "api")
    # The group (analysis, 15) has room, the plan-wide limit has not: 429 on "api".
    r = c.get("/v1/analysis/x")
    assert_rate_limited(r, 3, "api")
    assert mock.count("/v1/analysis/x") == 0
    # Raise the plan-wide limit: the analysis group still has all its 15 units.
    gateway.admin.put_account(account, "free", {"api_requests_per_minute": 100})
    r = c.get("/v1/analysis/x")
    assert_admitted(r, 15, 14, "analysis")


def test_requests_outside_groups_do_not_touch_group_counters(gateway):
    _, key = gateway.new_account("free")
    c = gateway.client(key)
    ensure_window(3)
    for _ in range(5):
        assert c.get("/v1/languages").status == 200
    r = c.get("/v1/analysis/a1")
    # analysis: 14 left of 15; api: 54 left of 60 -> analysis is the most constraining.
    assert_admitted(r, 15, 14, "analysis")


def test_other_accounts_are_not_affected(gateway):
    _, key1 = gateway.new_account("free", overrides={"api_requests_per_minute": 2})
    _, key2 = gateway.new_account("free", overrides={"api_requests_per_minute": 2})
    ensure_window(3)
    c1, c2 = gateway.client(key1), gateway.client(key2)
    assert c1.get("/v1/things").status == 200
    assert c1.get("/v1/things").status == 200
    assert c1.get("/v1/things").status == 429
    assert_admitted(c2.get("/v1/things"), 2, 1, "api")


def test_keys_of_one_account_share_its_counters(gateway):
    account, key1 = gateway.new_account("free", overrides={"api_requests_per_minute": 4})
    _, key2 = gateway.admin.create_key(account, "live")
    ensure_window(3)
    assert_admitted(gateway.client(key1).get("/v1/things"), 4, 3, "api")
    assert_admitted(gateway.client(key2).get("/v1/things"), 4, 2, "api")


def test_429_keeps_the_connection_usable(gateway):
    _, key = gateway.new_account("free", overrides={"api_requests_per_minute": 1})
    c = gateway.client(key)
    ensure_window(3)
    assert c.get("/v1/things").status == 200
    for _ in range(20):
        r = c.get("/v1/things")
        assert r.status == 429
    assert r.header("Connection") != "close"
