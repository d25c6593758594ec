"""SPEC §7, backend `redis`: several gateway instances share one Redis — counters, session
slots, accounts and keys — so the limits are the account's, whichever instance a request
reaches. Also: a restart keeps what lives in Redis, and what the gateway writes there is
hash-tagged by account and never holds a plain API key.

Every test starts its own redis-server (no persistence) and its own gateways on it.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time

import websockets

from helpers import (assert_admitted, assert_error_shape, deep_merge, dump_contents,
                     ensure_window, limits_of, parallel_get, parallel_request, redis_store,
                     wait_until)
from test_sessions import ROOMY, active_sessions, assert_no_slot, create, created_id, end, \
    listed_ids, listing

PARALLEL_PATH = "/v1/shared"


def start_instances(gateways, redis_urls, n: int, overrides: dict | None = None) -> list:
    """`n` gateways on the same Redis. Not waiting for /readyz: a gateway must decide
    through Redis from its first request on."""
    cfg = deep_merge(redis_store(redis_urls), overrides or {})
    return [gateways.start(cfg) for _ in range(n)]


def spread_parallel_get(instances, path: str, per_instance: int, key: str) -> list[list]:
    """`per_instance` parallel GETs to each instance, all instances at the same time.
    Returns the (status, headers) lists per instance."""
    out: list = [None] * len(instances)
    go = threading.Barrier(len(instances))

    def run(i, gw):
        go.wait()
        out[i] = parallel_get("127.0.0.1", gw.port, path, per_instance,
                              {"Authorization": f"Bearer {key}"})

    threads = [threading.Thread(target=run, args=(i, gw)) for i, gw in enumerate(instances)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(o is not None for o in out), "a parallel run did not finish"
    return out


def assert_exactly_the_limit_across(instances, mock, key: str, limit: int, per_instance: int,
                                    path: str = PARALLEL_PATH) -> None:
    """Shared by the standalone and the cluster tests: parallel requests spread over every
    instance admit exactly `limit` in total, each admitted one saw a distinct remaining
    count (one shared counter, atomic checks), and exactly `limit` reach the upstream."""
    ensure_window(8)  # the whole burst and the checks after it in one fixed window
    results = spread_parallel_get(instances, path, per_instance, key)
    admitted = [h for per in results for s, h in per if s == 200]
    statuses = sorted({s for per in results for s, _ in per})
    assert statuses == [200, 429], statuses
    assert len(admitted) == limit, [sum(1 for s, _ in per if s == 200) for per in results]
    remaining = sorted(int(h["x-ratelimit-remaining"]) for h in admitted)
    assert remaining == list(range(limit)), remaining
    for per in results:
        for s, h in per:
            if s == 429:
                assert h["x-ratelimit-remaining"] == "0", h
                assert h["x-ratelimit-limit"] == str(limit), h
                assert int(h["retry-after"]) >= 1, h
    assert mock.count(path) == limit
    # Every instance now reports the same exhausted counter.
    for gw in instances:
        r = gw.client(key).get("/v1/rate_limits")
        assert r.status == 200, r
        api = limits_of(r.json())["api"]
        assert (api["limit"], api["remaining"]) == (limit, 0), (gw.proc.name, api)


def assert_session_slots_shared(a, b, mock, account: str | None = None) -> None:
    """Free plan (2 slots) across two instances: slots taken on A are full on B; an end on
    B frees a slot for A; parallel creations on both never exceed the limit. `account`:
    its id (created here), else one of Gateway.new_account's."""
    if account is None:
        account, key = a.new_account("free", overrides=ROOMY)
    else:
        a.admin.put_account(account, "free", ROOMY)
        _, key = a.admin.create_key(account)
    ca, cb = a.client(key), b.client(key)
    s1, s2 = created_id(create(ca)), created_id(create(ca))
    assert_no_slot(create(cb), 2, 2)
    assert active_sessions(cb) == 2
    assert listed_ids(listing(b, account)) == {s1, s2}

    r = end(cb, s1)  # created on A, ended on B
    assert r.status == 200, r
    assert active_sessions(ca) == 1
    s3 = created_id(create(ca))
    assert_no_slot(create(cb), 2, 2)
    assert_no_slot(create(ca), 2, 2)
    assert listed_ids(listing(a, account)) == {s2, s3}

    # Both freed on B; then 30 creations at once, half through each instance: exactly 2.
    assert end(cb, s2).status == 200 and end(cb, s3).status == 200
    assert active_sessions(ca) == 0
    before = mock.count("/v1/sessions")
    out: dict = {}
    go = threading.Barrier(2)

    def run(gw):
        go.wait()
        out[gw.proc.name] = parallel_request(
            "127.0.0.1", gw.port, "POST", "/v1/sessions", 15,
            {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}, b"{}")

    threads = [threading.Thread(target=run, args=(gw,)) for gw in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    statuses = [s for res in out.values() for s, _, _ in res]
    assert len(statuses) == 30, out.keys()
    assert statuses.count(201) == 2 and statuses.count(429) == 28, statuses
    for res in out.values():
        for s, h, body in res:
            if s == 429:
                assert b"concurrent_session_limit_exceeded" in body, body
                assert h["x-concurrent-sessions-active"] == "2", h
    assert mock.count("/v1/sessions") == before + 2
    assert active_sessions(ca) == 2 and active_sessions(cb) == 2


def assert_changes_reach_the_other_instance(a, b) -> None:
    """A plan change, an override and a key revocation made through A's admin API apply
    on B within one second (B had the key cached), and spent units are kept."""
    account, key = a.new_account("free")
    key_id = next(k["key_id"] for k in a.admin.request(
        "GET", f"/admin/v1/accounts/{account}").json()["keys"])
    cb = b.client(key)
    ensure_window(10)
    for i in range(5):  # B knows (and caches) the key, and has spent 5 of 60
        assert_admitted(cb.get("/v1/things"), 60, 59 - i, "api")

    def plan_on_b():
        r = cb.get("/v1/rate_limits")
        assert r.status == 200, r
        return r.json()

    t0 = time.monotonic()
    a.admin.put_account(account, "pro")
    body = wait_until(lambda: (lambda j: j if j["plan"] == "pro" else None)(plan_on_b()), 5,
                      interval=0.01, what="B to see the plan change")
    took = time.monotonic() - t0
    assert took < 1.0, f"the plan change took {took:.3f}s to reach B"
    api = limits_of(body)["api"]
    assert (api["limit"], api["remaining"]) == (600, 595), api  # spent units kept
    assert_admitted(cb.get("/v1/things"), 600, 594, "api")

    # An override made on A: B limits with it on its next request after the push.
    t0 = time.monotonic()
    a.admin.put_account(account, "pro", {"api_requests_per_minute": 7})
    wait_until(lambda: limits_of(plan_on_b())["api"]["limit"] == 7, 5, interval=0.01,
               what="B to see the override")
    took = time.monotonic() - t0
    assert took < 1.0, f"the override took {took:.3f}s to reach B"
    assert_admitted(cb.get("/v1/things"), 7, 0, "api", used=7)
    assert cb.get("/v1/things").status == 429

    # A key revoked on A stops working on B.
    t0 = time.monotonic()
    a.admin.revoke_key(key_id)
    wait_until(lambda: cb.get("/v1/rate_limits").status == 401, 5, interval=0.01,
               what="B to refuse the revoked key")
    took = time.monotonic() - t0
    assert took < 1.0, f"the revocation took {took:.3f}s to reach B"
    assert_error_shape(cb.get("/v1/things"), 401, "invalid_api_key")
    assert_error_shape(a.client(key).get("/v1/things"), 401, "invalid_api_key")


# --------------------------------------------------------------------------------------


def test_parallel_requests_over_three_instances_admit_exactly_the_limit(gateways, mock,
                                                                        redis_server):
    instances = start_instances(gateways, redis_server.url, 3)
    _, key = instances[0].new_account("free")  # 60 a minute; created through A only
    assert_exactly_the_limit_across(instances, mock, key, 60, per_instance=60)


def test_session_slots_count_across_instances(gateways, mock, redis_server):
    a, b = start_instances(gateways, redis_server.url, 2)
    assert_session_slots_shared(a, b, mock)


def test_stream_on_another_instance_gets_the_accounts_plan(gateways, mock, redis_server):
    """A session created on A, streamed through B: B finds the account (and its override:
    250 messages a second) from the session id in Redis. A session nobody created gets the
    free plan's 100 on the same instance."""
    a, b = start_instances(gateways, redis_server.url, 2)
    _, key = a.new_account("free", overrides={"ws_messages_per_second": 250})
    r = a.client(key).post("/v1/sessions", body=b"{}",
                           headers={"Content-Type": "application/json"})
    assert r.status == 201, r
    sid, token = r.json()["id"], r.json()["stream"]["token"]

    async def blast(session_id: str, n: int) -> tuple[int, float, int]:
        """Sends n small messages at once; returns (messages the upstream got, seconds
        from the first send until the gateway had read them all, error frames)."""
        url = f"ws://127.0.0.1:{b.port}/v1/sessions/{session_id}/connect?token={token}"
        async with websockets.connect(url, compression=None, ping_interval=None,
                                      open_timeout=10) as ws:
            t0 = time.monotonic()
            for _ in range(n):
                await ws.send('{"type":"note"}')
            await asyncio.wait_for(await ws.ping(), 10)  # read after every frame above
            took = time.monotonic() - t0
            # Ask the mock what reached it. The request is itself a message for the
            # limiter: resend it until one is admitted (the bucket refills meanwhile).
            errors, deadline = 0, time.monotonic() + 10
            while True:
                assert time.monotonic() < deadline, "no stats reply"
                await ws.send('{"type":"stats"}')
                try:
                    while True:
                        m = await asyncio.wait_for(ws.recv(), 0.1)
                        if '"rate_limit_exceeded"' in m:
                            errors += 1
                            continue
                        if '"stats"' in m:
                            return json.loads(m)["messages"], took, errors
                except asyncio.TimeoutError:
                    continue

    async def body():
        got, took, errors = await blast(sid, 600)
        assert 250 <= got <= 250 + 250 * took + 3, (got, took)
        assert errors >= 1
        got, took, errors = await blast("sess_nobody_created", 400)
        assert 100 <= got <= 100 + 100 * took + 3, (got, took)
        assert errors >= 1

    asyncio.run(asyncio.wait_for(body(), 60))
    assert b.proc.alive()


def test_plan_change_and_revocation_reach_another_instance_within_a_second(
        gateways, mock, redis_server):
    a, b = start_instances(gateways, redis_server.url, 2)
    assert_changes_reach_the_other_instance(a, b)


def test_restart_keeps_counters_and_session_slots(gateways, mock, redis_server):
    """Counters and slots live in Redis: a gateway restarted on the same config continues
    where it stopped (SPEC §7: only the memory backend may lose window counters)."""
    (gw,) = start_instances(gateways, redis_server.url, 1)
    _, key = gw.new_account("free", overrides={"groups": {"sessions_write": 100}})
    ensure_window(10)
    c = gw.client(key)
    for i in range(7):
        assert_admitted(c.get("/v1/things"), 60, 59 - i, "api")
    sid = created_id(create(c))  # the 8th unit, and one of 2 slots
    c.close()  # (an idle keep-alive connection would hold up the drain)

    gw2 = gateways.restart(gw)
    c2 = gw2.client(key)
    # The first request after the restart is decided by Redis, with the spent units.
    assert_admitted(c2.get("/v1/things"), 60, 60 - 9, "api")
    assert active_sessions(c2) == 1
    created_id(create(c2))
    assert_no_slot(create(c2), 2, 2)
    assert end(c2, sid).status == 200
    created_id(create(c2))
    assert mock.count("/v1/sessions") == 3


def _flatten(value) -> list[bytes]:
    if isinstance(value, (bytes, bytearray)):
        return [bytes(value)]
    if isinstance(value, (list, tuple)):
        return [b for v in value for b in _flatten(v)]
    return [str(value).encode()]


def test_redis_keys_are_hash_tagged_and_hold_no_plain_api_key(gateways, mock, redis_server):
    a, b = start_instances(gateways, redis_server.url, 2)
    account, live = a.new_account("starter")
    _, test = a.admin.create_key(account, "test")
    revoked_id, revoked = a.admin.create_key(account, "live")
    for key in (live, test, revoked):
        assert b.client(key).get("/v1/analysis/x").status == 200
    sid = created_id(create(a.client(live)))
    created_id(create(b.client(test)))
    a.admin.revoke_key(revoked_id)

    contents = dump_contents(redis_server.port)
    keys = sorted(k.decode() for k in contents)
    subject_live, subject_test = f"{{acct:{account}:live}}", f"{{acct:{account}:test}}"
    # Counters and session slots of each subject carry its hash tag (one slot per subject,
    # so every script on them runs in one Redis Cluster slot).
    for suffix in ("counters", "slots", "sessions"):
        assert f"kg:{subject_live}:{suffix}" in keys, keys
        assert f"kg:{subject_test}:{suffix}" in keys, keys
    assert f"kg:session:{{{sid}}}" in keys, keys
    assert f"kg:account:{{{account}}}" in keys, keys
    for k in keys:
        assert k.startswith("kg:"), k
        if k.endswith((":counters", ":slots", ":sessions")):
            assert k.startswith("kg:{acct:") and k.index("}") < k.rindex(":"), k
    # No plain key anywhere: not in a key name, a field, a member or a value (the revoked
    # key included).
    blob = b"\n".join(_flatten(list(contents.items())))
    for plain in (live, test, revoked):
        secret = plain.split("_", 2)[2]
        assert len(secret) >= 20, plain
        assert secret.encode() not in blob, f"(part of) the key {plain[:12]}... is in Redis"
