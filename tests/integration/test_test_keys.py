"""SPEC §4: `sk_test_` keys are limited with the free plan and count separately from the
account's live traffic."""

import time

from helpers import assert_admitted, assert_rate_limited, ensure_window


def test_test_key_of_a_pro_account_gets_the_free_plan_on_its_own_counters(gateway, mock):
    account, live_key = gateway.new_account("pro")
    _, test_key = gateway.admin.create_key(account, "test")
    assert test_key.startswith("sk_test_")
    test_c, live_c = gateway.client(test_key), gateway.client(live_key)
    ensure_window(5)
    for i in range(60):
        t = time.time()
        assert_admitted(test_c.get("/v1/things"), 60, 59 - i, "api", t_before=t)
    assert_rate_limited(test_c.get("/v1/things"), 60, "api")
    # The live traffic of the same account is untouched: pro, all 600 units left.
    assert_admitted(live_c.get("/v1/things"), 600, 599, "api")
    assert mock.count("/v1/things") == 61


def test_live_traffic_does_not_consume_test_quota(gateway):
    account, live_key = gateway.new_account("free")
    _, test_key = gateway.admin.create_key(account, "test")
    ensure_window(3)
    live_c = gateway.client(live_key)
    for i in range(5):
        assert_admitted(live_c.get("/v1/things"), 60, 59 - i, "api")
    assert_admitted(gateway.client(test_key).get("/v1/things"), 60, 59, "api")


def test_test_key_group_limits_are_the_free_plans(gateway):
    account, _ = gateway.new_account("pro")
    _, test_key = gateway.admin.create_key(account, "test")
    ensure_window(3)
    c = gateway.client(test_key)
    # free analysis: 15 per minute (pro would be 150).
    assert_admitted(c.get("/v1/analysis/a"), 15, 14, "analysis")


def test_test_keys_of_one_account_share_the_test_counters(gateway):
    account, _ = gateway.new_account("starter")
    _, t1 = gateway.admin.create_key(account, "test")
    _, t2 = gateway.admin.create_key(account, "test")
    ensure_window(3)
    assert_admitted(gateway.client(t1).get("/v1/things"), 60, 59, "api")
    assert_admitted(gateway.client(t2).get("/v1/things"), 60, 58, "api")
