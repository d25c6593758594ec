"""SPEC §3 groups and §4 limits per request, against spellings of a route: a request-target
that reaches an endpoint group's route under another spelling (letter case, repeated or
trailing slashes, dot segments, percent-encoded unreserved characters) is counted under
that group; a target the gateway cannot read one way only (`;` parameters, backslashes,
encoded `/` `\\` `;` `%` or NUL, absolute-form, `*`, characters RFC 3986 forbids in a path)
is 400 `invalid_request_target`; a method with a lower-case letter is 400 `invalid_method`.

Which limit counted a request shows in `X-RateLimit-Resource` (a fresh free account's first
analysis request: `analysis`, 15 < 60) and in `GET /v1/rate_limits` (uncounted). The
analysis routes run against the recording `RawUpstream` (raw_upstream.py), one gateway for
the module, fresh accounts per test; the session routes against the default mock (its
`POST /v1/sessions` answers with an `id`), one gateway per test.
"""

from __future__ import annotations

import time

import pytest

from helpers import assert_admitted, assert_error_shape, ensure_window, limits_of
from raw_upstream import (attach, exchange, lenient_parse_all, raw_upstream,  # noqa: F401
                          raw_upstream_module, request_bytes, start_gateway)

FREE_API, FREE_ANALYSIS, FREE_SESSIONS_WRITE = 60, 15, 30


@pytest.fixture(scope="module")
def shared_gateway(binary, tmp_path_factory, raw_upstream_module):
    gw = start_gateway(binary, tmp_path_factory.mktemp("route-forms"), raw_upstream_module.url)
    yield gw
    gw.stop()


@pytest.fixture
def gw(shared_gateway, raw_upstream, request):
    return attach(request, shared_gateway)


def remaining(gw, key: str) -> dict[str, int]:
    r = gw.client(key).get("/v1/rate_limits")
    assert r.status == 200, r
    return {name: entry["remaining"] for name, entry in limits_of(r.json()).items()}


def send(gw, key: str, method: str, target: str, body: bytes = b""):
    lines = [f"Authorization: Bearer {key}"]
    if method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    ex = exchange(gw.port, request_bytes(method, target, lines, body), until=1)
    assert len(ex.responses) == 1, ex.raw
    return ex.responses[0].as_response()


def forwarded(raw) -> list:
    data = raw.all_bytes()
    te, cl = lenient_parse_all(data, "te"), lenient_parse_all(data, "cl")
    assert [r.summary() for r in te] == [r.summary() for r in cl], data
    return te


# --------------------------------------------------------------------------------------

ANALYSIS_FORMS = [
    ("canonical", "/v1/analysis/run"),
    ("upper_case", "/V1/ANALYSIS/run"),
    ("mixed_case", "/v1/Analysis/run"),
    ("double_slash_inside", "/v1//analysis/run"),
    ("double_slashes", "//v1/analysis//run"),
    ("trailing_slash", "/v1/analysis/run/"),
    ("dot_dot", "/v1/x/../analysis/run"),
    ("dot", "/v1/./analysis/run"),
    ("encoded_letter", "/v1/%61nalysis/run"),
    ("encoded_letter_upper_hex", "/v1/%41NALYSIS/run"),
    ("encoded_dot_dot", "/v1/%2e%2e/v1/analysis/run"),
    ("encoded_dot_dot_upper", "/v1/x/%2E%2E/analysis/run"),
    ("encoded_dot", "/v1/%2e/analysis/run"),
    ("everything", "//V1/x/./%2e%2e//Analysis/%72un/"),
    ("query_ignored", "/v1/analysis/run?x=1"),
    ("query_with_path_forbidden_characters", '/v1/analysis/run?q="<>^`{|}'),
    ("query_with_semicolon_and_encoded_slash", "/v1/analysis/run?next=%2Fv1%2Fx;y=1"),
]


@pytest.mark.parametrize("target", [f[1] for f in ANALYSIS_FORMS],
                         ids=[f[0] for f in ANALYSIS_FORMS])
def test_spellings_of_an_analysis_route_are_counted_under_analysis(gw, raw_upstream, target):
    _, key = gw.new_account("free")
    ensure_window(3)
    t = time.time()
    r = send(gw, key, "GET", target)
    assert_admitted(r, FREE_ANALYSIS, FREE_ANALYSIS - 1, "analysis", t_before=t)
    left = remaining(gw, key)
    assert left["analysis"] == FREE_ANALYSIS - 1, left
    assert left["api"] == FREE_API - 1, left
    assert len(forwarded(raw_upstream)) == 1


@pytest.mark.parametrize("target", ["/v1/analysisx/run", "/v1/analyses/run", "/v2/analysis/run",
                                    "/v1/x/analysis/run", "/v1/analysis%2Drun"])
def test_other_routes_are_not_counted_under_analysis(gw, raw_upstream, target):
    _, key = gw.new_account("free")
    ensure_window(3)
    t = time.time()
    assert_admitted(send(gw, key, "GET", target), FREE_API, FREE_API - 1, "api", t_before=t)
    left = remaining(gw, key)
    assert left["analysis"] == FREE_ANALYSIS and left["api"] == FREE_API - 1, left
    assert len(forwarded(raw_upstream)) == 1


REFUSED_TARGETS = [
    ("semicolon_in_segment", "GET", "/v1/analysis;x/run"),
    ("semicolon_path_parameter", "GET", "/v1/analysis/run;jsessionid=1"),
    ("semicolon_after_version", "GET", "/v1;/analysis/run"),
    ("backslashes", "GET", "/v1\\analysis\\run"),
    ("backslash", "GET", "/v1/analysis\\run"),
    ("encoded_slash", "GET", "/v1%2Fanalysis/run"),
    ("encoded_slash_lower", "GET", "/v1/analysis%2frun"),
    ("encoded_backslash", "GET", "/v1/analysis%5Crun"),
    ("encoded_backslash_lower", "GET", "/v1/analysis%5crun"),
    ("encoded_semicolon", "GET", "/v1/analysis%3Bx/run"),
    ("double_encoded_slash", "GET", "/v1/analysis%252Frun"),
    ("double_encoded_letter", "GET", "/v1/%2561nalysis/run"),
    ("encoded_percent", "GET", "/v1/analysis/run%25"),
    ("encoded_nul", "GET", "/v1/analysis/run%00"),
    ("encoded_nul_in_segment", "GET", "/v1/analysis%00/run"),
    ("absolute_form", "GET", "http://h/v1/analysis/run"),
    ("absolute_form_of_the_gateway", "GET", "http://gw/v1/analysis/run"),
    ("asterisk", "GET", "*"),
    ("asterisk_options", "OPTIONS", "*"),
    ("double_quote", "GET", '/v1/analysis/ru"n'),
    ("angle_brackets", "GET", "/v1/analysis/<run>"),
    ("caret", "GET", "/v1/analysis/r^n"),
    ("backtick", "GET", "/v1/analysis/`run`"),
    ("braces", "GET", "/v1/analysis/{run}"),
    ("pipe", "GET", "/v1/analysis/r|n"),
]


def refused_uncharged(gw, raw_upstream, method: str, target: str, code: str) -> dict:
    """Sends one request with a fresh free key; asserts a 400 `code` that never reached the
    upstream. Returns the key's remaining units per limit."""
    _, key = gw.new_account("free")
    ensure_window(3)
    r = send(gw, key, method, target)
    assert_error_shape(r, 400, code)
    assert r.header("Date"), r
    assert raw_upstream.connections() == [], raw_upstream.connections()
    return remaining(gw, key)


@pytest.mark.parametrize("method,target", [c[1:] for c in REFUSED_TARGETS],
                         ids=[c[0] for c in REFUSED_TARGETS])
def test_ambiguous_targets_are_400_and_never_forwarded(gw, raw_upstream, method, target):
    left = refused_uncharged(gw, raw_upstream, method, target, "invalid_request_target")
    assert left["api"] == FREE_API and left["analysis"] == FREE_ANALYSIS, left


REFUSED_METHODS = [
    ("post", "post", "/v1/sessions"),
    ("Get", "Get", "/v1/analysis/run"),
    ("gET", "gET", "/v1/x"),
    ("Patch", "Patch", "/v1/analysis/run"),
]


@pytest.mark.parametrize("method,target", [c[1:] for c in REFUSED_METHODS],
                         ids=[c[0] for c in REFUSED_METHODS])
def test_methods_with_lower_case_letters_are_400(gw, raw_upstream, method, target):
    left = refused_uncharged(gw, raw_upstream, method, target, "invalid_method")
    assert left["api"] == FREE_API, left
    assert left["analysis"] == FREE_ANALYSIS, left
    assert left["sessions_write"] == FREE_SESSIONS_WRITE, left


# --------------------------------------------------------------------------------------
# Session creation under other spellings (default mock upstream)

SESSION_FORMS = ["/v1/Sessions", "/v1/sessions/", "/V1/SESSIONS", "//v1/sessions",
                 "/v1/x/../sessions", "/v1/%73essions"]
SESSION_BODY = b'{"source_language":"en","target_language":"de"}'


def create(c, target: str):
    return c.post(target, body=SESSION_BODY, headers={"Content-Type": "application/json"})


@pytest.mark.parametrize("target", SESSION_FORMS)
def test_spellings_of_the_create_route_take_a_session_slot(gateway, mock, target):
    ensure_window(3)
    # Alone: a session creation, counted under sessions_write and forwarded.
    _, key = gateway.new_account("free")
    c = gateway.client(key)
    r = create(c, target)
    assert 200 <= r.status < 300, r
    assert r.header("X-RateLimit-Resource") == "sessions_write", r
    assert r.int_header("X-RateLimit-Limit") == FREE_SESSIONS_WRITE, r
    assert r.int_header("X-RateLimit-Remaining") == FREE_SESSIONS_WRITE - 1, r
    # With both free slots taken, it is a third creation: 429, never forwarded.
    _, key2 = gateway.new_account("free")
    c2 = gateway.client(key2)
    for _ in range(2):
        ok = create(c2, "/v1/sessions")
        assert ok.status == 201 and ok.json()["id"], ok
    before = mock.stats()["requests"]
    r = create(c2, target)
    assert_error_shape(r, 429, "concurrent_session_limit_exceeded")
    assert r.int_header("X-Concurrent-Sessions-Limit") == 2, r
    assert mock.stats()["requests"] == before
