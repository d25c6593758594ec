"""Fixtures: the binary, a mock Kallglot API (one per session), gateways (one per test).

Run with Debian's interpreter (it has pytest, aiohttp, websockets, yaml):
    /usr/bin/python3 -m pytest tests/integration
GW_BINARY overrides the binary (default: build/kallglot-gateway).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from helpers import (BINARY, Gateway, MockUpstream, Process, RedisCluster, RedisServer,
                     base_config, deep_merge, free_port, wait_until)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for proc in getattr(item, "gw_processes", []):
            try:
                text = proc.output()
            except Exception as exc:  # pragma: no cover - best effort
                text = f"<could not read log: {exc!r}>"
            tail = text[-20000:]
            report.sections.append((f"{proc.name} output ({proc.log_path})", tail))


def _register(request, proc) -> None:
    """`proc`: a Process, or anything with name, log_path and output() (RedisServer)."""
    node = request.node
    if not hasattr(node, "gw_processes"):
        node.gw_processes = []
    node.gw_processes.append(proc)


@pytest.fixture(scope="session")
def binary() -> str:
    if not os.access(BINARY, os.X_OK):
        pytest.fail(f"gateway binary not found at {BINARY} (build it, or set GW_BINARY)")
    return BINARY


@pytest.fixture(scope="session")
def mock_upstream(binary, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("mock")
    proc = Process("mock-upstream", [binary, "mock-upstream", "--listen", "127.0.0.1:0"],
                   workdir / "mock.log")
    m = proc.wait_for_output(r"mock-upstream listening on 127\.0\.0\.1:(\d+)", 15)
    mock = MockUpstream(proc, int(m.group(1)))
    wait_until(lambda: mock.stats() is not None, 10, what="mock /__mock/stats")
    yield mock
    mock.client.close()
    proc.stop()


@pytest.fixture
def mock(mock_upstream, request) -> MockUpstream:
    """The shared mock upstream, with its stats zeroed for this test."""
    mock_upstream.reset()
    _register(request, mock_upstream.proc)
    return mock_upstream


class GatewayFactory:
    def __init__(self, binary: str, tmp_path: Path, mock: MockUpstream, request):
        self.binary, self.tmp_path, self.mock, self.request = binary, tmp_path, mock, request
        self.started: list[Gateway] = []

    def config(self, overrides: dict | None = None, upstream_url: str | None = None) -> dict:
        cfg = base_config(free_port(), free_port(), upstream_url or self.mock.url, self.tmp_path)
        return deep_merge(cfg, overrides or {})

    def start(self, overrides: dict | None = None, upstream_url: str | None = None,
              env: dict | None = None, wrapper: list[str] | None = None) -> Gateway:
        name = f"gateway{len(self.started) + 1}"
        gw = Gateway(self.binary, self.tmp_path, self.config(overrides, upstream_url), name,
                     env=env, wrapper=wrapper)
        _register(self.request, gw.proc)
        self.started.append(gw)
        gw.wait_ready()
        return gw

    def restart(self, gw: Gateway) -> Gateway:
        """Stops `gw` (SIGTERM, must exit 0) and starts a new process with the same
        configuration (same ports, same store)."""
        assert gw.stop() == 0, gw.proc.output()
        name = f"{gw.proc.name}r{len(self.started) + 1}"
        again = Gateway(self.binary, self.tmp_path, gw.config, name)
        _register(self.request, again.proc)
        self.started.append(again)
        again.wait_ready()
        return again

    def stop_all(self) -> None:
        for gw in self.started:
            gw.stop()


@pytest.fixture
def gateways(binary, tmp_path, mock, request):
    """Factory: gateways.start(overrides={...}) -> a ready Gateway, stopped after the test."""
    factory = GatewayFactory(binary, tmp_path, mock, request)
    yield factory
    factory.stop_all()


@pytest.fixture
def gateway(gateways) -> Gateway:
    """A gateway with the default configuration (free 60/min etc.) in front of the mock."""
    return gateways.start()


@pytest.fixture
def redis_server(tmp_path, request):
    """A fresh redis-server (no persistence) for one test: kill()/restart() on the same
    port, pause()/resume() with SIGSTOP/SIGCONT. Stopped after the test."""
    workdir = tmp_path / "redis"
    workdir.mkdir()
    server = RedisServer(workdir)
    _register(request, server)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def redis_cluster_module(tmp_path_factory):
    cluster = RedisCluster(tmp_path_factory.mktemp("redis-cluster"))
    yield cluster
    cluster.stop()


@pytest.fixture
def redis_cluster(redis_cluster_module, request) -> RedisCluster:
    """A 3-master Redis Cluster, shared by the tests of one module (each test uses its own
    accounts, so they do not see each other's keys)."""
    for node in redis_cluster_module.nodes:
        _register(request, node)
    return redis_cluster_module


@pytest.fixture
def redis_failover_cluster(tmp_path, request) -> RedisCluster:
    """A fresh Redis Cluster for one test that kills a master: 3 masters with a replica
    each, failing over quickly (cluster-node-timeout 500 ms), replicas in sync."""
    cluster = RedisCluster(tmp_path / "redis-failover", replicas=1, node_timeout_ms=500)
    for node in cluster.nodes:
        _register(request, node)
    yield cluster
    cluster.stop()
