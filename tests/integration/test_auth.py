"""SPEC §4 Identity: API keys from `Authorization: Bearer` or `X-API-Key`; missing, unknown
and revoked keys get 401 `invalid_api_key`; X-Request-ID on every response, propagated."""

import re

from helpers import assert_admitted, assert_error_shape, ensure_window


def test_missing_key_is_401(gateway, mock):
    r = gateway.client().get("/v1/things")
    assert_error_shape(r, 401, "invalid_api_key")
    assert mock.count("/v1/things") == 0


def test_unknown_key_is_401(gateway, mock):
    c = gateway.client()
    for key in ("sk_live_doesnotexist0000000000", "sk_test_doesnotexist0000000000", "garbage"):
        r = c.get("/v1/things", key=key)
        assert_error_shape(r, 401, "invalid_api_key")
        r = c.get("/v1/things", headers={"X-API-Key": key}, use_key=False)
        assert_error_shape(r, 401, "invalid_api_key")
    assert mock.count("/v1/things") == 0


def test_malformed_authorization_is_401(gateway):
    _, key = gateway.new_account("free")
    c = gateway.client()
    for value in (key, f"Basic {key}", "Bearer", "Bearer "):
        r = c.get("/v1/things", headers={"Authorization": value}, use_key=False)
        assert_error_shape(r, 401, "invalid_api_key")


def test_revoked_key_is_401_on_the_next_request(gateway, mock):
    account, _ = gateway.new_account("free")
    key_id, key = gateway.admin.create_key(account, "live")
    c = gateway.client(key)
    assert c.get("/v1/things").status == 200
    gateway.admin.revoke_key(key_id)
    r = c.get("/v1/things")
    assert_error_shape(r, 401, "invalid_api_key")
    assert mock.count("/v1/things") == 1


def test_bearer_and_x_api_key_both_work_and_share_counters(gateway, mock):
    _, key = gateway.new_account("free")
    ensure_window(3)
    r1 = gateway.client(key, key_header="authorization").get("/v1/things")
    r2 = gateway.client(key, key_header="x-api-key").get("/v1/things")
    assert_admitted(r1, 60, 59, "api")
    assert_admitted(r2, 60, 58, "api")
    assert mock.count("/v1/things") == 2


def test_request_id_generated_on_every_response_and_sent_upstream(gateway):
    _, key = gateway.new_account("free", overrides={"api_requests_per_minute": 1})
    c = gateway.client(key)
    ensure_window(3)
    ok = c.get("/v1/things")
    assert ok.status == 200, ok
    rid = ok.header("X-Request-ID")
    assert rid and rid.startswith("req_"), ok
    assert ok.json()["headers"]["x-request-id"] == rid

    limited = c.get("/v1/things")
    assert limited.status == 429, limited
    unauth = c.get("/v1/things", use_key=False)
    assert unauth.status == 401
    ids = {rid}
    for r in (limited, unauth):
        assert r.header("X-Request-ID"), r
        assert r.header("X-Request-ID").startswith("req_"), r
        ids.add(r.header("X-Request-ID"))
    assert len(ids) == 3, "request ids must be unique per request"


def test_client_request_id_is_kept_and_propagated(gateway):
    _, key = gateway.new_account("free")
    c = gateway.client(key)
    r = c.get("/v1/things", headers={"X-Request-ID": "client-abc-123"})
    assert r.status == 200, r
    assert r.header("X-Request-ID") == "client-abc-123"
    assert r.json()["headers"]["x-request-id"] == "client-abc-123"
    r = c.get("/v1/things", use_key=False, headers={"X-Request-ID": "client-def-456"})
    assert r.status == 401
    assert r.header("X-Request-ID") == "client-def-456"
    assert r.json()["error"]["request_id"] == "client-def-456"


def test_key_is_shown_once_and_stored_hashed(gateway, tmp_path):
    account, key = gateway.new_account("free")
    assert re.fullmatch(r"sk_live_[A-Za-z0-9_]+", key), key
    # The account store must not contain the key in clear text (SPEC §6: SHA-256 hashes only).
    for f in tmp_path.glob("accounts.db*"):
        assert key.encode() not in f.read_bytes(), f"{f} contains the clear-text key"
    r = gateway.admin.request("GET", f"/admin/v1/accounts/{account}")
    assert r.status == 200, r
    assert key not in r.body.decode()
