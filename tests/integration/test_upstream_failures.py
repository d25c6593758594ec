"""SPEC §4 Upstream failures: 502 `upstream_unavailable` or 504 `upstream_timeout`, in the
Kallglot error shape; upstream statuses themselves are relayed."""

import time

from helpers import assert_error_shape, free_port


def test_upstream_down_is_502(gateways):
    gw = gateways.start(upstream_url=f"http://127.0.0.1:{free_port()}")
    _, key = gw.new_account("free")
    c = gw.client(key)
    t0 = time.monotonic()
    r = c.get("/v1/things")
    assert_error_shape(r, 502, "upstream_unavailable")
    assert time.monotonic() - t0 < 3
    # The gateway keeps serving (and keeps answering 502) afterwards.
    assert_error_shape(c.get("/v1/things"), 502, "upstream_unavailable")
    assert gw.admin.request("GET", "/healthz", token=None).status == 200


def test_slow_upstream_is_504_after_request_timeout(gateways, mock):
    gw = gateways.start({"upstream": {"request_timeout_ms": 400}})
    _, key = gw.new_account("free")
    c = gw.client(key)
    t0 = time.monotonic()
    r = c.get("/v1/slow", headers={"X-Mock-Delay-Ms": "3000"})
    elapsed = time.monotonic() - t0
    assert_error_shape(r, 504, "upstream_timeout")
    assert 0.3 <= elapsed < 2.5, elapsed
    # A fast request right after is fine.
    r = c.get("/v1/fast")
    assert r.status == 200, r
    assert r.json()["path"] == "/v1/fast"


def test_upstream_error_statuses_are_relayed(gateway, mock):
    _, key = gateway.new_account("free")
    c = gateway.client(key)
    for status in (400, 404, 500, 503):
        r = c.get("/v1/err", headers={"X-Mock-Status": str(status)})
        assert r.status == status, r
        assert r.json()["path"] == "/v1/err"
        assert r.header("X-RateLimit-Limit") == "60", r
    assert mock.count("/v1/err") == 4


def test_upstream_restart_is_survived(gateways, binary, tmp_path):
    from helpers import Process
    port = free_port()
    gw = gateways.start(upstream_url=f"http://127.0.0.1:{port}")
    _, key = gw.new_account("free")
    c = gw.client(key)
    assert c.get("/v1/x").status == 502
    up = Process("mock2", [binary, "mock-upstream", "--listen", f"127.0.0.1:{port}"],
                 tmp_path / "mock2.log")
    try:
        up.wait_for_output(r"listening on", 10)
        r = c.get("/v1/x")
        assert r.status == 200, r
        up.stop()
        r = c.get("/v1/x")
        assert_error_shape(r, 502, "upstream_unavailable")
    finally:
        up.stop()
