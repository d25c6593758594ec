"""The mock Kallglot API (`kallglot-gateway mock-upstream`) that the other tests rely on."""

import hashlib
import time

from helpers import Client


def test_echo_describes_the_request(mock):
    c = Client("127.0.0.1", mock.port)
    r = c.request("POST", "/v1/anything?a=1", body=b"hello",
                  headers={"X-Test": "one", "Content-Type": "text/plain"}, use_key=False)
    assert r.status == 200
    j = r.json()
    assert j["ok"] is True
    assert (j["method"], j["path"], j["query"]) == ("POST", "/v1/anything", "a=1")
    assert j["body_bytes"] == 5
    assert j["body_sha256"] == hashlib.sha256(b"hello").hexdigest()
    assert j["headers"]["x-test"] == "one"
    assert j["headers"]["content-type"] == "text/plain"


def test_sessions(mock):
    c = Client("127.0.0.1", mock.port)
    r = c.post("/v1/sessions", body=b'{"source_language":"en"}', use_key=False)
    assert r.status == 201
    s = r.json()
    assert s["id"].startswith("sess_") and s["object"] == "session" and s["status"] == "active"
    assert s["stream"]["url"].endswith(f"/v1/sessions/{s['id']}/connect")
    assert s["stream"]["token"].startswith("kst_")
    r = c.get(f"/v1/sessions/{s['id']}", use_key=False)
    assert r.status == 200 and r.json()["status"] == "active"
    r = c.post(f"/v1/sessions/{s['id']}/end", use_key=False)
    assert r.status == 200
    assert (r.json()["id"], r.json()["status"]) == (s["id"], "ended")
    assert c.get(f"/v1/sessions/{s['id']}", use_key=False).json()["status"] == "ended"
    r = c.post("/v1/sessions", use_key=False, headers={"X-Mock-Omit-Id": "1"})
    assert r.status == 201 and "id" not in r.json()


def test_controls_and_stats(mock):
    c = Client("127.0.0.1", mock.port)
    assert c.get("/v1/s", headers={"X-Mock-Status": "503"}, use_key=False).status == 503
    r = c.post("/v1/sessions", headers={"X-Mock-Status": "500"}, use_key=False)
    assert r.status == 500 and "id" not in r.json()
    t0 = time.monotonic()
    assert c.get("/v1/s", headers={"X-Mock-Delay-Ms": "200"}, use_key=False).status == 200
    assert time.monotonic() - t0 >= 0.19
    r = c.get("/v1/big", headers={"X-Mock-Body-Bytes": "100000"}, use_key=False)
    assert len(r.body) == 100000 and r.body[:3] == b"abc" and r.body[26:29] == b"abc"
    stats = mock.stats()
    assert stats["requests"] == 4
    assert stats["by_path"] == {"/v1/s": 2, "/v1/sessions": 1, "/v1/big": 1}
    mock.reset()
    assert mock.stats()["requests"] == 0
