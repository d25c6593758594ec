"""SPEC §6: a plan change or override takes effect on the next request, without a restart;
counters already spent in the window are kept."""

from helpers import assert_admitted, assert_rate_limited, ensure_window


def test_upgrade_free_to_pro_admits_the_next_request_and_keeps_spent_units(gateway, mock):
    account, key = gateway.new_account("free")
    c = gateway.client(key)
    ensure_window(5)
    for _ in range(60):
        assert c.get("/v1/things").status == 200
    assert_rate_limited(c.get("/v1/things"), 60, "api")
    gateway.admin.put_account(account, "pro")
    r = c.get("/v1/things")
    assert_admitted(r, 600, 600 - 61, "api", used=61)
    assert mock.count("/v1/things") == 61


def test_override_takes_effect_on_the_next_request(gateway):
    account, key = gateway.new_account("free")
    c = gateway.client(key)
    ensure_window(3)
    for i in range(3):
        assert_admitted(c.get("/v1/things"), 60, 59 - i, "api")
    gateway.admin.put_account(account, "free", {"api_requests_per_minute": 5})
    assert_admitted(c.get("/v1/things"), 5, 1, "api", used=4)
    assert_admitted(c.get("/v1/things"), 5, 0, "api", used=5)
    assert_rate_limited(c.get("/v1/things"), 5, "api")


def test_group_override_takes_effect(gateway):
    account, key = gateway.new_account("starter")
    c = gateway.client(key)
    ensure_window(3)
    assert_admitted(c.get("/v1/analysis/a"), 30, 29, "analysis")
    gateway.admin.put_account(account, "starter", {"groups": {"analysis": 2}})
    assert_admitted(c.get("/v1/analysis/a"), 2, 0, "analysis")
    assert_rate_limited(c.get("/v1/analysis/a"), 2, "analysis")
    # The other limits of the plan are unchanged.
    assert_admitted(c.get("/v1/things"), 120, 117, "api")


def test_downgrade_applies_immediately(gateway):
    account, key = gateway.new_account("pro")
    c = gateway.client(key)
    ensure_window(3)
    for _ in range(10):
        assert c.get("/v1/things").status == 200
    gateway.admin.put_account(account, "free", {"api_requests_per_minute": 8})
    # 10 already spent > 8: rejected at once, and Used reports what was spent.
    r = c.get("/v1/things")
    assert r.status == 429, r
    assert r.int_header("X-RateLimit-Limit") == 8
    assert r.int_header("X-RateLimit-Remaining") == 0
    assert r.header("X-RateLimit-Resource") == "api"


def test_account_get_shows_plan_overrides_and_effective_limits(gateway):
    account, _ = gateway.new_account("starter", overrides={"api_requests_per_minute": 7})
    r = gateway.admin.request("GET", f"/admin/v1/accounts/{account}")
    assert r.status == 200, r
    j = r.json()
    assert j["plan"] == "starter", j
    assert j["overrides"]["api_requests_per_minute"] == 7, j
    text = r.body.decode()
    assert "effective" in text or "limits" in text, j
