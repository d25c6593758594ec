// A mock of the Kallglot API (SPEC §2 `mock-upstream`), for integration tests, the demo and
// the benchmarks. It answers every request with JSON describing what it received, so a test
// can see exactly what reached the upstream through the gateway:
//
//   any request        200 {"ok":true,"method","path","query","body_bytes","body_sha256",
//                           "headers":{lowercased name: value}}   (repeated headers joined ", ")
//   POST /v1/sessions              201 session {"id":"sess_…","object":"session",
//                                      "status":"active","stream":{"url","token"}} + echo fields
//   POST /v1/sessions/{id}/end     200 {"id","object":"session","status":"ended"} + echo fields
//   GET  /v1/sessions/{id}         200 {"id","object":"session","status"} + echo fields
//   GET  /v1/sessions/{id}/connect with a WebSocket Upgrade: a session stream (below)
//   GET  /__mock/stats             {"requests","by_path":{path:n},"body_bytes",
//                                   "connections_total","connections_active",
//                                   "ws_connections_total","ws_connections_active",
//                                   "ws_messages","ws_bytes" (data messages received),
//                                   "ws_messages_sent","ws_bytes_sent",
//                                   "ws_close_codes":{"code":n} (close frames clients sent),
//                                   "ws_last_close":{"code","reason"}|null}
//   POST /__mock/reset             zeroes the stats (not the *_active gauges)
//
// Session streams. The upgrade needs a stream token, query `token=kst_…` or
// `Authorization: Bearer kst_…` (any kst_ value); without one the answer is 401 and no
// upgrade. The upgrade request counts in "requests"/"by_path" like any other. Query
// parameters of the connect URL:
//   mode=echo                 every data message is sent back (same opcode, same bytes)
//   (default)                 data messages are only counted
//   mode=flood&bytes=N        N bytes of binary messages (64 KiB each, byte i of each is
//                             'a' + i % 26) are sent right after the handshake
//   close_after_ms=N          the mock closes with 4001 "mock closing" after N ms
//   hash=0                    no SHA-256 of the data (benchmarks); "sha256" is then "off"
// In every mode, a text message {"type":"ping"[,"id":X]} is answered {"type":"pong"[,"id":X]}
// and {"type":"stats"} is answered {"type":"stats","messages":N,"bytes":B,"sha256":"<hex>"}
// over the data messages received on this stream so far (SHA-256 of their payloads
// concatenated; ping/stats requests excluded) — the upstream's view of a relay. A client's
// close is answered with the same code. permessage-deflate is off, messages are sent
// unfragmented, and messages up to 64 MiB are accepted (reassembled from fragments). When
// more than 4 MiB of echoes wait for a client that does not read, the mock stops reading.
//
// Test controls (request headers): `X-Mock-Status: N` answers with status N (200..599);
// `X-Mock-Delay-Ms: N` answers after N ms (async timer); `X-Mock-Body-Bytes: N` answers
// with an N-byte body streamed from a fixed buffer (byte i is 'a' + i % 26,
// application/octet-stream) instead of JSON; `X-Mock-Omit-Id: 1` makes POST /v1/sessions
// answer without an "id". /__mock/* requests are never counted in the stats.
//
// Request bodies are never buffered: they are counted and hashed (SHA-256) as they arrive,
// so uploads of any size use constant memory. Connections are kept alive (HTTP/1.1). Bytes
// >= 0x80 in what is echoed are read as Latin-1, so every JSON answer is valid UTF-8.
//
// The pieces: http_session.h (a connection), api_routes.h (the answers and the fake
// sessions), stream_session.h (session streams), mock_stats.h, bodies.h (body types).
//
// Thread safety: the io_context may be run by any number of threads; each connection runs on
// its own strand. listen() and stop() may be called from any thread. Nothing here throws.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/result.h"

namespace gw::mock {

struct MockState;

class MockUpstream {
 public:
  // Borrows `ioc`, which must outlive this object and every connection it accepted.
  explicit MockUpstream(boost::asio::io_context& ioc);
  ~MockUpstream();
  MockUpstream(const MockUpstream&) = delete;
  MockUpstream& operator=(const MockUpstream&) = delete;

  // Binds `host` (an address, IPv6 without brackets, or a name) and `port` (0 = ephemeral)
  // and starts accepting. Returns the bound port, or a message. May be called more than
  // once (one acceptor per call).
  core::Result<std::uint16_t, std::string> listen(const std::string& host, std::uint16_t port);

  // Closes the acceptors. Open connections end when the io_context stops (the command and
  // the demo stop it right after). Idempotent.
  void stop();

 private:
  boost::asio::io_context& ioc_;
  std::shared_ptr<MockState> state_;
  std::mutex mu_;
  std::vector<std::shared_ptr<boost::asio::ip::tcp::acceptor>> acceptors_;  // guarded by mu_
};

// `kallglot-gateway mock-upstream`: runs a MockUpstream on `listen_addr` ("host:port",
// "[v6]:port", or a bare port for 127.0.0.1) with `threads` threads until SIGINT or
// SIGTERM. Prints "mock-upstream listening on HOST:PORT" (flushed) once bound. Returns the
// process exit code: 0 after a signal, 1 if the address is invalid or could not be bound.
int run_mock_upstream(const std::string& listen_addr, int threads);

}  // namespace gw::mock
