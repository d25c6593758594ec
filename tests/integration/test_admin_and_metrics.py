"""SPEC §6/§9: health endpoints, the admin token, Prometheus metrics with decision counters
by plan, group and result, the usage endpoint."""

import re

import pytest

from helpers import ensure_window, metric_sum, parse_metrics

DECISIONS = "kallglot_gateway_decisions_total"


def test_healthz_and_readyz(gateway):
    for path in ("/healthz", "/readyz"):
        r = gateway.admin.request("GET", path, token=None)
        assert r.status == 200, (path, r)


@pytest.mark.parametrize("method,path,body", [
    ("PUT", "/admin/v1/accounts/acct_x", {"plan": "pro"}),
    ("GET", "/admin/v1/accounts/acct_x", None),
    ("DELETE", "/admin/v1/accounts/acct_x", None),
    ("POST", "/admin/v1/accounts/acct_x/keys", {"environment": "live"}),
    ("DELETE", "/admin/v1/keys/key_x", None),
    ("GET", "/admin/v1/accounts/acct_x/usage", None),
    ("DELETE", "/admin/v1/accounts/acct_x/sessions/sess_x", None),
])
def test_admin_api_requires_the_token(gateway, method, path, body):
    for token in (None, "wrong-token", ""):
        r = gateway.admin.request(method, path, body, token=token)
        assert r.status == 401, (method, path, token, r)
    # Nothing was created by the refused PUT / POST.
    r = gateway.admin.request("GET", "/admin/v1/accounts/acct_x")
    assert r.status == 404, r


def test_admin_token_comes_from_the_configured_env_var(gateways):
    gw = gateways.start({"admin": {"token_env": "MY_GW_TOKEN"}},
                        env={"MY_GW_TOKEN": "another-token"})
    r = gw.admin.request("GET", "/admin/v1/accounts/nope", token="another-token")
    assert r.status == 404, r
    r = gw.admin.request("GET", "/admin/v1/accounts/nope")  # the default test token
    assert r.status == 401, r


def test_admin_api_is_not_on_the_public_listener(gateway):
    r = gateway.client().request("GET", "/admin/v1/accounts/acct_1",
                                 headers={"Authorization": "Bearer integration-admin-token"},
                                 use_key=False)
    assert r.status in (401, 404), r


def test_deleted_account_keys_stop_working(gateway):
    account, key = gateway.new_account("free")
    assert gateway.client(key).get("/v1/x").status == 200
    r = gateway.admin.request("DELETE", f"/admin/v1/accounts/{account}")
    assert r.status in (200, 204), r
    assert gateway.client(key).get("/v1/x").status == 401
    assert gateway.admin.request("GET", f"/admin/v1/accounts/{account}").status == 404


def test_metrics_count_decisions_by_plan_group_and_result(gateway):
    _, key = gateway.new_account("free", overrides={"api_requests_per_minute": 2})
    _, pro_key = gateway.new_account("pro")
    c = gateway.client(key)
    ensure_window(3)
    assert c.get("/v1/x").status == 200
    assert c.get("/v1/analysis/a").status == 200
    assert c.get("/v1/x").status == 429
    assert gateway.client(pro_key).get("/v1/analysis/b").status == 200
    text = gateway.admin.metrics()
    series = [(n, l) for n, l, _ in parse_metrics(text) if n == DECISIONS]
    assert series, f"no {DECISIONS} in /metrics:\n{text[:3000]}"
    for _, labels in series:
        assert {"plan", "group", "result"} <= set(labels), labels
    assert metric_sum(text, DECISIONS, plan="free", result="allowed") >= 2
    assert metric_sum(text, DECISIONS, plan="free", result="denied") >= 1
    assert metric_sum(text, DECISIONS, plan="free", group="analysis", result="allowed") >= 1
    assert metric_sum(text, DECISIONS, plan="pro", group="analysis", result="allowed") >= 1
    # Counters only go up.
    assert gateway.client(pro_key).get("/v1/x").status == 200
    text2 = gateway.admin.metrics()
    assert metric_sum(text2, DECISIONS, plan="pro") == metric_sum(text, DECISIONS, plan="pro") + 1


def test_metrics_are_prometheus_text(gateway):
    _, key = gateway.new_account("free")
    assert gateway.client(key).get("/v1/x").status == 200
    r = gateway.admin.request("GET", "/metrics")
    assert r.status == 200
    assert (r.header("Content-Type") or "").startswith("text/plain"), r
    text = r.body.decode()
    assert f"# TYPE {DECISIONS} counter" in text, text[:2000]


def test_usage_endpoint(gateway):
    account, key = gateway.new_account("free")
    c = gateway.client(key)
    ensure_window(3)
    for _ in range(3):
        assert c.get("/v1/x").status == 200
    r = gateway.admin.request("GET", f"/admin/v1/accounts/{account}/usage")
    assert r.status == 200, r
    text = r.body.decode()
    for word in ("limit", "remaining", "reset", "allowed", "denied"):
        assert word in text, (word, text)


def test_admin_answers_carry_date(gateway):
    for r in (gateway.admin.request("GET", "/healthz"),
              gateway.admin.request("GET", "/admin/v1/accounts/nobody", token=None)):
        assert re.fullmatch(r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT",
                            r.header("Date") or ""), r
