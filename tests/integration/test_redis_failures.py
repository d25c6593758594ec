"""SPEC §7, backend `redis`, when Redis does not answer: `on_failure` decides
(fail_open admits and counts degraded decisions, fail_closed answers 503
`rate_limiter_unavailable`, local limits per instance in memory); keys verified before
the outage keep working, a key that cannot be verified gets 503 whatever on_failure says;
/readyz reports the store; the gateway reconnects by itself.

Two kinds of outage: redis-server killed (connections drop, the port refuses; restarted
on the same port, empty, since it runs without persistence) and redis-server stopped with
SIGSTOP (connections stay open, nothing answers: every call runs into timeout_ms).
"""

from __future__ import annotations

import threading
import time

import pytest

from helpers import (Client, assert_admitted, assert_error_shape, assert_rate_limited,
                     ensure_window, limits_of, metric_sum, readyz, redis_store, wait_store_ok,
                     wait_until)

MODES = ["fail_open", "fail_closed", "local"]
DECISIONS = "kallglot_gateway_decisions_total"
STORE_ERRORS = "kallglot_gateway_store_errors_total"
TIMEOUT_MS = 50
# The longest any request may take while Redis is away. timeout_ms is 50 and a request
# here makes at most one Redis call (its key is cached), so 0.4 s leaves a wide margin
# (also for the ASan build) while catching a call that waits for something else first.
BOUND = 0.4


def timed(c: Client, path: str = "/v1/things"):
    t0 = time.monotonic()
    r = c.get(path)
    took = time.monotonic() - t0
    assert took < BOUND, f"{path} took {took:.3f}s ({r.status})"
    return r


def wait_store_unavailable(gw, timeout: float = 10.0):
    def down():
        r = readyz(gw)
        return r if r.json().get("store") == "unavailable" else None
    return wait_until(down, timeout, interval=0.05, what=f"{gw.proc.name} /readyz store down")


def assert_readyz_during_outage(gw, mode: str) -> None:
    r = wait_store_unavailable(gw)
    if mode == "fail_closed":
        assert r.status == 503, r
        assert r.json() == {"status": "not_ready", "store": "unavailable"}, r
    else:
        assert r.status == 200, r
        assert r.json() == {"status": "degraded", "store": "unavailable"}, r


def assert_decided_by_redis(c: Client, limit: int, n: int = 3) -> None:
    """`n` requests in a row, each counted in Redis: their Remaining goes down by one each
    time, and GET /v1/rate_limits (Redis's view) agrees."""
    first = None
    for i in range(n):
        r = timed(c)
        assert r.status == 200, r
        remaining = r.int_header("X-RateLimit-Remaining")
        assert r.int_header("X-RateLimit-Limit") == limit, r
        if first is None:
            first = remaining
        assert remaining == first - i, (first, i, r)
    api = limits_of(c.get("/v1/rate_limits").json())["api"]
    assert api["remaining"] == first - (n - 1), api


# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_redis_killed_and_restarted(gateways, mock, redis_server, mode):
    cfg = redis_store(redis_server.url, on_failure=mode, timeout_ms=TIMEOUT_MS)
    a, b = gateways.start(cfg), gateways.start(cfg)
    account, known = a.new_account("free", overrides={"api_requests_per_minute": 4})
    _, never_used = a.admin.create_key(account, "live")
    # Verified on both instances without spending anything (GET /v1/rate_limits is never
    # counted), after the last change to the account (a change empties the key caches).
    for gw in (a, b):
        wait_store_ok(gw)
        r = gw.client(known).get("/v1/rate_limits")
        assert r.status == 200 and limits_of(r.json())["api"]["remaining"] == 4, r
    metrics_before = a.admin.metrics()
    ensure_window(10)

    redis_server.kill()
    for gw in (a, b):
        assert_readyz_during_outage(gw, mode)

    # A key no instance has verified: 503 whatever on_failure says (it cannot be checked),
    # and so is any other key that looks like one; a missing key is still 401.
    for gw in (a, b):
        for key in (never_used, "sk_live_" + "x" * 43):
            r = timed(gw.client(key))
            assert_error_shape(r, 503, "rate_limiter_unavailable")
        assert_error_shape(timed(gw.client()), 401, "invalid_api_key")

    # The verified key, 6 requests per instance against a limit of 4.
    results = {gw.proc.name: [timed(gw.client(known)) for _ in range(6)] for gw in (a, b)}
    for name, rs in results.items():
        if mode == "fail_open":
            assert [r.status for r in rs] == [200] * 6, (name, rs)
        elif mode == "fail_closed":
            for r in rs:
                assert_error_shape(r, 503, "rate_limiter_unavailable")
        else:  # local: each instance limits on its own, from zero
            assert [r.status for r in rs] == [200] * 4 + [429] * 2, (name, rs)
            for i, r in enumerate(rs[:4]):
                assert_admitted(r, 4, 3 - i, "api")
            assert_rate_limited(rs[4], 4, "api")
    expected_upstream = {"fail_open": 12, "fail_closed": 0, "local": 8}[mode]
    assert mock.count("/v1/things") == expected_upstream

    metrics = a.admin.metrics()
    errors = metric_sum(metrics, STORE_ERRORS) - metric_sum(metrics_before, STORE_ERRORS)
    assert errors >= 6, metrics  # every check of the verified key, at least
    if mode != "local":
        degraded = (metric_sum(metrics, DECISIONS, plan="free", result="degraded")
                    - metric_sum(metrics_before, DECISIONS, plan="free", result="degraded"))
        assert degraded == 6, degraded

    # Redis back on the same port, empty: the gateways reconnect by themselves. The
    # accounts went with Redis's data, so the old key is now unknown (401, once the
    # re-established subscription has emptied the key caches); a new account works, with
    # its counters in Redis, shared by both instances again.
    redis_server.restart()
    for gw in (a, b):
        wait_store_ok(gw)
        wait_until(lambda: gw.client(known).get("/v1/rate_limits").status == 401, 10,
                   interval=0.05, what="the old key to be unknown")
        assert_error_shape(gw.client(known).get("/v1/things"), 401, "invalid_api_key")
    _, fresh = b.new_account("free", overrides={"api_requests_per_minute": 4})
    ensure_window(5)
    assert_admitted(timed(a.client(fresh)), 4, 3, "api")
    assert_admitted(timed(b.client(fresh)), 4, 2, "api")
    assert_admitted(timed(a.client(fresh)), 4, 1, "api")
    assert_admitted(timed(b.client(fresh)), 4, 0, "api")
    assert_rate_limited(timed(a.client(fresh)), 4, "api")
    assert redis_server.command("EXISTS", f"kg:{{acct:{account}:live}}:counters") == 0
    assert a.proc.alive() and b.proc.alive()


@pytest.mark.parametrize("mode", MODES)
def test_redis_paused_under_load(gateways, mock, redis_server, mode):
    """SIGSTOP: Redis keeps its connections but answers nothing. Under load from 4 clients,
    every request completes within BOUND as on_failure says; the gateway recovers by
    itself once Redis continues, with the counters Redis kept."""
    gw = gateways.start(redis_store(redis_server.url, on_failure=mode, timeout_ms=TIMEOUT_MS))
    _, key = gw.new_account("free", overrides={"api_requests_per_minute": 100000})
    wait_store_ok(gw)
    assert_decided_by_redis(gw.client(key), 100000)

    stop = threading.Event()
    log: list[tuple[float, float, int, int | None]] = []  # (start, took, status, remaining)
    lock = threading.Lock()
    failures: list[BaseException] = []

    def load():
        c = gw.client(key)
        try:
            while not stop.is_set():
                t0 = time.monotonic()
                r = c.get("/v1/things")
                took = time.monotonic() - t0
                remaining = r.header("X-RateLimit-Remaining")
                with lock:
                    log.append((t0, took, r.status, None if remaining is None else int(remaining)))
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    def store_errors() -> float:
        return metric_sum(gw.admin.metrics(), STORE_ERRORS)

    threads = [threading.Thread(target=load) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        wait_until(lambda: len(log) >= 20, 10, what="load before the pause")
        redis_server.pause()
        paused_at = time.monotonic()
        assert_readyz_during_outage(gw, mode)
        wait_until(lambda: sum(1 for e in list(log) if e[0] > paused_at + 0.2) >= 40, 10,
                   what="requests during the pause")
        # Keep Redis stopped for at least 1.5 s: well past timeout_ms and the tick's probe.
        wait_until(lambda: time.monotonic() - paused_at >= 1.5, 5, what="a 1.5 s pause")
        redis_server.resume()
        resumed_at = time.monotonic()
        wait_store_ok(gw)

        # Recovered: a run of 20 requests during which no check failed (store errors count
        # every failed check, the local fallback's included).
        def redis_decides_again():
            errors_before, n_before = store_errors(), len(log)
            wait_until(lambda: len(log) >= n_before + 20, 10, what="20 more requests")
            return store_errors() == errors_before
        wait_until(redis_decides_again, 10, interval=0.0, what="decisions by Redis again")
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert not failures, failures
    assert gw.proc.alive()

    during = [(s, r) for t0, took, s, r in log if paused_at + 0.2 < t0 and t0 + took < resumed_at]
    assert len(during) >= 40, len(during)
    statuses = {s for s, _ in during}
    if mode == "fail_closed":
        assert statuses == {503}, statuses
    else:
        assert statuses == {200}, statuses  # fail_open admits; local has room (100000)
    if mode == "local":
        # Decided by the instance's own counters: the usual headers.
        assert all(r is not None for _, r in during)
    else:
        assert all(r is None for _, r in during)  # not decided: no rate-limit headers

    # Redis kept its counters through the pause: after it, Redis's count continues below
    # the lowest remaining it reported before the pause (local counts start at the top).
    before = min(r for t0, took, _, r in log if t0 + took < paused_at and r is not None)
    after = limits_of(gw.client(key).get("/v1/rate_limits").json())["api"]["remaining"]
    assert after < before, (after, before)
    assert_decided_by_redis(gw.client(key), 100000)

    # Last, so that everything above is checked too: no request waited for Redis longer
    # than BOUND, however long the pause.
    slow = [(round(t0 - paused_at, 3), round(took, 3), s) for t0, took, s, _ in log
            if took >= BOUND]
    assert not slow, (f"{len(slow)} of {len(log)} requests took {BOUND}s or more "
                      f"(start relative to the pause, seconds taken, status): {slow[:10]}")
