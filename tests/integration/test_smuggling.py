"""SPEC §4 Framing, RFC 9112 §6 and §3.2: the upstream only ever sees the requests the
gateway admitted, framed one way.

Every request goes out as exact bytes. The upstream is the recording `RawUpstream`
(raw_upstream.py): whatever it received is re-read leniently with Transfer-Encoding
winning and with Content-Length winning, and both readings must agree, find as many
requests as the gateway charged (`GET /v1/rate_limits`: uncounted, never forwarded) and no
request to `/smuggled`, the request each smuggling payload hides in what one reading
calls its body. The hidden request carries no key: a gateway that reads it as a request of
its own answers 401, it never forwards it.

One gateway serves the whole module; each test uses fresh accounts.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from helpers import assert_error_shape, ensure_window, limits_of
from raw_upstream import (RawRequest, RawUpstream, attach, exchange, lenient_parse,
                          raw_upstream, raw_upstream_module, request_bytes,  # noqa: F401
                          start_gateway, wait_upstream_settled)

SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
FREE_API = 60
MALFORMED = ("malformed_request", "invalid_request_framing")
FRAMING = ("invalid_request_framing",)
UNSUPPORTED = ("unsupported_transfer_encoding",)


@pytest.fixture(scope="module")
def shared_gateway(binary, tmp_path_factory, raw_upstream_module):
    gw = start_gateway(binary, tmp_path_factory.mktemp("smuggling"), raw_upstream_module.url)
    yield gw
    gw.stop()


@pytest.fixture
def gw(shared_gateway, raw_upstream, request):
    return attach(request, shared_gateway)


def api_remaining(gw, key: str) -> int:
    r = gw.client(key).get("/v1/rate_limits")
    assert r.status == 200, r
    return limits_of(r.json())["api"]["remaining"]


def post(*lines: str, body: bytes = b"", target: str = "/v1/upload") -> bytes:
    """A keyed POST (`{key}` is replaced later) with `lines` after Host and Authorization."""
    return request_bytes("POST", target, ["Authorization: Bearer {key}", *lines], body)


def with_key(data: bytes, key: str) -> bytes:
    return data.replace(b"{key}", key.encode())


def readings(raw: RawUpstream) -> tuple[list[RawRequest], list[RawRequest], list[bytes]]:
    """Both lenient readings of every upstream connection, and what each left unframed."""
    te, cl, rests = [], [], []
    for data in raw.connections():
        a, b = lenient_parse(data, "te"), lenient_parse(data, "cl")
        te += a.requests
        cl += b.requests
        rests += [a.rest, b.rest]
    return te, cl, rests


def assert_upstream_saw(raw: RawUpstream, admitted: int, abandoned: bool = False) -> list:
    """The smuggling invariant. `abandoned`: the gateway cut a request it had started
    forwarding (a broken chunk): then no complete request may have reached the upstream,
    and the connection that carried the start of it must be closed, never reused."""
    if abandoned:
        wait_upstream_settled(raw)
    te, cl, rests = readings(raw)
    everything = raw.all_bytes()
    assert b"/smuggled" not in everything, everything
    for reading in (te, cl):
        assert not [r for r in reading if "smuggled" in r.target], everything
    assert [r.summary() for r in te] == [r.summary() for r in cl], \
        f"the two readings of the upstream's bytes disagree: {everything!r}"
    if abandoned:
        assert te == [], everything
    else:
        assert len(te) == admitted, (admitted, everything)
        assert all(rest == b"" for rest in rests), f"unframed bytes upstream: {everything!r}"
    return te


def assert_gateway_error(resp, status: int, codes: tuple[str, ...]) -> None:
    r = resp.as_response()
    assert r.status == status, resp
    code = r.json()["error"]["code"] if r.body else None
    assert code in codes, (codes, resp)
    assert_error_shape(r, status, code)
    assert r.header("Date"), resp


# --------------------------------------------------------------------------------------
# The smuggling matrix


@dataclass(frozen=True)
class Payload:
    name: str
    data: bytes
    status: int                    # the documented status of the (first) answer
    codes: tuple[str, ...] = ()    # its error code, any of these
    then: tuple[int, ...] = ()     # statuses of the answers after it (pipelined leftovers)
    may_cut: bool = False          # broken chunk: the gateway may close with no answer
    or_400: bool = False           # 400 invalid_request_framing is as good (chunked not last)


def _hex(n: int) -> str:
    return f"{n:x}"


CL_TE_BODY = b"0\r\n\r\n" + SMUGGLED                                   # CL covers it all
TE_CL_BODY = f"{_hex(len(SMUGGLED))}\r\n".encode() + SMUGGLED + b"\r\n0\r\n\r\n"  # CL: 4
OX_HIDDEN = b"\r\n" + SMUGGLED  # "0x.." read as 0: empty trailers, then the hidden request

PAYLOADS = [
    Payload("cl_te", post(f"Content-Length: {len(CL_TE_BODY)}", "Transfer-Encoding: chunked",
                          body=CL_TE_BODY), 400, FRAMING),
    Payload("te_cl", post("Transfer-Encoding: chunked", "Content-Length: 4", body=TE_CL_BODY),
            400, FRAMING),
    Payload("cl_then_te_cl_body", post("Content-Length: 4", "Transfer-Encoding: chunked",
                                       body=TE_CL_BODY), 400, FRAMING),
    # TE.TE: the Transfer-Encoding obfuscated so that one parser ignores it.
    Payload("te_space_before_colon_with_cl",
            post("Content-Length: 4", "Transfer-Encoding : chunked", body=TE_CL_BODY),
            400, MALFORMED),
    Payload("te_space_before_colon",
            post("Transfer-Encoding : chunked", body=TE_CL_BODY), 400, MALFORMED),
    Payload("te_chunked_then_x_with_cl",
            post("Transfer-Encoding: chunked", "Transfer-Encoding: x", "Content-Length: 4",
                 body=TE_CL_BODY), 400, FRAMING),
    # `chunked, x`: an unknown coding (501 by the coding rule), but also chunked not last,
    # which RFC 9112 §6.3 says MUST be 400. Either refusal is accepted here.
    Payload("te_chunked_then_x",
            post("Transfer-Encoding: chunked", "Transfer-Encoding: x", body=TE_CL_BODY),
            501, UNSUPPORTED, or_400=True),
    Payload("te_htab_with_cl", post("Content-Length: 4", "Transfer-Encoding:\tchunked",
                                    body=TE_CL_BODY), 400, FRAMING),
    # HTAB is OWS: this one is plain chunked, and what follows its body is a request of its
    # own, without a key.
    Payload("te_htab", post("Transfer-Encoding:\tchunked", body=CL_TE_BODY), 200, then=(401,)),
    Payload("te_xchunked_with_cl", post("Transfer-Encoding: xchunked",
                                        f"Content-Length: {len(CL_TE_BODY)}",
                                        body=CL_TE_BODY), 400, FRAMING),
    Payload("te_xchunked", post("Transfer-Encoding: xchunked", body=TE_CL_BODY),
            501, UNSUPPORTED),
    Payload("te_identity_then_chunked_with_cl",
            post("Transfer-encoding: identity", "Transfer-Encoding: chunked", "Content-Length: 4",
                 body=TE_CL_BODY), 400, FRAMING),
    Payload("te_identity_then_chunked",
            post("Transfer-encoding: identity", "Transfer-Encoding: chunked", body=TE_CL_BODY),
            501, UNSUPPORTED),
    Payload("te_obs_fold_with_cl", post(f"Content-Length: {len(CL_TE_BODY)}", "X: y",
                                        " Transfer-Encoding: chunked", body=CL_TE_BODY),
            400, MALFORMED),
    Payload("te_obs_fold", post("X: y", " Transfer-Encoding: chunked", body=TE_CL_BODY),
            400, MALFORMED),
    Payload("cl_obs_fold", post("Content-Length:", f" {len(SMUGGLED)}", body=SMUGGLED),
            400, MALFORMED),
    # Two lengths: one parser takes the first, another the last.
    Payload("cl_0_then_n", post("Content-Length: 0", f"Content-Length: {len(SMUGGLED)}",
                                body=SMUGGLED), 400, FRAMING),
    Payload("cl_n_then_0", post(f"Content-Length: {len(SMUGGLED)}", "Content-Length: 0",
                                body=SMUGGLED), 400, FRAMING),
    Payload("cl_list", post(f"Content-Length: 0, {len(SMUGGLED)}", body=SMUGGLED),
            400, FRAMING),
    # Chunk sizes read differently: overflow (2^64 wraps to 0 in a naive parser), 0x.
    Payload("chunk_size_ffffffffffffffffff",
            post("Transfer-Encoding: chunked",
                 body=b"ffffffffffffffffff\r\n" + SMUGGLED + b"\r\n0\r\n\r\n"),
            400, MALFORMED, may_cut=True),
    Payload("chunk_size_2_pow_64", post("Transfer-Encoding: chunked",
                                        body=b"10000000000000000\r\n\r\n" + SMUGGLED),
            400, MALFORMED, may_cut=True),
    Payload("chunk_size_0x", post("Transfer-Encoding: chunked",
                                  body=f"0x{_hex(len(OX_HIDDEN))}\r\n".encode() + OX_HIDDEN
                                  + b"\r\n0\r\n\r\n"), 400, MALFORMED, may_cut=True),
    Payload("chunk_data_without_crlf", post("Transfer-Encoding: chunked",
                                            body=b"1\r\nA0\r\n\r\n" + SMUGGLED),
            400, MALFORMED, may_cut=True),
    # Bare LF: a CRLF-only parser sees one field where an LF parser sees two.
    Payload("bare_lf_hides_te", post(f"Content-Length: {len(CL_TE_BODY)}",
                                     "X: y\nTransfer-Encoding: chunked", body=CL_TE_BODY),
            400, MALFORMED),
    Payload("bare_lf_hides_cl", post("X: y\nContent-Length: 0",
                                     f"Content-Length: {len(SMUGGLED)}", body=SMUGGLED),
            400, MALFORMED),
    Payload("bare_lf_everywhere",
            (f"POST /v1/upload HTTP/1.1\nHost: gw\nAuthorization: Bearer {{key}}\n"
             f"Content-Length: {len(SMUGGLED)}\n\n").encode() + SMUGGLED, 400, MALFORMED),
]


@pytest.mark.parametrize("payload", PAYLOADS, ids=[p.name for p in PAYLOADS])
def test_smuggling_payload_reaches_the_upstream_as_nothing_more_than_admitted(
        gw, raw_upstream, payload):
    _, key = gw.new_account("free")
    ensure_window(4)
    ex = exchange(gw.port, with_key(payload.data, key), half_close=True, timeout=10)
    assert ex.closed, f"the gateway kept the connection open after the end of the stream: {ex}"
    admitted = FREE_API - api_remaining(gw, key)
    if payload.status == 200:
        assert ex.statuses == [200, *payload.then], ex.raw
        assert ex.responses[0].header("Date") and ex.responses[0].header("X-Request-ID"), ex.raw
        for later in ex.responses[1:]:
            assert later.header("Date") and later.header("X-Request-ID"), ex.raw
        assert admitted == 1, admitted
        (forwarded,) = assert_upstream_saw(raw_upstream, admitted)
        assert forwarded.values("Transfer-Encoding") == ["chunked"], forwarded
        assert forwarded.values("Content-Length") == [], forwarded
        return
    if payload.may_cut and not ex.responses:
        assert admitted in (0, 1), admitted
        assert_upstream_saw(raw_upstream, admitted, abandoned=True)
        return
    # Refused: one answer and the connection closed; nothing after it was read as a request.
    status, codes = payload.status, payload.codes
    if payload.or_400 and ex.statuses == [400]:
        status, codes = 400, FRAMING
    assert ex.statuses == [status], ex.raw
    assert_gateway_error(ex.responses[0], status, codes)
    if payload.may_cut:
        assert admitted in (0, 1), admitted
        assert_upstream_saw(raw_upstream, admitted, abandoned=True)
    else:
        assert admitted == 0, admitted
        assert_upstream_saw(raw_upstream, 0)
        assert raw_upstream.connections() == [], "the upstream was sent part of a refused request"


def test_well_formed_chunked_request_reaches_the_upstream_once_re_chunked(gw, raw_upstream):
    _, key = gw.new_account("free")
    ensure_window(3)
    first, second = bytes(range(256)), b"\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n"
    body = (f"{_hex(len(first))};ext=1\r\n".encode() + first + b"\r\n"
            + f"{_hex(len(second)).upper()}\r\n".encode() + second + b"\r\n"
            + b"0\r\nX-Trailer: t\r\n\r\n")
    ex = exchange(gw.port, with_key(post("Transfer-Encoding: chunked", body=body), key),
                  until=1)
    assert ex.statuses == [200], ex.raw
    assert ex.responses[0].as_response().int_header("X-RateLimit-Remaining") == FREE_API - 1
    (req,) = assert_upstream_saw(raw_upstream, 1)
    assert req.target == "/v1/upload"
    assert req.values("Transfer-Encoding") == ["chunked"], req.headers
    assert req.values("Content-Length") == [], req.headers
    assert req.body == first + second
    assert b"ext=1" not in req.raw and b"X-Trailer" not in req.raw, req.raw
    assert raw_upstream.requests()[0].body == first + second


def test_content_length_request_reaches_the_upstream_once_with_a_canonical_length(
        gw, raw_upstream):
    _, key = gw.new_account("free")
    ensure_window(3)
    body = b"\x00\r\n\r\n\xff"  # 6 bytes, with what looks like the end of a head
    ex = exchange(gw.port, with_key(post("Content-Length: 006", body=body), key), until=1)
    assert ex.statuses == [200], ex.raw
    (req,) = assert_upstream_saw(raw_upstream, 1)
    assert req.values("Content-Length") == ["6"], req.headers
    assert req.values("Transfer-Encoding") == [], req.headers
    assert req.body == body
    assert raw_upstream.requests()[0].body == body


def test_pipelined_pair_reaches_the_upstream_as_exactly_two_requests(gw, raw_upstream):
    _, key = gw.new_account("free")
    ensure_window(3)
    data = (post("Content-Length: 5", body=b"hello", target="/v1/first")
            + request_bytes("GET", "/v1/second", ["X-API-Key: {key}"]))
    ex = exchange(gw.port, with_key(data, key), half_close=True, timeout=10)
    assert ex.statuses == [200, 200], ex.raw
    assert [r.json()["target"] for r in ex.responses] == ["/v1/first", "/v1/second"]
    assert FREE_API - api_remaining(gw, key) == 2
    assert_upstream_saw(raw_upstream, 2)
    # In arrival order (the two may travel on different upstream connections).
    assert [(r.method, r.target, r.body) for r in raw_upstream.requests()] == [
        ("POST", "/v1/first", b"hello"), ("GET", "/v1/second", b"")]


# --------------------------------------------------------------------------------------
# Framing rules one by one: refused with one answer, then the connection closes


@dataclass(frozen=True)
class Refusal:
    name: str
    data: bytes
    status: int | dict[int, tuple[str, ...]]  # a dict: any of these statuses, with its codes
    codes: tuple[str, ...] | dict[int, tuple[str, ...]]
    mid_body: bool = False  # found in the body: the gateway may have started forwarding


def refused(name, lines, body=b"", status=400, codes=FRAMING, mid_body=False, **kw):
    return Refusal(name, post(*lines, body=body, **kw), status, codes, mid_body)


CHUNKED = "Transfer-Encoding: chunked"
CHUNKED_NOT_LAST = {400: FRAMING, 501: UNSUPPORTED}
REFUSALS = [
    refused("cl_and_te", ["Content-Length: 5", CHUNKED], b"0\r\n\r\n"),
    refused("te_and_cl", [CHUNKED, "Content-Length: 5"], b"0\r\n\r\n"),
    refused("xchunked_and_cl", ["Transfer-Encoding: xchunked", "Content-Length: 5"], b"hello"),
    refused("identity_and_cl", ["Transfer-Encoding: identity", "Content-Length: 5"], b"hello"),
    refused("cl_twice_same", ["Content-Length: 5", "Content-Length: 5"], b"hello"),
    refused("cl_twice_different", ["Content-Length: 5", "Content-Length: 6"], b"hello!"),
    refused("cl_list", ["Content-Length: 5, 5"], b"hello"),
    refused("cl_plus", ["Content-Length: +5"], b"hello"),
    refused("cl_space_inside", ["Content-Length: 5 5"], b"hello"),
    refused("cl_hex", ["Content-Length: 0x5"], b"hello"),
    refused("cl_letters", ["Content-Length: abc"], b"hello"),
    refused("cl_negative", ["Content-Length: -1"]),
    refused("cl_empty", ["Content-Length: "]),
    refused("cl_2_pow_64", ["Content-Length: 18446744073709551616"], b"hello"),
    refused("cl_huge", ["Content-Length: 99999999999999999999999999"], b"hello"),
    refused("te_identity", ["Transfer-Encoding: identity"], b"hello",
            status=501, codes=UNSUPPORTED),
    refused("te_xchunked", ["Transfer-Encoding: xchunked"], b"0\r\n\r\n",
            status=501, codes=UNSUPPORTED),
    refused("te_gzip_chunked", ["Transfer-Encoding: gzip, chunked"], b"0\r\n\r\n",
            status=501, codes=UNSUPPORTED),
    refused("te_chunked_with_parameter", ["Transfer-Encoding: chunked;ext=1"], b"0\r\n\r\n",
            status=501, codes=UNSUPPORTED),
    refused("te_identity_line_then_chunked_line",
            ["Transfer-Encoding: identity", CHUNKED], b"0\r\n\r\n",
            status=501, codes=UNSUPPORTED),
    # Chunked not last: 400 per RFC 9112 §6.3, 501 per the unknown-coding rule; either.
    refused("te_chunked_then_gzip", ["Transfer-Encoding: chunked, gzip"], b"0\r\n\r\n",
            status=CHUNKED_NOT_LAST, codes=CHUNKED_NOT_LAST),
    refused("te_chunked_line_then_gzip_line", [CHUNKED, "Transfer-Encoding: gzip"],
            b"0\r\n\r\n", status=CHUNKED_NOT_LAST, codes=CHUNKED_NOT_LAST),
    refused("te_chunked_twice_in_a_list", ["Transfer-Encoding: chunked, chunked"],
            b"0\r\n\r\n"),
    refused("te_chunked_on_two_lines", [CHUNKED, CHUNKED], b"0\r\n\r\n"),
    refused("te_empty", ["Transfer-Encoding: "], b"0\r\n\r\n", codes=MALFORMED),
    Refusal("te_in_http_1_0",
            request_bytes("POST", "/v1/upload", ["Authorization: Bearer {key}", CHUNKED],
                          b"0\r\n\r\n", version="HTTP/1.0"), 400, FRAMING),
    refused("obs_fold", ["X-A: a", " b", "Content-Length: 0"], codes=MALFORMED),
    refused("obs_fold_htab", ["X-A: a", "\tb"], codes=MALFORMED),
    Refusal("bare_lf_request_line",
            b"POST /v1/upload HTTP/1.1\nHost: gw\r\nAuthorization: Bearer {key}\r\n"
            b"Content-Length: 0\r\n\r\n", 400, MALFORMED),
    refused("bare_lf_in_headers", ["X-A: a\nX-B: b", "Content-Length: 0"], codes=MALFORMED),
    refused("bare_lf_ends_the_head", ["Content-Length: 0\n"], codes=MALFORMED),
    refused("space_before_colon", ["Content-Length : 0"], codes=MALFORMED),
    refused("space_before_colon_other_field", ["X-A : a", "Content-Length: 0"],
            codes=MALFORMED),
    refused("htab_before_colon", ["X-A\t: a", "Content-Length: 0"], codes=MALFORMED),
    refused("nul_in_value", ["X-A: a\x00b", "Content-Length: 0"], codes=MALFORMED),
    refused("cr_in_value", ["X-A: a\rb", "Content-Length: 0"], codes=MALFORMED),
    refused("chunk_size_overflow", [CHUNKED], b"ffffffffffffffffff\r\nx\r\n0\r\n\r\n",
            codes=MALFORMED, mid_body=True),
    refused("chunk_size_bad_hex", [CHUNKED], b"zz\r\nx\r\n0\r\n\r\n",
            codes=MALFORMED, mid_body=True),
    refused("chunk_size_0x", [CHUNKED], b"0x5\r\nhello\r\n0\r\n\r\n",
            codes=MALFORMED, mid_body=True),
    refused("chunk_without_crlf", [CHUNKED], b"5\r\nhelloXX0\r\n\r\n",
            codes=MALFORMED, mid_body=True),
    refused("chunk_data_then_bare_lf", [CHUNKED], b"5\r\nhello\n0\r\n\r\n",
            codes=MALFORMED, mid_body=True),
]


def assert_refused_and_closed(gw, raw: RawUpstream, key: str, data: bytes, status, codes,
                              mid_body: bool = False) -> None:
    ensure_window(4)
    ex = exchange(gw.port, with_key(data, key), timeout=5)
    admitted = FREE_API - api_remaining(gw, key)
    if mid_body and not ex.responses and ex.closed:
        assert admitted in (0, 1), admitted  # cut after forwarding had begun
        assert_upstream_saw(raw, admitted, abandoned=True)
        return
    if isinstance(status, dict):
        assert len(ex.responses) == 1 and ex.statuses[0] in status, ex.raw
        status, codes = ex.statuses[0], status[ex.statuses[0]]
    assert ex.statuses == [status], ex.raw
    assert_gateway_error(ex.responses[0], status, codes)
    assert ex.closed, "the connection stayed open after the refusal"
    if mid_body:
        assert admitted in (0, 1), admitted
        assert_upstream_saw(raw, admitted, abandoned=True)
    else:
        assert admitted == 0, admitted
        assert raw.connections() == [], raw.connections()


@pytest.mark.parametrize("case", REFUSALS, ids=[c.name for c in REFUSALS])
def test_framing_is_refused_and_the_connection_closes(gw, raw_upstream, case):
    _, key = gw.new_account("free")
    assert_refused_and_closed(gw, raw_upstream, key, case.data, case.status, case.codes,
                              case.mid_body)


ACCEPTED = [
    ("cl_5", ["Content-Length: 5"], b"hello", "5"),
    ("cl_leading_zeros", ["Content-Length: 007"], b"abc\r\nde", "7"),
    ("cl_0", ["Content-Length: 0"], b"", "0"),
    ("te_chunked", [CHUNKED], b"5\r\nhello\r\n0\r\n\r\n", "chunked"),
    ("te_upper_case", ["Transfer-Encoding: CHUNKED"], b"5\r\nhello\r\n0\r\n\r\n", "chunked"),
    ("te_ows_and_empty_elements", ["Transfer-Encoding: , chunked ,"],
     b"5\r\nhello\r\n0\r\n\r\n", "chunked"),
    ("te_htab", ["Transfer-Encoding:\tchunked\t"], b"5\r\nhello\r\n0\r\n\r\n", "chunked"),
    ("te_chunk_extension_and_trailer", [CHUNKED],
     b"5;a=b;c\r\nhello\r\n0;z\r\nX-Trailer: t\r\n\r\n", "chunked"),
]


@pytest.mark.parametrize("lines,body,framing", [c[1:] for c in ACCEPTED],
                         ids=[c[0] for c in ACCEPTED])
def test_accepted_framing_is_forwarded_canonically(gw, raw_upstream, lines, body, framing):
    _, key = gw.new_account("free")
    ensure_window(3)
    ex = exchange(gw.port, with_key(post(*lines, body=body), key), until=1)
    assert ex.statuses == [200], ex.raw
    (req,) = assert_upstream_saw(raw_upstream, 1)
    want_body = b"hello" if framing == "chunked" else body
    assert req.body == want_body, req
    if framing == "chunked":
        assert req.values("Transfer-Encoding") == ["chunked"], req.headers
        assert req.values("Content-Length") == [], req.headers
        assert b"X-Trailer" not in req.raw and b";" not in req.raw.split(b"\r\n\r\n", 1)[1]
    else:
        assert req.values("Content-Length") == [framing], req.headers
        assert req.values("Transfer-Encoding") == [], req.headers
    assert FREE_API - api_remaining(gw, key) == 1


# --------------------------------------------------------------------------------------
# Host (RFC 9112 §3.2) and field names that alias managed fields


def keyed_get(lines, host: str | None = "gw") -> bytes:
    return request_bytes("GET", "/v1/host", ["Authorization: Bearer {key}", *lines], host=host)


BAD_HOSTS = [
    ("no_host", keyed_get([], host=None)),
    ("two_host_lines", keyed_get(["Host: gw"])),
    ("two_host_lines_different", keyed_get(["Host: other"])),
    ("host_list", keyed_get([], host="a, b")),
    ("host_with_space", keyed_get([], host="a b")),
    ("host_empty", keyed_get([], host="")),
    ("host_userinfo", keyed_get([], host="user@h")),
    ("host_port_too_big", keyed_get([], host="h:99999")),
]


@pytest.mark.parametrize("data", [c[1] for c in BAD_HOSTS], ids=[c[0] for c in BAD_HOSTS])
def test_invalid_host_is_400(gw, raw_upstream, data):
    _, key = gw.new_account("free")
    assert_refused_and_closed(gw, raw_upstream, key, data, 400, ("invalid_host",))


@pytest.mark.parametrize("host", ["gw", "Example.COM:8080", "127.0.0.1", "[::1]:8443"])
def test_one_valid_host_is_forwarded_once_first_and_unchanged(gw, raw_upstream, host):
    _, key = gw.new_account("free")
    ex = exchange(gw.port, with_key(keyed_get(["X-After: 1"], host=host), key), until=1)
    assert ex.statuses == [200], ex.raw
    (req,) = assert_upstream_saw(raw_upstream, 1)
    assert req.headers[0][0].lower() == "host" and req.headers[0][1] == host, req.headers
    assert req.values("Host") == [host], req.headers


ALIASES = ["X_API_Key: {key}", "x_api_key: sk_live_other", "X-API_Key: x",
           "Content_Length: 5", "Transfer_Encoding: chunked", "X_Forwarded_For: 203.0.113.9",
           "X-Forwarded_Proto: https", "X_Request_ID: req_forged", "x_request_id: abc"]


@pytest.mark.parametrize("line", ALIASES, ids=[a.split(":")[0] for a in ALIASES])
def test_underscore_alias_of_a_managed_field_is_400(gw, raw_upstream, line):
    _, key = gw.new_account("free")
    assert_refused_and_closed(gw, raw_upstream, key, keyed_get([line]), 400,
                              ("ambiguous_header",))


def test_other_underscore_names_pass_through(gw, raw_upstream):
    _, key = gw.new_account("free")
    ex = exchange(gw.port, with_key(keyed_get(["X_Custom: kept", "Accept_Language: de"]), key),
                  until=1)
    assert ex.statuses == [200], ex.raw
    (req,) = assert_upstream_saw(raw_upstream, 1)
    assert req.values("X_Custom") == ["kept"], req.headers
    assert req.values("Accept_Language") == ["de"], req.headers
