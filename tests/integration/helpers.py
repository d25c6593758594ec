"""Helpers for the integration tests: processes, ports, HTTP clients, waits.

Everything here talks to the real binary over loopback. Waits are bounded loops over a real
condition (an HTTP answer, a line of output, a process exit), never blind sleeps; the one
wall-clock wait is `ensure_window`, which waits for the minute boundary to pass so that a
test counting requests in a fixed (minute-aligned) window does not straddle two windows.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
BINARY = os.environ.get("GW_BINARY", str(REPO_ROOT / "build" / "kallglot-gateway"))
ADMIN_TOKEN = "integration-admin-token"

_used_ports: set[int] = set()


def free_port() -> int:
    """A TCP port nothing listens on now, never handed out twice in this test session."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _used_ports:
            _used_ports.add(port)
            return port
    raise RuntimeError("no free port")


def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.02,
               what: str = "condition") -> Any:
    """Polls `predicate` until it returns a truthy value (returned) or `timeout` passes."""
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except (OSError, http.client.HTTPException, ValueError) as exc:
            last_exc = exc
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}"
                               + (f" (last error: {last_exc!r})" if last_exc else ""))
        time.sleep(interval)


def ensure_window(seconds_needed: float) -> None:
    """If fewer than `seconds_needed` seconds are left in the current wall-clock minute,
    waits for the next minute to start, so a burst of requests stays in one fixed window."""
    left = 60.0 - (time.time() % 60.0)
    if left < seconds_needed + 0.5:
        time.sleep(left + 0.05)


def next_minute_boundary(t: float) -> int:
    return (int(t) // 60 + 1) * 60


def deep_merge(base: dict, override: dict) -> dict:
    out = dict(base)
    for k, v in (override or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


# --------------------------------------------------------------------------------------
# HTTP


@dataclass
class Response:
    status: int
    reason: str
    headers: http.client.HTTPMessage
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def json(self) -> Any:
        return json.loads(self.body)

    def int_header(self, name: str) -> int:
        value = self.headers.get(name)
        assert value is not None, f"missing header {name}; headers: {dict(self.headers)}"
        assert re.fullmatch(r"-?\d+", value.strip()), f"{name} is not an integer: {value!r}"
        return int(value)

    def __repr__(self) -> str:
        return (f"Response({self.status} {self.reason}, headers={dict(self.headers)}, "
                f"body={self.body[:500]!r})")


class Client:
    """One keep-alive HTTP/1.1 connection to host:port (http.client underneath).

    `key` is sent as `Authorization: Bearer <key>` (or `X-API-Key` with key_header="x-api-key").
    Not thread-safe: use one Client per thread.
    """

    def __init__(self, host: str, port: int, key: str | None = None,
                 key_header: str = "authorization", timeout: float = 15.0):
        self.host, self.port, self.key, self.key_header = host, port, key, key_header
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def request(self, method: str, path: str, headers: dict[str, str] | None = None,
                body: bytes | Iterable[bytes] | None = None, key: str | None = None,
                use_key: bool = True) -> Response:
        hdrs: dict[str, str] = {}
        k = key if key is not None else self.key
        if use_key and k is not None:
            if self.key_header == "authorization":
                hdrs["Authorization"] = f"Bearer {k}"
            else:
                hdrs["X-API-Key"] = k
        hdrs.update(headers or {})
        for attempt in (0, 1):
            conn = self._connection()
            fresh = conn.sock is None
            try:
                conn.request(method, path, body=body, headers=hdrs)
            except (ConnectionError, http.client.HTTPException, BrokenPipeError):
                # The server closed an idle keep-alive connection: retry once on a new one
                # (only possible before any response was read, so nothing was processed).
                self.close()
                if fresh or attempt == 1:
                    raise
                continue
            try:
                resp = conn.getresponse()
            except (http.client.RemoteDisconnected, ConnectionResetError):
                self.close()
                if fresh or attempt == 1 or not isinstance(body, (bytes, type(None))):
                    raise
                continue
            data = resp.read()
            if resp.will_close:
                self.close()
            return Response(resp.status, resp.reason, resp.headers, data)
        raise AssertionError("unreachable")

    def get(self, path: str, **kw) -> Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: bytes | None = None, **kw) -> Response:
        return self.request("POST", path, body=body, **kw)


def raw_exchange(host: str, port: int, data: bytes, timeout: float = 5.0,
                 sender: Callable[[socket.socket], None] | None = None) -> bytes:
    """Sends raw bytes, returns what the server answered until it closed the connection or
    until a complete response head (and Content-Length body) arrived."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(data)
        if sender is not None:
            t = threading.Thread(target=_swallow(sender), args=(s,), daemon=True)
            t.start()
        buf = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            buf += chunk
            head_end = buf.find(b"\r\n\r\n")
            if head_end >= 0:
                m = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", buf[:head_end])
                if m and len(buf) >= head_end + 4 + int(m.group(1)):
                    break
                if not m and not re.search(rb"(?im)^transfer-encoding:", buf[:head_end]):
                    break
        return buf


def _swallow(fn):
    def run(*args):
        try:
            fn(*args)
        except OSError:
            pass
    return run


def raw_status(response: bytes) -> int:
    m = re.match(rb"HTTP/1\.[01] (\d{3})", response)
    assert m, f"not an HTTP response: {response[:200]!r}"
    return int(m.group(1))


def parallel_get(host: str, port: int, path: str, n: int, headers: dict[str, str],
                 connections: int | None = None) -> list[tuple[int, dict[str, str]]]:
    """`n` concurrent GETs over up to `connections` connections (default: one per request).
    Returns (status, headers) per request."""
    import aiohttp

    async def main():
        conn = aiohttp.TCPConnector(limit=connections or 0, force_close=False)
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(connector=conn, timeout=timeout) as session:
            start = asyncio.Event()

            async def one():
                await start.wait()
                async with session.get(f"http://{host}:{port}{path}", headers=headers) as r:
                    await r.read()
                    return r.status, {k.lower(): v for k, v in r.headers.items()}

            tasks = [asyncio.ensure_future(one()) for _ in range(n)]
            await asyncio.sleep(0)
            start.set()
            return await asyncio.gather(*tasks)

    return asyncio.run(main())


def parallel_request(host: str, port: int, method: str, path: str, n: int,
                     headers: dict[str, str], body: bytes | None = None
                     ) -> list[tuple[int, dict[str, str], bytes]]:
    """`n` concurrent requests, one connection each, released together.
    Returns (status, lowercased headers, body) per request."""
    import aiohttp

    async def main():
        conn = aiohttp.TCPConnector(limit=0, force_close=True)
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(connector=conn, timeout=timeout) as session:
            start = asyncio.Event()

            async def one():
                await start.wait()
                async with session.request(method, f"http://{host}:{port}{path}",
                                           headers=headers, data=body) as r:
                    data = await r.read()
                    return r.status, {k.lower(): v for k, v in r.headers.items()}, data

            tasks = [asyncio.ensure_future(one()) for _ in range(n)]
            await asyncio.sleep(0)
            start.set()
            return await asyncio.gather(*tasks)

    return asyncio.run(main())


def find_key(obj: Any, key: str) -> Any:
    """The value of the first `key` found anywhere in a JSON document (depth first), or
    KeyError: for fields whose place in a body SPEC does not fix."""
    if isinstance(obj, dict):
        if key in obj:
            return obj[key]
        values = obj.values()
    elif isinstance(obj, list):
        values = obj
    else:
        values = ()
    for v in values:
        try:
            return find_key(v, key)
        except KeyError:
            pass
    raise KeyError(key)


# --------------------------------------------------------------------------------------
# Processes


class Process:
    """A child process whose combined stdout/stderr is drained by a thread into `lines` and
    into a log file (so a full pipe never blocks it, and a failing test can show it)."""

    def __init__(self, name: str, args: list[str], log_path: Path, env: dict | None = None,
                 cwd: str | Path | None = None):
        self.name = name
        self.args = args
        self.log_path = log_path
        self.lines: list[str] = []
        self._lock = threading.Lock()
        full_env = dict(os.environ)
        full_env.update(env or {})
        self._log = open(log_path, "w", encoding="utf-8", errors="replace")
        self.popen = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, env=full_env, cwd=cwd)
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        assert self.popen.stdout is not None
        for raw in iter(self.popen.stdout.readline, b""):
            line = raw.decode("utf-8", errors="replace")
            with self._lock:
                self.lines.append(line)
                self._log.write(line)
                self._log.flush()

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        with self._lock:
            return "".join(self.lines)

    def alive(self) -> bool:
        return self.popen.poll() is None

    def wait_for_output(self, pattern: str, timeout: float) -> re.Match:
        rx = re.compile(pattern)

        def found():
            m = rx.search(self.output())
            if m:
                return m
            if not self.alive():
                raise AssertionError(f"{self.name} exited with {self.popen.returncode} "
                                     f"before printing {pattern!r}:\n{self.output()}")
            return None

        return wait_until(found, timeout, what=f"{self.name} to print {pattern!r}")

    def signal(self, sig: int) -> None:
        if self.alive():
            self.popen.send_signal(sig)

    def stop(self, timeout: float = 15.0) -> int:
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        self._reader.join(5)
        self._log.close()
        return self.popen.returncode

    def wait(self, timeout: float) -> int:
        rc = self.popen.wait(timeout)
        self._reader.join(5)
        return rc


def rss_kib(pid: int, field_name: str = "VmRSS") -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    raise AssertionError(f"{field_name} not in /proc/{pid}/status")


# --------------------------------------------------------------------------------------
# The mock upstream and the gateway


class MockUpstream:
    def __init__(self, proc: Process, port: int):
        self.proc, self.port = proc, port
        self.url = f"http://127.0.0.1:{port}"
        self.client = Client("127.0.0.1", port)

    def stats(self) -> dict:
        r = self.client.get("/__mock/stats")
        assert r.status == 200, r
        return r.json()

    def count(self, path: str) -> int:
        return int(self.stats()["by_path"].get(path, 0))

    def reset(self) -> None:
        r = self.client.post("/__mock/reset")
        assert r.status == 200, r


class Admin:
    def __init__(self, port: int, token: str = ADMIN_TOKEN):
        self.port, self.token = port, token
        self.client = Client("127.0.0.1", port)

    def request(self, method: str, path: str, body: Any = None, token: str | None = "default",
                headers: dict | None = None) -> Response:
        hdrs = dict(headers or {})
        tok = self.token if token == "default" else token
        if tok is not None:
            hdrs["Authorization"] = f"Bearer {tok}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        return self.client.request(method, path, headers=hdrs, body=data, use_key=False)

    def put_account(self, account_id: str, plan: str = "free",
                    overrides: dict | None = None) -> dict:
        body: dict = {"plan": plan}
        if overrides is not None:
            body["overrides"] = overrides
        r = self.request("PUT", f"/admin/v1/accounts/{account_id}", body)
        assert r.status in (200, 201), r
        return r.json() if r.body else {}

    def create_key(self, account_id: str, environment: str = "live") -> tuple[str, str]:
        r = self.request("POST", f"/admin/v1/accounts/{account_id}/keys",
                         {"environment": environment})
        assert r.status in (200, 201), r
        j = r.json()
        assert j["key"].startswith(f"sk_{environment}_"), j
        return j["key_id"], j["key"]

    def revoke_key(self, key_id: str) -> None:
        r = self.request("DELETE", f"/admin/v1/keys/{key_id}")
        assert r.status in (200, 202, 204), r

    def metrics(self) -> str:
        r = self.request("GET", "/metrics")
        assert r.status == 200, r
        return r.body.decode()


_account_seq = iter(range(1, 1_000_000))


class Gateway:
    """A running `kallglot-gateway serve` with its config file, public and admin clients."""

    def __init__(self, binary: str, workdir: Path, config: dict, name: str = "gateway",
                 env: dict | None = None, wrapper: list[str] | None = None):
        self.binary, self.workdir, self.config = binary, workdir, config
        self.port = int(config["listen"].rsplit(":", 1)[1])
        self.admin_port = int(config["admin"]["listen"].rsplit(":", 1)[1])
        self.config_path = workdir / f"{name}.yaml"
        self.write_config(config)
        e = {"KALLGLOT_GATEWAY_ADMIN_TOKEN": ADMIN_TOKEN}
        e.update(env or {})
        # `wrapper`: a command that execs the gateway (e.g. prlimit), so the pid stays its.
        self.proc = Process(name, [*(wrapper or []), binary, "serve", "--config",
                                   str(self.config_path)],
                            workdir / f"{name}.log", env=e, cwd=workdir)
        self.admin = Admin(self.admin_port)
        self.url = f"http://127.0.0.1:{self.port}"

    def write_config(self, config: dict) -> None:
        tmp = self.config_path.with_suffix(".tmp")
        tmp.write_text(yaml.safe_dump(config, sort_keys=False))
        tmp.replace(self.config_path)
        self.config = config

    def wait_ready(self, timeout: float = 15.0) -> None:
        probe = Client("127.0.0.1", self.admin_port, timeout=2.0)

        def ready():
            if not self.proc.alive():
                raise AssertionError(f"gateway exited with {self.proc.popen.returncode}:\n"
                                     f"{self.proc.output()}")
            try:
                r = probe.get("/healthz", use_key=False)
            except OSError:
                probe.close()
                return False
            if r.status != 200:
                return False
            # The public listener must accept too.
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1.0):
                    return True
            except OSError:
                return False

        wait_until(ready, timeout, what="gateway /healthz")
        probe.close()

    def client(self, key: str | None = None, key_header: str = "authorization") -> Client:
        return Client("127.0.0.1", self.port, key=key, key_header=key_header)

    def new_account(self, plan: str = "free", overrides: dict | None = None,
                    environment: str = "live") -> tuple[str, str]:
        """Creates an account and one key; returns (account_id, key)."""
        account_id = f"acct_{next(_account_seq)}"
        self.admin.put_account(account_id, plan, overrides)
        _, key = self.admin.create_key(account_id, environment)
        return account_id, key

    def reload(self, config: dict) -> None:
        self.write_config(config)
        self.proc.signal(signal.SIGHUP)

    def stop(self) -> int:
        self.admin.client.close()
        return self.proc.stop()


def base_config(port: int, admin_port: int, upstream_url: str, workdir: Path) -> dict:
    return {
        "listen": f"127.0.0.1:{port}",
        "shutdown_grace_ms": 5000,
        "admin": {"listen": f"127.0.0.1:{admin_port}"},
        "upstream": {"url": upstream_url},
        "store": {"backend": "memory"},
        "accounts": {"path": str(workdir / "accounts.db")},
    }


# --------------------------------------------------------------------------------------
# Assertions shared by several files


def assert_error_shape(resp: Response, status: int, code: str, error_type: str | None = None):
    assert resp.status == status, resp
    assert "application/json" in (resp.header("Content-Type") or ""), resp
    body = resp.json()
    assert set(body) == {"error"}, body
    err = body["error"]
    for k in ("type", "code", "message", "param", "request_id"):
        assert k in err, f"error body lacks {k!r}: {body}"
    assert err["code"] == code, body
    if error_type is not None:
        assert err["type"] == error_type, body
    assert isinstance(err["type"], str) and err["type"], body
    assert isinstance(err["message"], str) and err["message"], body
    assert err["param"] is None, body
    request_id = resp.header("X-Request-ID")
    assert request_id, resp
    assert err["request_id"] == request_id, (body, request_id)
    # RFC 9110 §6.6.1: every response has a Date; §15.5.2: a 401 names its scheme.
    date = resp.header("Date")
    assert date and re.fullmatch(r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT",
                                 date), resp
    if status == 401:
        assert (resp.header("WWW-Authenticate") or "").startswith('Bearer realm="'), resp
    return err


def assert_rate_limited(resp: Response, limit: int, resource: str,
                        per: str = "minute") -> dict:
    """The 429 of SPEC §4, exactly."""
    t = time.time()
    err = assert_error_shape(resp, 429, "rate_limit_exceeded", "rate_limit_error")
    assert set(err) == {"type", "code", "message", "param", "retry_after", "request_id"}, err
    retry_after = resp.int_header("Retry-After")
    assert isinstance(err["retry_after"], int) and err["retry_after"] == retry_after, err
    assert retry_after >= 1, retry_after
    assert re.fullmatch(
        rf"Rate limit exceeded for {re.escape(resource)} \({limit} per {per}\)\. "
        rf"Retry after {retry_after} seconds?\.", err["message"]), err["message"]
    assert resp.int_header("X-RateLimit-Limit") == limit, resp
    assert resp.int_header("X-RateLimit-Remaining") == 0, resp
    assert resp.header("X-RateLimit-Resource") == resource, resp
    assert resp.int_header("X-RateLimit-Used") == limit, resp
    reset = resp.int_header("X-RateLimit-Reset")
    if per == "minute":
        assert reset in (next_minute_boundary(t - 2), next_minute_boundary(t)), (reset, t)
        # Retry-After is the time until the window resets (fixed window), rounded up.
        assert abs(retry_after - (reset - t)) <= 2, (retry_after, reset, t)
    return err


def assert_admitted(resp: Response, limit: int, remaining: int, resource: str,
                    used: int | None = None, t_before: float | None = None) -> None:
    assert resp.status == 200, resp
    assert resp.int_header("X-RateLimit-Limit") == limit, resp
    assert resp.int_header("X-RateLimit-Remaining") == remaining, resp
    assert resp.header("X-RateLimit-Resource") == resource, resp
    assert resp.int_header("X-RateLimit-Used") == (limit - remaining if used is None else used), \
        resp
    reset = resp.int_header("X-RateLimit-Reset")
    t = time.time()
    allowed = {next_minute_boundary(t)}
    if t_before is not None:
        allowed.add(next_minute_boundary(t_before))
    else:
        allowed.add(next_minute_boundary(t - 2))
    assert reset in allowed, (reset, t)


def parse_metrics(text: str) -> list[tuple[str, dict[str, str], float]]:
    """Prometheus text exposition -> [(name, labels, value)]."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)", line)
        if not m:
            continue
        labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        try:
            value = float(m.group(4))
        except ValueError:
            continue
        out.append((m.group(1), labels, value))
    return out


def metric_sum(text: str, name: str, **labels: str) -> float:
    return sum(v for n, l, v in parse_metrics(text)
               if n == name and all(l.get(k) == want for k, want in labels.items()))


def limits_of(rate_limits_body: dict) -> dict:
    """The per-limit entries of a GET /v1/rate_limits body, keyed by limit name ("api" or a
    group). Assumed layout: {"limits": {name: {...}}}; a list of {"name"/"resource"} is
    accepted too."""
    limits = rate_limits_body["limits"]
    if isinstance(limits, list):
        return {(x.get("name") or x.get("resource")): x for x in limits}
    return limits


# --------------------------------------------------------------------------------------
# Redis (store.backend: redis): real redis-server processes on loopback


def _resp_encode(args: list[Any]) -> bytes:
    parts = [f"*{len(args)}\r\n".encode()]
    for a in args:
        b = a if isinstance(a, bytes) else str(a).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(parts)


class RedisError(Exception):
    pass


class RespClient:
    """A minimal blocking RESP2 client (no redis-py on Debian's interpreter): one
    connection, one command at a time. Bulk strings come back as bytes."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 5.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.file = self.sock.makefile("rb")

    def close(self) -> None:
        try:
            self.file.close()
        finally:
            self.sock.close()

    def __enter__(self) -> "RespClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def command(self, *args: Any) -> Any:
        self.sock.sendall(_resp_encode(list(args)))
        return self._read()

    def _read(self) -> Any:
        line = self.file.readline()
        if not line:
            raise ConnectionError("redis closed the connection")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RedisError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.file.read(n + 2)
            return data[:-2]
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise RedisError(f"unexpected RESP line {line!r}")


def redis_command(port: int, *args: Any, timeout: float = 5.0) -> Any:
    with RespClient(port, timeout=timeout) as c:
        return c.command(*args)


class RedisServer:
    """One `redis-server` on 127.0.0.1:<port>, without persistence (so a restart comes back
    empty), its files in `workdir`. kill()/restart() keep the port; pause()/resume() stop
    and continue the process (SIGSTOP/SIGCONT: connections stay open, nothing answers)."""

    def __init__(self, workdir: Path, port: int | None = None, name: str = "redis",
                 extra_args: list[str] | None = None):
        self.workdir, self.name = workdir, name
        self.port = port or free_port()
        self.extra_args = list(extra_args or [])
        self.proc: Process | None = None
        self.paused = False
        self.starts = 0
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self) -> None:
        assert self.proc is None or not self.proc.alive(), "already running"
        self.starts += 1
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", str(self.workdir),
                "--protected-mode", "no", *self.extra_args]
        self.proc = Process(self.name, args,
                            self.workdir / f"{self.name}.{self.starts}.log")
        wait_until(self._answers, 15, what=f"{self.name} to answer PING")

    def _answers(self) -> bool:
        if not self.proc.alive():
            raise AssertionError(f"{self.name} exited:\n{self.proc.output()}")
        try:
            return redis_command(self.port, "PING", timeout=1.0) == "PONG"
        except (OSError, RedisError):
            return False

    def command(self, *args: Any) -> Any:
        return redis_command(self.port, *args)

    # Like a Process, for the failure report of conftest.py (the current run's log).
    @property
    def log_path(self) -> Path | None:
        return self.proc.log_path if self.proc else None

    def output(self) -> str:
        return self.proc.output() if self.proc else ""

    def kill(self) -> None:
        """SIGKILL: every connection drops, the port refuses until restart()."""
        assert self.proc is not None
        if self.paused:
            self.resume()
        self.proc.signal(signal.SIGKILL)
        self.proc.stop()  # reaps it and closes its log

    def restart(self) -> None:
        """Starts again on the same port (empty: no persistence)."""
        if self.proc is not None and self.proc.alive():
            self.kill()
        self.start()

    def pause(self) -> None:
        assert self.proc is not None and self.proc.alive()
        self.proc.signal(signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.signal(signal.SIGCONT)
        self.paused = False

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.paused:
            self.resume()
        self.proc.stop(5)

    def keys(self) -> list[str]:
        return sorted(k.decode() for k in scan_keys(self.port))


def scan_keys(port: int) -> list[bytes]:
    """Every key of one node (SCAN, not KEYS)."""
    out: list[bytes] = []
    with RespClient(port) as c:
        cursor = b"0"
        while True:
            cursor, batch = c.command("SCAN", cursor, "COUNT", 1000)
            out.extend(batch)
            if cursor == b"0":
                return out


def dump_contents(port: int) -> dict[bytes, Any]:
    """Every key of one node with its value, whatever its type (for sanity checks over
    what the gateway stores)."""
    out: dict[bytes, Any] = {}
    with RespClient(port) as c:
        for key in scan_keys(port):
            kind = c.command("TYPE", key)
            if kind == "string":
                out[key] = c.command("GET", key)
            elif kind == "hash":
                out[key] = c.command("HGETALL", key)
            elif kind == "set":
                out[key] = c.command("SMEMBERS", key)
            elif kind == "zset":
                out[key] = c.command("ZRANGE", key, 0, -1, "WITHSCORES")
            elif kind == "list":
                out[key] = c.command("LRANGE", key, 0, -1)
            elif kind == "none":
                continue  # expired between SCAN and TYPE
            else:
                out[key] = c.command("DUMP", key)
    return out


def free_cluster_port() -> int:
    """A port p with p and p + 10000 (the cluster bus) both free, p <= 55535. Drawn below
    the kernel's ephemeral range so outgoing connections do not take it meanwhile."""
    import random
    rng = random.Random()
    for _ in range(200):
        p = rng.randrange(20000, 30000)
        if p in _used_ports or p + 10000 in _used_ports:
            continue
        ok = True
        for q in (p, p + 10000):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                try:
                    s.bind(("127.0.0.1", q))
                except OSError:
                    ok = False
                    break
        if ok:
            _used_ports.update((p, p + 10000))
            return p
    raise RuntimeError("no free cluster port")


class RedisCluster:
    """Three (by default) cluster-enabled masters joined with `redis-cli --cluster create`,
    ready once every node reports cluster_state:ok."""

    def __init__(self, workdir: Path, masters: int = 3, replicas: int = 0,
                 node_timeout_ms: int = 5000):
        """`replicas`: per master. With replicas the cluster is made to fail over: any
        replica may take over however old its data (cluster-replica-validity-factor 0), and
        construction also waits until every replica is in sync with its master.
        `node_timeout_ms`: how long a silent node takes to be failed (and failed over)."""
        self.nodes: list[RedisServer] = []
        try:
            for i in range(masters * (1 + replicas)):
                port = free_cluster_port()
                node_dir = workdir / f"node{i}"
                node_dir.mkdir(parents=True, exist_ok=True)
                extra = ["--cluster-enabled", "yes",
                         "--cluster-config-file", str(node_dir / "nodes.conf"),
                         "--cluster-node-timeout", str(node_timeout_ms)]
                if replicas:
                    # No wait before a replica's first full sync (the default waits 5 s).
                    extra += ["--cluster-replica-validity-factor", "0",
                              "--repl-diskless-sync-delay", "0"]
                self.nodes.append(RedisServer(node_dir, port, name=f"redis-node{i}",
                                              extra_args=extra))
            create = subprocess.run(
                ["redis-cli", "--cluster", "create",
                 *(f"127.0.0.1:{n.port}" for n in self.nodes),
                 "--cluster-replicas", str(replicas), "--cluster-yes"],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                timeout=60)
            assert create.returncode == 0, create.stdout.decode(errors="replace")
            wait_until(self._all_ok, 30, interval=0.05, what="cluster_state:ok on every node")
            if replicas:
                wait_until(self.replicas_in_sync, 30, interval=0.05,
                           what="every replica in sync with its master")
        except BaseException:
            self.stop()
            raise

    def _all_ok(self) -> bool:
        for n in self.nodes:
            info = n.command("CLUSTER", "INFO").decode()
            if "cluster_state:ok" not in info:
                return False
        return True

    @property
    def urls(self) -> list[str]:
        return [n.url for n in self.nodes]

    def keys(self) -> list[str]:
        return sorted(k for n in self.nodes for k in n.keys())

    def stop(self) -> None:
        for n in self.nodes:
            n.stop()

    # Failover: which node plays which part now, and whether the survivors agree.

    def alive(self) -> list[RedisServer]:
        """The nodes whose process runs (not killed, not stopped with SIGSTOP)."""
        return [n for n in self.nodes if n.proc is not None and n.proc.alive() and not n.paused]

    @staticmethod
    def replication(node: RedisServer) -> dict[str, str]:
        """INFO replication as a dict (role, master_port, master_link_status, offsets)."""
        text = node.command("INFO", "replication").decode()
        return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)

    def is_master(self, node: RedisServer) -> bool:
        return self.replication(node).get("role") == "master"

    def masters(self) -> list[RedisServer]:
        """The live nodes that are masters now, in node order."""
        return [n for n in self.alive() if self.is_master(n)]

    def replica_of(self, master: RedisServer) -> RedisServer:
        """A live replica of `master`."""
        for n in self.alive():
            info = self.replication(n)
            if info.get("role") == "slave" and int(info.get("master_port", 0)) == master.port:
                return n
        raise AssertionError(f"no replica of {master.name}")

    def replicas_in_sync(self) -> bool:
        """Every live replica's link to its master is up and it has all its master wrote."""
        offsets = {n.port: self.replication(n) for n in self.alive()}
        for info in offsets.values():
            if info.get("role") != "slave":
                continue
            master = offsets.get(int(info.get("master_port", 0)))
            if (info.get("master_link_status") != "up" or master is None
                    or master.get("master_repl_offset") != info.get("slave_repl_offset")):
                return False
        return True

    def survivors_ok(self) -> bool:
        """Every live node reports cluster_state:ok."""
        return all("cluster_state:ok" in n.command("CLUSTER", "INFO").decode()
                   for n in self.alive())

    def slot_ranges(self, node: RedisServer) -> list[tuple[int, int, int]]:
        """(first, last, master port) of every range in `node`'s CLUSTER SLOTS."""
        return [(first, last, int(master[1]))
                for first, last, master, *_ in node.command("CLUSTER", "SLOTS")]


def is_sanitized(binary: str) -> bool:
    """Whether `binary` is the ASan build (its allocator quarantines freed memory, so its
    resident size says nothing about the gateway's own)."""
    with open(binary, "rb") as f:
        return b"__asan_init" in f.read()


def redis_store(urls: str | list[str], on_failure: str = "fail_open",
                timeout_ms: int = 1000) -> dict:
    """The config overrides of a gateway on Redis (SPEC §3 store). The default timeout is
    long: tests of what a healthy Redis decides must not see a command time out on a
    loaded host (ASan, 2 cores); the failure tests pass their own short one."""
    return {"store": {"backend": "redis",
                      "redis": {"url": urls, "timeout_ms": timeout_ms},
                      "on_failure": on_failure}}


def readyz(gw: "Gateway") -> Response:
    return gw.admin.request("GET", "/readyz", token=None)


def wait_store_ok(gw: "Gateway", timeout: float = 10.0) -> None:
    """Until /readyz says the shared store answers (the gateway pings it every second)."""
    def ok():
        r = readyz(gw)
        return r.status == 200 and r.json().get("store") == "ok"
    wait_until(ok, timeout, interval=0.05, what=f"{gw.proc.name} /readyz store ok")
