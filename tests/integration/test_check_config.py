"""SPEC §2/§3: `check-config FILE` exits 0 for a valid file, or 2 with `file:line:col: message`
on stderr; unknown keys, wrong types and impossible values are errors."""

import re
import subprocess

import pytest


def check(binary, path):
    return subprocess.run([binary, "check-config", str(path)], capture_output=True, text=True,
                          timeout=20)


def write(tmp_path, text, name="gateway.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def error_positions(stderr: str, path) -> list[tuple[int, int, str]]:
    rx = re.compile(re.escape(str(path)) + r":(\d+):(\d+): (.+)")
    return [(int(m.group(1)), int(m.group(2)), m.group(3)) for m in rx.finditer(stderr)]


@pytest.mark.parametrize("text", [
    "upstream: {url: http://127.0.0.1:7000}\n",
    "upstream: {url: http://127.0.0.1:7000}\nplans: {free: {api_requests_per_minute: 30}}\n",
    """listen: 127.0.0.1:18080
shutdown_grace_ms: 2000
admin:
  listen: 127.0.0.1:19090
upstream:
  url: http://127.0.0.1:7000
  connect_timeout_ms: 500
  request_timeout_ms: 5000
store:
  backend: memory
  on_failure: fail_closed
accounts:
  path: ./data/test-accounts.db
  cache_seconds: 30
algorithm: fixed_window
headers: [x-ratelimit, ietf]
unknown_key: anonymous
shadow_mode: false
plans:
  free:
    api_requests_per_minute: 61
    concurrent_sessions: null
    groups: {analysis: 10}
  enterprise:
    shadow_mode: true
groups:
  analysis:
    shadow_mode: true
""",
])
def test_valid_files_exit_0(binary, tmp_path, text):
    p = write(tmp_path, text)
    r = check(binary, p)
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)


def test_the_repository_default_config_is_valid(binary):
    from helpers import REPO_ROOT
    p = REPO_ROOT / "config" / "gateway.yaml"
    assert p.exists(), "config/gateway.yaml (SPEC §3) is missing"
    r = check(binary, p)
    assert r.returncode == 0, (r.stdout, r.stderr)


@pytest.mark.parametrize("text,line,col,mentions", [
    ("upstream:\n  url: http://127.0.0.1:7000\nbogus_option: 1\n", 3, 1, "bogus_option"),
    ("plans:\n  free:\n    api_requests_per_minut: 60\n", 3, 5, "api_requests_per_minut"),
    ("upstream:\n  url: http://127.0.0.1:7000\n  retries: 3\n", 3, 3, "retries"),
])
def test_unknown_keys_are_errors_with_position(binary, tmp_path, text, line, col, mentions):
    p = write(tmp_path, text)
    r = check(binary, p)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    pos = error_positions(r.stderr, p)
    assert pos, f"no '{p}:line:col: message' on stderr: {r.stderr!r}"
    assert (line, col) in [(l, c) for l, c, _ in pos], (pos, r.stderr)
    assert mentions in r.stderr


@pytest.mark.parametrize("text,line", [
    ("plans:\n  free:\n    api_requests_per_minute: -5\n", 3),
    ("plans:\n  starter:\n    groups: {analysis: -1}\n", 3),
    ("shutdown_grace_ms: soon\n", 1),
    ("upstream:\n  url: http://127.0.0.1:7000\nalgorithm: leaky_magic\n", 3),
    ("upstream:\n  url: http://127.0.0.1:7000\nstore:\n  backend: floppy\n", 4),
    ("upstream:\n  url: http://127.0.0.1:7000\nunknown_key: maybe\n", 3),
    ("plans:\n  free:\n    ws_messages_per_second: many\n", 3),
])
def test_wrong_types_and_impossible_values_are_errors(binary, tmp_path, text, line):
    p = write(tmp_path, text)
    r = check(binary, p)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    pos = error_positions(r.stderr, p)
    assert pos, f"no '{p}:line:col: message' on stderr: {r.stderr!r}"
    assert line in [l for l, _, _ in pos], (pos, r.stderr)
    assert all(c >= 1 for _, c, _ in pos), pos


def test_route_in_two_groups_is_an_error(binary, tmp_path):
    p = write(tmp_path, 'groups:\n  analysis:\n    routes: ["* /v1/webhooks*"]\n')
    r = check(binary, p)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert error_positions(r.stderr, p), r.stderr


@pytest.mark.parametrize("text", [
    "plans: {free: [1, 2\nupstream: x\n",
    "listen: 127.0.0.1:8080\n  admin: : :\n",
    'listen: "127.0.0.1:8080\n',
])
def test_bad_yaml_is_an_error_with_position(binary, tmp_path, text):
    p = write(tmp_path, text)
    r = check(binary, p)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    pos = error_positions(r.stderr, p)
    assert pos, f"no '{p}:line:col: message' on stderr: {r.stderr!r}"
    assert all(1 <= l <= 3 and c >= 1 for l, c, _ in pos), pos


def test_serve_refuses_an_invalid_file(binary, tmp_path):
    p = write(tmp_path, "upstream:\n  url: http://127.0.0.1:7000\nbogus_option: 1\n")
    r = subprocess.run([binary, "serve", "--config", str(p)], capture_output=True, text=True,
                       timeout=20)
    assert r.returncode != 0
    assert f"{p}:3:1:" in r.stderr + r.stdout
