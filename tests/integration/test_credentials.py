"""SPEC §4 Identity: a request presenting more than one distinct key is 400
`multiple_api_keys`; the upstream receives exactly the credential that was charged, and no
`Connection` nomination can remove or swap it. In both `unknown_key` modes: `reject` (the
default) and `anonymous` (an unknown key is limited as the anonymous plan, by client IP,
and then no credential at all is forwarded).

Requests go out as exact bytes (duplicate fields); the upstream is the recording
`RawUpstream` (raw_upstream.py), so what it received is checked line by line. Two gateways
serve the whole module, one per mode; each test uses fresh accounts. The anonymous plan
gets a limit of its own (ANON_LIMIT) so that its counter cannot pass for a free account's.
"""

from __future__ import annotations

import time

import pytest

from helpers import assert_admitted, assert_error_shape, ensure_window, limits_of
from raw_upstream import (attach, exchange, lenient_parse_all, raw_upstream,  # noqa: F401
                          raw_upstream_module, request_bytes, start_gateway)

FREE_API = 60
ANON_LIMIT = 1000
UNKNOWN = "sk_live_unknownunknownunknownunknown0000000"
MODES = {
    "reject": {},
    "anonymous": {"unknown_key": "anonymous",
                  "plans": {"anonymous": {"api_requests_per_minute": ANON_LIMIT}}},
}
MANAGED = ("authorization", "x-api-key", "host", "content-length", "transfer-encoding")


def _start(mode, binary, tmp_path_factory, raw):
    return start_gateway(binary, tmp_path_factory.mktemp(f"credentials-{mode}"), raw.url,
                         MODES[mode], name=f"gateway-{mode}")


@pytest.fixture(scope="module")
def reject_gateway(binary, tmp_path_factory, raw_upstream_module):
    gw = _start("reject", binary, tmp_path_factory, raw_upstream_module)
    yield gw
    gw.stop()


@pytest.fixture(scope="module")
def anonymous_gateway(binary, tmp_path_factory, raw_upstream_module):
    gw = _start("anonymous", binary, tmp_path_factory, raw_upstream_module)
    yield gw
    gw.stop()


@pytest.fixture(params=list(MODES))
def gw(request, raw_upstream):
    """Each test that takes `gw` runs against both modes."""
    g = attach(request, request.getfixturevalue(f"{request.param}_gateway"))
    g.mode = request.param
    return g


@pytest.fixture
def reject_gw(reject_gateway, raw_upstream, request):
    return attach(request, reject_gateway)


@pytest.fixture
def anonymous_gw(anonymous_gateway, raw_upstream, request):
    return attach(request, anonymous_gateway)


def api_remaining(gw, key: str | None) -> int:
    """The plan-wide limit's remaining units of `key`'s account (None: the caller's IP
    under the anonymous plan). Uncounted, never forwarded."""
    r = gw.client(key).get("/v1/rate_limits", use_key=key is not None)
    assert r.status == 200, r
    if key is None:
        assert r.json()["plan"] == "anonymous", r
    return limits_of(r.json())["api"]["remaining"]


def send(gw, lines: list[str], method: str = "GET", body: bytes = b""):
    ex = exchange(gw.port, request_bytes(method, "/v1/creds", lines, body), until=1)
    assert len(ex.responses) == 1, ex.raw
    return ex.responses[0].as_response()


def credentials(req) -> list[tuple[str, str]]:
    return [(n.lower(), v) for n, v in req.headers if n.lower() in ("authorization", "x-api-key")]


def one_forwarded(raw):
    """The one request the upstream received (both lenient readings agree on it)."""
    data = raw.all_bytes()
    te, cl = lenient_parse_all(data, "te"), lenient_parse_all(data, "cl")
    assert len(te) == 1 and [r.summary() for r in te] == [r.summary() for r in cl], data
    return te[0]


class Keys:
    """Two free accounts: a (with a second key a2) and b."""

    def __init__(self, gw):
        account, self.a = gw.new_account("free")
        _, self.a2 = gw.admin.create_key(account, "live")
        _, self.b = gw.new_account("free")
        self.unknown = UNKNOWN

    def fill(self, lines: list[str]) -> list[str]:
        return [line.format(a=self.a, a2=self.a2, b=self.b, unknown=self.unknown)
                for line in lines]


# --------------------------------------------------------------------------------------

CONFLICTS = [
    ("bearer_a_and_x_api_key_b", ["Authorization: Bearer {a}", "X-API-Key: {b}"]),
    ("x_api_key_b_and_bearer_a", ["X-API-Key: {b}", "Authorization: Bearer {a}"]),
    ("bearer_unknown_and_x_api_key_b", ["Authorization: Bearer {unknown}", "X-API-Key: {b}"]),
    ("bearer_a_and_x_api_key_unknown", ["Authorization: Bearer {a}", "X-API-Key: {unknown}"]),
    ("two_authorization_lines", ["Authorization: Bearer {a}", "Authorization: Bearer {b}"]),
    ("two_authorization_lines_one_unknown",
     ["Authorization: Bearer {unknown}", "Authorization: Bearer {a}"]),
    ("two_x_api_key_lines", ["X-API-Key: {a}", "X-API-Key: {b}"]),
    ("two_x_api_key_lines_one_unknown", ["X-API-Key: {a}", "X-API-Key: {unknown}"]),
    ("two_unknown_keys", ["Authorization: Bearer {unknown}", "X-API-Key: {unknown}x"]),
    ("two_keys_of_one_account", ["Authorization: Bearer {a}", "X-API-Key: {a2}"]),
    ("lower_case_names", ["authorization: Bearer {b}", "x-api-key: {a}"]),
]


@pytest.mark.parametrize("lines", [c[1] for c in CONFLICTS], ids=[c[0] for c in CONFLICTS])
def test_two_distinct_keys_are_400_and_nothing_is_charged(gw, raw_upstream, lines):
    keys = Keys(gw)
    ensure_window(4)
    anon_before = api_remaining(gw, None) if gw.mode == "anonymous" else None
    r = send(gw, keys.fill(lines))
    assert_error_shape(r, 400, "multiple_api_keys")
    assert r.header("Date"), r
    assert raw_upstream.connections() == [], raw_upstream.connections()
    assert api_remaining(gw, keys.a) == FREE_API
    assert api_remaining(gw, keys.b) == FREE_API
    if anon_before is not None:
        assert api_remaining(gw, None) == anon_before


SAME_KEY = [
    ("bearer", ["Authorization: Bearer {a}"], ("authorization", "Bearer {a}")),
    ("x_api_key", ["X-API-Key: {a}"], ("x-api-key", "{a}")),
    ("bearer_and_x_api_key", ["Authorization: Bearer {a}", "X-API-Key: {a}"],
     ("authorization", "Bearer {a}")),
    ("x_api_key_and_bearer", ["X-API-Key: {a}", "Authorization: Bearer {a}"],
     ("authorization", "Bearer {a}")),
    ("two_x_api_key_lines", ["X-API-Key: {a}", "X-API-Key: {a}"], ("x-api-key", "{a}")),
    ("two_authorization_lines", ["Authorization: Bearer {a}", "Authorization: Bearer {a}"],
     ("authorization", "Bearer {a}")),
]


@pytest.mark.parametrize("lines,forwarded", [c[1:] for c in SAME_KEY],
                         ids=[c[0] for c in SAME_KEY])
def test_one_key_is_charged_once_and_forwarded_as_one_credential(gw, raw_upstream, lines,
                                                                forwarded):
    keys = Keys(gw)
    ensure_window(4)
    anon_before = api_remaining(gw, None) if gw.mode == "anonymous" else None
    t = time.time()
    r = send(gw, keys.fill(lines))
    assert_admitted(r, FREE_API, FREE_API - 1, "api", t_before=t)
    assert api_remaining(gw, keys.a) == FREE_API - 1
    req = one_forwarded(raw_upstream)
    name, value = forwarded
    assert credentials(req) == [(name, value.format(a=keys.a))], req.headers
    if anon_before is not None:
        assert api_remaining(gw, None) == anon_before


NOMINATIONS = [
    ("authorization", ["Authorization: Bearer {a}", "Connection: authorization"], "GET", b"",
     ("authorization", "Bearer {a}")),
    ("x_api_key", ["X-API-Key: {a}", "Connection: x-api-key"], "GET", b"",
     ("x-api-key", "{a}")),
    ("host_and_content_length",
     ["Authorization: Bearer {a}", "Connection: host, content-length", "Content-Length: 5"],
     "POST", b"hello", ("authorization", "Bearer {a}")),
    ("transfer_encoding",
     ["X-API-Key: {a}", "Connection: Transfer-Encoding", "Transfer-Encoding: chunked"],
     "POST", b"5\r\nhello\r\n0\r\n\r\n", ("x-api-key", "{a}")),
    ("everything_at_once",
     ["X-API-Key: {a}", "Authorization: Bearer {a}",
      "Connection: keep-alive, Authorization, X-API-Key, Host, Content-Length",
      "Content-Length: 5"], "POST", b"hello", ("authorization", "Bearer {a}")),
    ("on_two_connection_lines",
     ["Connection: X-API-Key", "Authorization: Bearer {a}", "Connection: authorization"],
     "GET", b"", ("authorization", "Bearer {a}")),
]


@pytest.mark.parametrize("lines,method,body,forwarded", [c[1:] for c in NOMINATIONS],
                         ids=[c[0] for c in NOMINATIONS])
def test_connection_cannot_strip_the_credential_host_or_framing(gw, raw_upstream, lines,
                                                               method, body, forwarded):
    keys = Keys(gw)
    ensure_window(4)
    r = send(gw, keys.fill(lines), method, body)
    assert r.status == 200, r
    assert r.int_header("X-RateLimit-Remaining") == FREE_API - 1, r
    req = one_forwarded(raw_upstream)
    name, value = forwarded
    assert credentials(req) == [(name, value.format(a=keys.a))], req.headers
    assert req.values("Host") == ["gw"], req.headers
    if method == "POST":
        assert req.body == b"hello", req
        framing = ("Transfer-Encoding", "chunked") if body != b"hello" else ("Content-Length", "5")
        assert req.values(framing[0]) == [framing[1]], req.headers
    for value in req.values("Connection"):
        named = {t.strip().lower() for t in value.split(",")}
        assert not named & set(MANAGED), f"forwarded Connection nominates {value!r}"
    assert api_remaining(gw, keys.a) == FREE_API - 1


# --------------------------------------------------------------------------------------
# unknown_key: reject

REJECTED = [
    ("basic", ["Authorization: Basic dXNlcjpwYXNz"]),
    ("basic_with_a_valid_key", ["Authorization: Basic {a}"]),
    ("bearer_without_token", ["Authorization: Bearer"]),
    ("bearer_space_only", ["Authorization: Bearer "]),
    ("unknown_bearer", ["Authorization: Bearer {unknown}"]),
    ("unknown_x_api_key", ["X-API-Key: {unknown}"]),
    ("no_key", []),
]


@pytest.mark.parametrize("lines", [c[1] for c in REJECTED], ids=[c[0] for c in REJECTED])
def test_reject_mode_refuses_what_is_not_a_known_key_with_401(reject_gw, raw_upstream, lines):
    keys = Keys(reject_gw)
    ensure_window(3)
    r = send(reject_gw, keys.fill(lines))
    assert_error_shape(r, 401, "invalid_api_key")
    assert r.header("WWW-Authenticate") == 'Bearer realm="kallglot"', r
    assert r.header("Date"), r
    assert raw_upstream.connections() == []
    assert api_remaining(reject_gw, keys.a) == FREE_API


# --------------------------------------------------------------------------------------
# unknown_key: anonymous

ANONYMOUS = [
    ("unknown_bearer", ["Authorization: Bearer {unknown}"]),
    ("unknown_x_api_key", ["X-API-Key: {unknown}"]),
    ("basic", ["Authorization: Basic dXNlcjpwYXNz"]),
    ("bearer_without_token", ["Authorization: Bearer"]),
    ("garbage_bearer", ["Authorization: Bearer garbage"]),
    ("revoked_key", ["Authorization: Bearer {revoked}"]),
    ("no_key", []),
]


@pytest.mark.parametrize("lines", [c[1] for c in ANONYMOUS], ids=[c[0] for c in ANONYMOUS])
def test_anonymous_mode_limits_an_unknown_key_as_anonymous_and_forwards_no_credential(
        anonymous_gw, raw_upstream, lines):
    gw = anonymous_gw
    account, _ = gw.new_account("free")
    revoked_id, revoked = gw.admin.create_key(account, "live")
    gw.admin.revoke_key(revoked_id)
    ensure_window(4)
    before = api_remaining(gw, None)
    filled = [line.format(unknown=UNKNOWN, revoked=revoked) for line in lines]
    r = send(gw, filled)
    assert r.status == 200, r
    assert r.int_header("X-RateLimit-Limit") == ANON_LIMIT, r
    assert r.header("X-RateLimit-Resource") == "api", r
    assert r.int_header("X-RateLimit-Remaining") == before - 1, r
    assert api_remaining(gw, None) == before - 1
    req = one_forwarded(raw_upstream)
    assert credentials(req) == [], req.headers
    assert raw_upstream.requests()[0].values("Authorization") == []
