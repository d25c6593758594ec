"""SPEC §4 'Concurrent sessions': `POST /v1/sessions` takes a slot before it is forwarded,
the slot is bound to the upstream's `id`, `POST /v1/sessions/{id}/end` answered 2xx frees
it; admin listing and freeing (SPEC §6); slots survive a restart (SPEC §7).

Most accounts here get request limits far above what a test spends (`ROOMY`), so that
only the concurrent-session limit is at play whatever the minute window does. Lease expiry
is covered by unit tests with an injected clock, not here.
"""

import json
import time

from helpers import (Client, assert_error_shape, ensure_window, find_key, free_port,
                     parallel_request)

ROOMY = {"api_requests_per_minute": 100000,
         "groups": {"sessions_write": 100000, "sessions_read": 100000}}
CREATE = "/v1/sessions"


def create(c: Client, **headers):
    return c.post(CREATE, body=b'{"source_language":"en","target_language":"de"}',
                  headers={"Content-Type": "application/json", **headers})


def created_id(r) -> str:
    assert r.status == 201, r
    sid = r.json()["id"]
    assert sid.startswith("sess_"), r
    return sid


def slot_header(r, name: str, want: int | None) -> None:
    """SPEC names X-Concurrent-Sessions-* for the 429 only; where an admitted creation
    carries them too, they must be right (`want` None: no limit, so no Limit field)."""
    value = r.header(name)
    if value is not None:
        assert want is not None and int(value) == want, (name, r)


def end(c: Client, sid: str, **headers):
    return c.post(f"/v1/sessions/{sid}/end", headers=headers)


def assert_no_slot(r, limit: int, active: int) -> dict:
    """The 429 of a creation with every slot taken."""
    err = assert_error_shape(r, 429, "concurrent_session_limit_exceeded")
    assert r.int_header("X-Concurrent-Sessions-Limit") == limit, r
    assert r.int_header("X-Concurrent-Sessions-Active") == active, r
    # The rate-limit fields describe the limit that refused: the session limit.
    assert r.int_header("X-RateLimit-Limit") == limit, r
    assert r.int_header("X-RateLimit-Remaining") == max(limit - active, 0), r
    assert r.int_header("X-RateLimit-Used") == active, r
    assert r.header("X-RateLimit-Resource") == "concurrent_sessions", r
    reset = r.int_header("X-RateLimit-Reset")
    assert time.time() - 2 <= reset <= time.time() + 2, r
    assert r.header("Retry-After") is None, r  # waiting alone frees no slot
    return err


def active_sessions(c: Client) -> int:
    r = c.get("/v1/rate_limits")
    assert r.status == 200, r
    n = find_key(r.json(), "active_sessions")
    assert isinstance(n, int) and not isinstance(n, bool), r.json()
    return n


def listing(gw, account: str) -> dict:
    r = gw.admin.request("GET", f"/admin/v1/accounts/{account}/sessions")
    assert r.status == 200, r
    return r.json()


def listed_ids(body: dict) -> set[str]:
    return {s["session_id"] for s in body["sessions"]}


# --------------------------------------------------------------------------------------


def test_third_session_of_a_free_account_is_refused_and_never_forwarded(gateway, mock):
    _, key = gateway.new_account("free", overrides=ROOMY)
    c = gateway.client(key)
    first = create(c)
    assert created_id(first)
    slot_header(first, "X-Concurrent-Sessions-Limit", 2)
    slot_header(first, "X-Concurrent-Sessions-Active", 1)
    second = create(c)
    created_id(second)
    slot_header(second, "X-Concurrent-Sessions-Active", 2)
    assert mock.count(CREATE) == 2

    for _ in range(3):
        assert_no_slot(create(c), 2, 2)
    assert mock.count(CREATE) == 2  # never forwarded
    assert active_sessions(c) == 2


def test_end_frees_the_slot_once_and_unknown_ids_free_nothing(gateway, mock):
    _, key = gateway.new_account("free", overrides=ROOMY)
    c = gateway.client(key)
    a, b = created_id(create(c)), created_id(create(c))
    assert_no_slot(create(c), 2, 2)

    r = end(c, a)
    assert r.status == 200 and r.json()["status"] == "ended", r
    assert active_sessions(c) == 1
    cid = created_id(create(c))  # a's slot is free again: b and c hold both now
    assert_no_slot(create(c), 2, 2)

    # Ending a again (idempotent) or a session nobody created frees nothing.
    assert end(c, a).status == 200
    assert end(c, "sess_never_created_here").status == 200
    assert active_sessions(c) == 2
    assert_no_slot(create(c), 2, 2)

    # An end the upstream refuses frees nothing either.
    assert end(c, b, **{"X-Mock-Status": "500"}).status == 500
    assert_no_slot(create(c), 2, 2)
    assert end(c, b).status == 200
    assert end(c, cid).status == 200
    assert active_sessions(c) == 0
    assert mock.count(CREATE) == 3


def test_failed_creations_give_the_slot_back(gateway, mock):
    _, key = gateway.new_account("free", overrides=ROOMY)
    c = gateway.client(key)
    # The upstream refuses (non-2xx), or accepts without an id: the slot comes back. Three
    # of each with a limit of two: a leaked slot would turn one of them into a 429.
    for _ in range(3):
        r = create(c, **{"X-Mock-Status": "500"})
        assert r.status == 500, r
    for _ in range(3):
        r = create(c, **{"X-Mock-Omit-Id": "1"})
        assert r.status == 201 and "id" not in r.json(), r
    assert mock.count(CREATE) == 6
    assert active_sessions(c) == 0
    created_id(create(c))
    created_id(create(c))
    assert_no_slot(create(c), 2, 2)


def test_a_refused_creation_spends_no_request_units(gateway, mock):
    _, key = gateway.new_account("free", overrides={"api_requests_per_minute": 20,
                                                    "groups": {"sessions_write": 20}})
    c = gateway.client(key)
    ensure_window(5)
    created_id(create(c))
    created_id(create(c))
    for _ in range(10):
        assert_no_slot(create(c), 2, 2)
    r = c.get("/v1/things")
    assert r.status == 200, r
    assert r.int_header("X-RateLimit-Remaining") == 20 - 3, r  # two creations + this one


def test_upstream_down_gives_the_slot_back(gateways):
    # Nothing listens on the upstream port: 502 every time, never a 429.
    gw = gateways.start({"upstream": {"connect_timeout_ms": 500}},
                        upstream_url=f"http://127.0.0.1:{free_port()}")
    _, key = gw.new_account("free", overrides=ROOMY)
    c = gw.client(key)
    for _ in range(4):
        r = create(c)
        assert_error_shape(r, 502, "upstream_unavailable")
    assert active_sessions(c) == 0


def test_rate_limits_endpoint_and_admin_listing_show_active_sessions(gateway):
    account, key = gateway.new_account("starter", overrides=ROOMY)
    c = gateway.client(key)
    assert active_sessions(c) == 0
    ids = {created_id(create(c)) for _ in range(3)}
    assert active_sessions(c) == 3
    body = listing(gateway, account)
    assert listed_ids(body) == ids, body
    assert body["active"] == {"live": 3, "test": 0}, body
    end(c, sorted(ids)[0])
    assert active_sessions(c) == 2
    assert listing(gateway, account)["active"]["live"] == 2


def test_admin_frees_a_stuck_session(gateway, mock):
    account, key = gateway.new_account("free", overrides=ROOMY)
    c = gateway.client(key)
    a, b = created_id(create(c)), created_id(create(c))
    assert_no_slot(create(c), 2, 2)

    r = gateway.admin.request("DELETE", f"/admin/v1/accounts/{account}/sessions/{a}")
    assert r.status == 204, r
    assert listed_ids(listing(gateway, account)) == {b}
    created_id(create(c))
    assert_no_slot(create(c), 2, 2)

    # Freed already, or never held: 404 session_not_found, and nothing else is freed.
    for sid in (a, "sess_unknown"):
        r = gateway.admin.request("DELETE", f"/admin/v1/accounts/{account}/sessions/{sid}")
        assert r.status == 404, r
        assert r.json()["error"]["code"] == "session_not_found", r
    # Another account's session is not this account's to free.
    other, other_key = gateway.new_account("free", overrides=ROOMY)
    r = gateway.admin.request("DELETE", f"/admin/v1/accounts/{other}/sessions/{b}")
    assert r.status == 404, r
    assert_no_slot(create(c), 2, 2)
    assert listing(gateway, other)["active"] == {"live": 0, "test": 0}


def test_test_keys_have_their_own_free_plan_slots(gateway):
    account, live_key = gateway.new_account("pro")
    _, test_key = gateway.admin.create_key(account, "test")
    live, test = gateway.client(live_key), gateway.client(test_key)
    test_ids = {created_id(create(test)), created_id(create(test))}
    assert_no_slot(create(test), 2, 2)  # sk_test_: the free plan's 2, whatever the plan
    r = create(live)  # live traffic of the same account: pro's 50, none of them used
    created_id(r)
    slot_header(r, "X-Concurrent-Sessions-Limit", 50)
    slot_header(r, "X-Concurrent-Sessions-Active", 1)
    body = listing(gateway, account)
    assert body["active"] == {"live": 1, "test": 2}, body
    assert test_ids <= listed_ids(body)
    # Ending a test session frees a test slot.
    assert end(test, sorted(test_ids)[0]).status == 200
    created_id(create(test))


def test_live_sessions_do_not_use_test_slots(gateway):
    account, live_key = gateway.new_account("free", overrides=ROOMY)
    _, test_key = gateway.admin.create_key(account, "test")
    live = gateway.client(live_key)
    created_id(create(live))
    created_id(create(live))
    assert_no_slot(create(live), 2, 2)
    test = gateway.client(test_key)
    created_id(create(test))
    created_id(create(test))


def test_null_limit_is_unlimited_but_counted(gateway, mock):
    # enterprise: concurrent_sessions null by default (more than pro's 50 here).
    _, key = gateway.new_account("enterprise")
    c = gateway.client(key)
    for i in range(55):
        r = create(c)
        created_id(r)
        slot_header(r, "X-Concurrent-Sessions-Limit", None)
        slot_header(r, "X-Concurrent-Sessions-Active", i + 1)
    assert active_sessions(c) == 55
    # An override to null does the same for any plan.
    _, key2 = gateway.new_account("free", overrides={**ROOMY, "concurrent_sessions": None})
    c2 = gateway.client(key2)
    for _ in range(4):
        created_id(create(c2))
    assert active_sessions(c2) == 4
    assert mock.count(CREATE) == 59


def test_zero_allows_no_session(gateway, mock):
    _, key = gateway.new_account("pro", overrides={"concurrent_sessions": 0})
    c = gateway.client(key)
    assert_no_slot(create(c), 0, 0)
    assert mock.count(CREATE) == 0


def test_plan_upgrade_raises_the_session_limit_at_once(gateway):
    account, key = gateway.new_account("free", overrides=ROOMY)
    c = gateway.client(key)
    created_id(create(c))
    created_id(create(c))
    assert_no_slot(create(c), 2, 2)
    gateway.admin.put_account(account, "starter", ROOMY)
    r = create(c)
    created_id(r)
    slot_header(r, "X-Concurrent-Sessions-Limit", 10)
    slot_header(r, "X-Concurrent-Sessions-Active", 3)


def test_parallel_creations_admit_exactly_the_limit(gateway, mock):
    account, key = gateway.new_account("free", overrides=ROOMY)
    results = parallel_request("127.0.0.1", gateway.port, "POST", CREATE, 30,
                               {"Authorization": f"Bearer {key}",
                                "Content-Type": "application/json"}, b"{}")
    statuses = [s for s, _, _ in results]
    assert statuses.count(201) == 2, statuses
    assert statuses.count(429) == 28, statuses
    assert mock.count(CREATE) == 2
    ids = {json.loads(body)["id"] for s, _, body in results if s == 201}
    for s, h, body in results:
        if s == 429:
            assert json.loads(body)["error"]["code"] == "concurrent_session_limit_exceeded"
            assert h["x-concurrent-sessions-limit"] == "2", h
            assert h["x-concurrent-sessions-active"] == "2", h
    assert listed_ids(listing(gateway, account)) == ids


def test_parallel_creations_and_ends_never_exceed_the_limit(gateway, mock):
    # Starter (10): 40 creations in parallel with ends of the sessions already made.
    account, key = gateway.new_account("starter", overrides=ROOMY)
    c = gateway.client(key)
    first = [created_id(create(c)) for _ in range(10)]
    hdrs = {"Authorization": f"Bearer {key}"}
    import threading

    out = {}

    def ends():
        for sid in first[:5]:
            assert end(gateway.client(key), sid).status == 200
        out["ended"] = True

    t = threading.Thread(target=ends)
    t.start()
    results = parallel_request("127.0.0.1", gateway.port, "POST", CREATE, 40, hdrs, b"{}")
    t.join(30)
    assert out.get("ended")
    ok = sum(1 for s, _, _ in results if s == 201)
    assert ok <= 5, ok
    assert {s for s, _, _ in results} <= {201, 429}
    assert active_sessions(c) == 10 - 5 + ok <= 10
    assert len(listing(gateway, account)["sessions"]) == 10 - 5 + ok


def test_slots_survive_a_restart(gateways, mock):
    gw = gateways.start()
    account, key = gw.new_account("free", overrides=ROOMY)
    c = gw.client(key)
    a, b = created_id(create(c)), created_id(create(c))
    assert gw.stop() == 0

    gw2 = gateways.start()  # same accounts.path
    c2 = gw2.client(key)
    assert active_sessions(c2) == 2
    assert_no_slot(create(c2), 2, 2)
    assert listed_ids(listing(gw2, account)) == {a, b}
    assert end(c2, a).status == 200
    created_id(create(c2))
    assert mock.count(CREATE) == 3


def test_a_slot_is_free_by_the_time_the_end_is_answered(gateway, mock):
    # The client hears "ended" only after the slot is free: a creation sent right after it
    # on another connection is admitted, every time.
    _, key = gateway.new_account("free", overrides=ROOMY)
    ender, creator = gateway.client(key), gateway.client(key)
    sessions = [created_id(create(creator)), created_id(create(creator))]
    for _ in range(20):
        assert end(ender, sessions.pop(0)).status == 200
        sessions.append(created_id(create(creator)))
    assert active_sessions(creator) == 2
