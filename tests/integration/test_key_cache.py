"""The caller cache under a flood of made-up keys (issue 11): malformed keys are refused
without any lookup, well-formed unknown ones are looked up (and remembered apart), and
neither pushes a known caller out: its requests stay cache hits throughout."""

from __future__ import annotations

import secrets
import string

from helpers import assert_error_shape, metric_sum

LOOKUPS = "kallglot_gateway_key_lookups_total"
BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase


def made_up_key() -> str:
    return "sk_live_" + "".join(secrets.choice(BASE62) for _ in range(43))


def lookups(gw, result: str) -> float:
    return metric_sum(gw.admin.metrics(), LOOKUPS, result=result)


def test_made_up_keys_never_evict_a_known_caller(gateways, mock):
    gw = gateways.start({"plans": {"free": {"api_requests_per_minute": 1_000_000}}})
    _, key = gw.new_account("free")
    known = gw.client(key)
    # Once per worker (2): each worker's cache learns the key on its first miss.
    for _ in range(8):
        assert known.get("/v1/things").status == 200
    learnt = lookups(gw, "known")
    assert 1 <= learnt <= 2, learnt

    c = gw.client()
    tried = []
    for i in range(10_000):
        tried.append(made_up_key())
        assert c.get("/v1/things", headers={"Authorization": f"Bearer {tried[-1]}"}
                     ).status == 401
        if i % 1000 == 0:
            assert known.get("/v1/things").status == 200
    assert lookups(gw, "unknown") == 10_000
    for _ in range(8):
        assert known.get("/v1/things").status == 200
    assert lookups(gw, "known") == learnt, "a known caller was evicted by made-up keys"
    # Secrets, real or made up, never reach the log.
    log = gw.proc.output()
    assert key not in log and not any(k in log for k in tried[::100])


def test_malformed_keys_are_refused_without_a_lookup(gateway, mock):
    c = gateway.client()
    for bad in ("sk_live_short", "sk_live_" + "a" * 44, "sk_live_" + "a" * 42 + "!",
                "sk_prod_" + "a" * 43, "x" * 8000):
        assert_error_shape(c.get("/v1/things", headers={"X-API-Key": bad}), 401,
                           "invalid_api_key")
    assert lookups(gateway, "unknown") == 0 and lookups(gateway, "known") == 0
    assert mock.count("/v1/things") == 0
