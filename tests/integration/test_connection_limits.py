"""Connection caps and descriptor shortage (SPEC §3 http.max_connections,
http.max_connections_per_ip, trusted_proxies; issue 11): over a cap a new connection is
closed before anything is read, other clients are served meanwhile, and a slot given back
is taken again. Out of descriptors (prlimit), the gateway pauses accepting instead of
spinning, logs about once a second, closes idle connections by their deadline, and
serves again by itself once descriptors are free.

Clients come from many loopback addresses (127.0.0.0/8 is all loopback on Linux): each
source address is a distinct client to the gateway.
"""

from __future__ import annotations

import os
import resource
import socket
import time

from helpers import metric_sum, wait_until

REFUSED = "kallglot_gateway_refused_total"


def connect_from(gw, source: str, timeout: float = 5.0) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind((source, 0))
    s.connect(("127.0.0.1", gw.port))
    return s


def served(s: socket.socket) -> bool:
    """One request on `s` (kept alive); True if a whole HTTP answer came back."""
    s.sendall(b"GET /v1/rate_limits HTTP/1.1\r\nHost: gw\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            return False
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    while len(rest) < length:
        chunk = s.recv(4096)
        if not chunk:
            return False
        rest += chunk
    return head.startswith(b"HTTP/1.1 401")


def closed_by_gateway(s: socket.socket) -> bool:
    """True once the gateway has closed `s` without a word (EOF or reset)."""
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True


def refused(gw, reason: str) -> float:
    return metric_sum(gw.admin.metrics(), REFUSED, reason=reason)


def start_idle(gateways, overrides: dict, **kwargs):
    """A gateway with no client connection open (its readiness probe's is gone too)."""
    gw = gateways.start(overrides, **kwargs)
    wait_until(lambda: metric_sum(gw.admin.metrics(), "kallglot_gateway_open_connections") == 0,
               5, what="no connection open")
    return gw


def test_a_client_over_its_cap_is_closed_at_once_and_others_are_served(gateways):
    gw = start_idle(gateways, {"http": {"max_connections_per_ip": 3}})
    held = [connect_from(gw, "127.0.0.2") for _ in range(3)]
    assert all(served(s) for s in held)

    over = connect_from(gw, "127.0.0.2")
    assert closed_by_gateway(over)
    over.close()
    wait_until(lambda: refused(gw, "max_connections_per_ip") == 1, 5, what="refusal counted")

    # Another client is not affected; nor are the held connections.
    other = connect_from(gw, "127.0.0.3")
    assert served(other)
    assert served(held[0])

    # A connection given back is a slot again.
    held.pop().close()

    def reconnects():
        s = connect_from(gw, "127.0.0.2")
        try:
            return served(s)
        finally:
            s.close()

    wait_until(reconnects, 5, what="a freed slot taken again")
    for s in held + [other]:
        s.close()
    assert "http.max_connections_per_ip reached" in gw.proc.output()


def test_the_global_cap_counts_every_client(gateways):
    gw = start_idle(gateways, {"http": {"max_connections": 4}})
    held: list[socket.socket] = []
    addresses = (f"127.0.1.{i}" for i in range(1, 250))

    def fill() -> int:
        """Connects from new addresses until the gateway closes one; returns the refusals."""
        while True:
            s = connect_from(gw, next(addresses))
            try:
                ok = served(s)
            except OSError:
                ok = False
            if not ok:
                s.close()
                return 1
            held.append(s)

    refusals = fill()
    # A connection of the readiness probe may still have held a slot for a moment: once
    # only ours are open, the cap must be exactly ours.
    wait_until(lambda: metric_sum(gw.admin.metrics(), "kallglot_gateway_open_connections")
               == len(held), 5, what="only the held connections open")
    if len(held) < 4:
        refusals += fill()
    assert len(held) == 4
    wait_until(lambda: refused(gw, "max_connections") == refusals, 5, what="refusals counted")
    held.pop().close()

    def reconnects():
        s = connect_from(gw, "127.0.1.250")
        try:
            return served(s)
        finally:
            s.close()

    wait_until(reconnects, 5, what="a freed slot")
    for s in held:
        s.close()


def test_a_trusted_proxy_is_not_held_to_the_per_client_cap(gateways):
    gw = gateways.start({"http": {"max_connections_per_ip": 2},
                         "trusted_proxies": ["127.0.2.0/24"]})
    held = [connect_from(gw, "127.0.2.1") for _ in range(6)]
    assert all(served(s) for s in held)
    assert refused(gw, "max_connections_per_ip") == 0
    for s in held:
        s.close()


def gateway_cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_out_of_descriptors_the_gateway_pauses_then_recovers_by_itself(gateways):
    """With 96 descriptors and 200 connections held idle, accept() fails with EMFILE.
    The gateway must neither spin nor flood its log, must still close idle connections by
    their deadline, and must serve again once they are gone."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1024:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    gw = gateways.start({"http": {"idle_timeout_ms": 2000, "max_connections_per_ip": 10000}},
                        wrapper=["prlimit", "--nofile=96:96", "--"])
    held = []
    for i in range(200):
        held.append(connect_from(gw, f"127.0.3.{1 + i % 200}"))
    wait_until(lambda: "accept paused" in gw.proc.output(), 10, what="EMFILE seen")

    # Held back: about a line a second and little CPU while the shortage lasts.
    lines_before = gw.proc.output().count("accept paused")
    cpu_before = gateway_cpu_seconds(gw.proc.pid)
    t0 = time.monotonic()
    time.sleep(1.5)  # the interval being measured, not a synchronization
    elapsed = time.monotonic() - t0
    cpu = gateway_cpu_seconds(gw.proc.pid) - cpu_before
    lines = gw.proc.output().count("accept paused") - lines_before
    assert lines <= elapsed + 2, lines
    assert cpu < 0.5 * elapsed, f"{cpu:.2f} s of CPU in {elapsed:.2f} s: accept spins"

    # Idle connections are closed by their deadline, shortage or not, and the queued ones
    # are accepted as descriptors free up (and closed in their turn): every one of them
    # ends without the client doing anything.
    deadline = time.monotonic() + 60
    for s in held:
        s.settimeout(max(0.1, deadline - time.monotonic()))
        assert closed_by_gateway(s), "an idle connection outlived its deadline"
        s.close()

    # Serving again, by itself.
    def serves():
        s = connect_from(gw, "127.0.4.1")
        try:
            return served(s)
        finally:
            s.close()

    wait_until(serves, 10, what="the gateway serving again")
    assert gw.proc.alive()
