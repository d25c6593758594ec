"""SPEC §2 demo: gateway + built-in mock API + demo accounts; prints (flushed) the keys and
curl examples; the free plan's 61st request in a minute is refused."""

import re

import pytest

from helpers import Client, Process, ensure_window, free_port, wait_until


@pytest.fixture
def demo(binary, tmp_path, request):
    port, admin_port = free_port(), free_port()
    proc = Process("demo", [binary, "demo", "--port", str(port), "--admin-port", str(admin_port)],
                   tmp_path / "demo.log", cwd=tmp_path)
    request.node.gw_processes = [proc]
    yield proc, port, admin_port
    rc = proc.stop()
    assert rc == 0, proc.output()


def test_demo_prints_keys_and_limits_the_free_key(demo):
    proc, port, admin_port = demo
    proc.wait_for_output(r"sk_live_\w+", 15)
    proc.wait_for_output(r"sk_test_\w+", 5)
    proc.wait_for_output(r"curl", 5)
    out = proc.output()
    assert str(port) in out, out
    keys = re.findall(r"sk_live_\w+", out)
    assert keys

    c = Client("127.0.0.1", port)
    wait_until(lambda: c.get("/v1/rate_limits", key=keys[0]).status == 200, 10,
               what="demo gateway answering")
    # Find the free plan's key: the one whose limit is 60.
    free_key = None
    for k in dict.fromkeys(keys):
        r = c.get("/v1/rate_limits", key=k)
        if r.status == 200 and r.json().get("plan") == "free":
            free_key = k
            break
    assert free_key, f"no free-plan key among {keys}:\n{out}"

    ensure_window(5)
    statuses = []
    for _ in range(61):
        r = c.get("/v1/sessions/demo", key=free_key)
        statuses.append(r.status)
        last = r
    assert statuses == [200] * 60 + [429], statuses
    assert last.int_header("X-RateLimit-Limit") == 60
    assert last.json()["error"]["code"] == "rate_limit_exceeded"
