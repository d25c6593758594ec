// libFuzzer target over the request-head path (HttpConnection::run -> handle -> forward):
// the framing invariant of request_validation.h / upstream_request_head.h,
//
//   what the gateway forwards re-parses to exactly the request that was checked.
//
// The input is the bytes a client sends on one connection. Each request in them goes
// through the same steps as in the proxy: feed_head() into the proxy's parser type (with
// the obs-fold observer), validate_request_head(), the Content-Length limit,
// normalize_target(), presented_credential(), write_upstream_request_head(), then the body
// pumped through the parser into a buffer_body and re-framed as relay_message() does. What
// a request forwards is then parsed again by a fresh Beast parser (plus a byte-level check
// of the head's syntax that is stricter than Beast) and checked once more by
// validate_request_head(); anything that differs from what the gateway checked traps.
// Refused inputs only have to not crash (ASan/UBSan watch them).
//
// Policy and the stores are out of scope: every presented key is taken to be a known
// caller's (forwarded as `{key, via_authorization}`), a request without a credential is
// forwarded as an anonymous caller's (no credential), and malformed or conflicting
// credentials are refused. The upstream answers every request with keep-alive, so the next
// request on the connection is handled while the client asked to keep it open (at most
// kMaxRequests). WebSocket upgrades leave this path (relay_stream) and are not followed.
#include <algorithm>
#include <boost/beast/websocket/rfc6455.hpp>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/beast.h"
#include "policy/request_target.h"
#include "proxy/credentials.h"
#include "proxy/head_reader.h"
#include "proxy/head_writer.h"
#include "proxy/request_validation.h"
#include "proxy/upstream_request_head.h"

namespace {

using namespace gw::proxy;
using gw::policy::is_normal_target;
using gw::policy::normalize_target;
using namespace gw;  // the net/beast/http shortcuts of core/beast.h
using RequestParser = http::request_parser<http::buffer_body>;  // HttpConnection's

constexpr std::uint32_t kHeaderLimit = 16384;      // the harness's max_header_bytes
constexpr std::uint64_t kBodyLimit = 1024 * 1024;  // the harness's max_body_bytes
constexpr int kMaxRequests = 4;                    // per input (one connection)
constexpr std::string_view kClientIp = "192.0.2.7";
constexpr std::string_view kRequestId = "req_fuzz0123456789";

[[noreturn]] void fail(std::string_view what, std::string_view forwarded) {
  std::fprintf(stderr, "\n*** framing invariant broken: %.*s\n*** bytes (%zu):\n",
               static_cast<int>(what.size()), what.data(), forwarded.size());
  std::string shown;
  for (const char c : forwarded.substr(0, 4096)) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\r') {
      shown += "\\r";
    } else if (c == '\n') {
      shown += "\\n\n";
    } else if (u < 0x20 || u >= 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "\\x%02x", u);
      shown += hex;
    } else {
      shown += c;
    }
  }
  std::fprintf(stderr, "%s\n", shown.c_str());
  std::fflush(stderr);
  __builtin_trap();
}

// GW_FUZZ_TRACE=1 in the environment: one line per request on stderr saying how it ended
// (to check what a corpus reaches: `request_head_fuzzer -runs=0 corpus/`).
void trace(std::string_view what, std::string_view detail = {}) {
  static const bool on = std::getenv("GW_FUZZ_TRACE") != nullptr;
  if (on) {
    std::fprintf(stderr, "request: %.*s%s%.*s\n", static_cast<int>(what.size()), what.data(),
                 detail.empty() ? "" : ": ", static_cast<int>(detail.size()), detail.data());
  }
}

// The relay buffer size: RelayBuffers::kBytes (64 KiB) in the proxy, which no input here
// fills; smaller sizes, picked from the input so a run is reproducible, make the relay
// loop cut one client chunk into several forwarded ones (same loop, same code path).
std::size_t relay_buffer_size(const std::uint8_t* data, std::size_t size) {
  static constexpr std::size_t kSizes[] = {64 * 1024, 64 * 1024, 1, 2, 3, 5, 16, 100};
  std::uint32_t h = 2166136261u;
  for (std::size_t i = 0; i < size; ++i) h = (h ^ data[i]) * 16777619u;
  return kSizes[h % (sizeof(kSizes) / sizeof(kSizes[0]))];
}

// What the gateway checked and meant to forward for one request.
struct Checked {
  std::string method;
  std::string target;  // normalized
  std::string host;
  BodyFraming framing;
  std::string key;  // empty: no credential forwarded
  bool via_authorization = false;
  std::string body;  // the body bytes as the gateway's parser yielded them
};

bool is_tchar(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

// RFC 9112 syntax of a forwarded head, byte by byte, stricter than Beast (which a
// lenient upstream parser is not): every line ends in CRLF and holds no other CR or LF,
// a request line of exactly three SP-separated parts, field names are tokens, field
// values hold no CTL but HTAB and do not start a folded line, the head ends in CRLF CRLF.
void check_head_syntax(std::string_view head, std::string_view forwarded) {
  if (head.size() < 4 || head.substr(head.size() - 4) != "\r\n\r\n") {
    fail("forwarded head does not end with CRLF CRLF", forwarded);
  }
  std::size_t at = 0;
  bool first = true;
  while (at < head.size()) {
    const std::size_t lf = head.find('\n', at);
    if (lf == std::string_view::npos || lf == at || head[lf - 1] != '\r') {
      fail("forwarded head has a bare LF or a line without CRLF", forwarded);
    }
    const std::string_view line = head.substr(at, lf - 1 - at);
    at = lf + 1;
    if (line.find('\r') != std::string_view::npos) fail("forwarded head has a bare CR", forwarded);
    if (line.empty()) {
      if (at != head.size()) fail("forwarded head has an empty line before its end", forwarded);
      break;
    }
    if (first) {
      first = false;
      const std::size_t sp1 = line.find(' ');
      const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
      if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos ||
          sp1 == 0 || sp2 == sp1 + 1 || line.substr(sp2 + 1) != "HTTP/1.1") {
        fail("forwarded request line is not `method SP target SP HTTP/1.1`", forwarded);
      }
      for (const char c : line) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) fail("forwarded request line holds a CTL", forwarded);
      }
      continue;
    }
    if (line.front() == ' ' || line.front() == '\t') fail("forwarded head folds a line", forwarded);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      fail("forwarded field line without a name", forwarded);
    }
    for (std::size_t i = 0; i < colon; ++i) {
      if (!is_tchar(static_cast<unsigned char>(line[i]))) {
        fail("forwarded field name is not a token", forwarded);
      }
    }
    for (std::size_t i = colon + 1; i < line.size(); ++i) {
      const auto u = static_cast<unsigned char>(line[i]);
      if ((u < 0x20 && u != '\t') || u == 0x7f)
        fail("forwarded field value holds a CTL", forwarded);
    }
  }
}

// Re-parses what one request forwarded and traps unless it is exactly `checked`.
void verify_forwarded(const Checked& checked, std::string_view head_written,
                      std::string_view forwarded) {
  http::request_parser<http::string_body> rp;
  rp.header_limit(std::numeric_limits<std::uint32_t>::max());
  rp.body_limit(boost::none);
  rp.eager(false);
  beast::error_code ec;
  std::size_t used = rp.put(net::buffer(forwarded.data(), forwarded.size()), ec);
  if (!rp.is_header_done()) {
    fail("the forwarded head does not parse: " + ec.message(), forwarded);
  }
  if (ec) fail("the forwarded head parses with an error: " + ec.message(), forwarded);
  if (used != head_written.size()) {
    fail("the re-parsed head is not the head the gateway wrote", forwarded);
  }
  const std::string_view raw_head = forwarded.substr(0, used);
  check_head_syntax(raw_head, forwarded);

  rp.eager(true);
  while (!rp.is_done()) {
    if (used == forwarded.size()) fail("the forwarded body is incomplete", forwarded);
    const std::size_t n = rp.put(net::buffer(forwarded.data() + used, forwarded.size() - used), ec);
    used += n;
    if (ec == http::error::need_more) {
      if (used == forwarded.size()) fail("the forwarded body is incomplete", forwarded);
      if (n == 0) fail("the re-parse of the forwarded body makes no progress", forwarded);
      ec = {};
      continue;
    }
    if (ec) fail("the forwarded body does not parse: " + ec.message(), forwarded);
  }
  if (used != forwarded.size()) {
    fail("the forwarded bytes hold more than the one request (" + std::to_string(used) + " of " +
             std::to_string(forwarded.size()) + " bytes parsed)",
         forwarded);
  }

  const auto& req = rp.get();
  if (req.method_string() != checked.method) fail("the method differs", forwarded);
  if (req.target() != checked.target) fail("the target differs from the normalized one", forwarded);
  if (req.version() != 11) fail("the forwarded version is not HTTP/1.1", forwarded);
  if (rp.get().body() != checked.body) fail("the forwarded body differs", forwarded);

  int hosts = 0, lengths = 0, encodings = 0, credentials = 0, request_ids = 0, protos = 0,
      forwarded_fors = 0;
  std::string_view credential_line;
  bool credential_via_authorization = false;
  for (const auto& field : req) {
    switch (field.name()) {
      case http::field::host:
        ++hosts;
        if (field.value() != checked.host) fail("the Host value differs", forwarded);
        break;
      case http::field::content_length:
        ++lengths;
        break;
      case http::field::transfer_encoding:
        ++encodings;
        break;
      case http::field::authorization:
        ++credentials;
        credential_line = field.value();
        credential_via_authorization = true;
        break;
      case http::field::proxy_authorization:
        fail("Proxy-Authorization was forwarded", forwarded);
      default:
        if (beast::iequals(field.name_string(), "X-API-Key")) {
          ++credentials;
          credential_line = field.value();
          credential_via_authorization = false;
        } else if (beast::iequals(field.name_string(), "X-Request-ID")) {
          ++request_ids;
          if (field.value() != kRequestId) fail("X-Request-ID is not the gateway's", forwarded);
        } else if (beast::iequals(field.name_string(), "X-Forwarded-Proto")) {
          ++protos;
        } else if (beast::iequals(field.name_string(), "X-Forwarded-For")) {
          ++forwarded_fors;
          if (field.value() != kClientIp) fail("X-Forwarded-For is not the peer", forwarded);
        } else if (beast::iequals(field.name_string(), "X-Real-IP") ||
                   field.name() == http::field::forwarded) {
          fail("a client's claim of origin was forwarded", forwarded);
        }
        break;
    }
  }
  if (hosts != 1) fail("the forwarded request does not carry exactly one Host", forwarded);
  if (request_ids != 1 || protos != 1 || forwarded_fors != 1) {
    fail("X-Request-ID / X-Forwarded-Proto / X-Forwarded-For not written exactly once", forwarded);
  }
  switch (checked.framing.kind) {
    case BodyFraming::Kind::none:
      if (lengths != 0 || encodings != 0) fail("a request without a body is framed", forwarded);
      if (!checked.body.empty()) fail("a request without framing has a body", forwarded);
      break;
    case BodyFraming::Kind::length:
      if (lengths != 1 || encodings != 0) {
        fail("a Content-Length request is not framed by exactly one Content-Length", forwarded);
      }
      if (checked.body.size() != checked.framing.length) {
        fail("the body relayed is not Content-Length bytes", forwarded);
      }
      break;
    case BodyFraming::Kind::chunked:
      if (lengths != 0 || encodings != 1) {
        fail("a chunked request is not framed by exactly one Transfer-Encoding", forwarded);
      }
      break;
  }
  if (checked.key.empty()) {
    if (credentials != 0) fail("a credential was forwarded that was not charged", forwarded);
  } else {
    if (credentials != 1) fail("not exactly one credential line was forwarded", forwarded);
    if (credential_via_authorization != checked.via_authorization) {
      fail("the credential moved to the other header", forwarded);
    }
    const std::string expected = checked.via_authorization ? "Bearer " + checked.key : checked.key;
    if (credential_line != expected)
      fail("the forwarded credential is not the charged key", forwarded);
    const PresentedCredential again = presented_credential(req);
    if (again.kind != PresentedCredential::Kind::key || again.key != checked.key) {
      fail("the forwarded credential reads as another key", forwarded);
    }
  }

  const auto revalidated = validate_request_head(req, has_obs_fold(raw_head));
  if (!revalidated) {
    fail("the forwarded head is refused by validate_request_head: " +
             std::string(revalidated.error().message),
         forwarded);
  }
  if (revalidated->framing.kind != checked.framing.kind ||
      revalidated->framing.length != checked.framing.length) {
    fail("the forwarded head validates with another framing", forwarded);
  }
  if (revalidated->host != checked.host)
    fail("the forwarded head validates with another Host", forwarded);
  if (rp.chunked() != (checked.framing.kind == BodyFraming::Kind::chunked)) {
    fail("Beast reads the forwarded framing as another kind", forwarded);
  }
  // A gateway in front of the gateway would forward the same target (normalization is
  // idempotent) and match the same route.
  const auto renormalized = normalize_target(req.target());
  if (!renormalized || *renormalized != checked.target) {
    fail("the forwarded target does not normalize to itself", forwarded);
  }
}

// One request of the connection, as HttpConnection::run and handle take it. Returns
// whether the connection goes on to a next request.
bool one_request(beast::flat_buffer& buffer, std::size_t relay_size) {
  RequestParser parser;
  parser.header_limit(kHeaderLimit);
  parser.body_limit(kBodyLimit);
  beast::error_code ec;
  bool folded = false;
  std::string raw_head;  // for messages only
  const auto inspect = [&](std::string_view head) {
    folded = has_obs_fold(head);
    raw_head = head;
  };
  // The whole input is in the buffer: need_more here is a head that never completes.
  if (feed_head(buffer, parser, ec, inspect) != HeadProgress::done) {
    return trace(ec ? "refused by the parser" : "head incomplete", ec.message()), false;
  }
  if (ec) {  // header_limit, body_limit, framing or syntax error: answered, closed
    return trace("refused by the parser", ec.message()), false;
  }

  auto& req = parser.get();
  auto checked_head = validate_request_head(req, folded);
  if (!checked_head) {  // refused, closed
    return trace("refused by validate_request_head", checked_head.error().code), false;
  }
  if (auto length = parser.content_length(); length && *length > kBodyLimit) {
    return trace("refused: body too large"), false;
  }

  // The parser that relays the body must frame it as the validation did: the head the
  // gateway writes follows the one, the body it relays follows the other.
  const BodyFraming framing = checked_head->framing;
  const bool parser_agrees =
      framing.kind == BodyFraming::Kind::chunked ? parser.chunked() && !parser.content_length()
      : framing.kind == BodyFraming::Kind::length
          ? !parser.chunked() && parser.content_length() == framing.length
          : !parser.chunked() && !parser.content_length() && parser.is_done();
  if (!parser_agrees) {
    std::string what = "the client's parser frames the body unlike validate_request_head (";
    what += parser.chunked() ? "parser: chunked" : "parser: not chunked";
    what += parser.content_length() ? ", length " + std::to_string(*parser.content_length()) : "";
    what += ")";
    fail(what, raw_head);
  }

  // The target as matched and forwarded.
  const std::string original_target(req.target());
  if (is_normal_target(original_target)) {
    const auto same = normalize_target(original_target);
    if (!same || *same != original_target) {
      fail("is_normal_target() holds but normalize_target() changes the target", original_target);
    }
  } else {
    std::optional<std::string> target = normalize_target(original_target);
    if (!target) return trace("refused by normalize_target", original_target), false;
    if (*target != req.target()) req.target(*target);
  }

  if (boost::beast::websocket::is_upgrade(req)) {
    return trace("WebSocket upgrade (relay_stream or refused)"), false;
  }

  const PresentedCredential credential = presented_credential(req);
  if (credential.kind == PresentedCredential::Kind::conflicting ||
      credential.kind == PresentedCredential::Kind::malformed) {
    return trace("refused: conflicting or malformed credential"), false;  // malformed: unknown key
  }
  UpstreamRequest upstream;
  upstream.host = checked_head->host;
  upstream.framing = framing;
  if (credential.kind == PresentedCredential::Kind::key) {
    upstream.credential = ForwardedCredential{credential.key, credential.via_authorization};
  } else {
    upstream.credential = ForwardedCredential{};
  }
  upstream.forwarded_for = kClientIp;  // an untrusted peer: its own claims are dropped
  upstream.request_id = kRequestId;

  Checked checked;
  checked.method = std::string(req.method_string());
  checked.target = std::string(req.target());
  checked.host = std::string(checked_head->host);
  checked.framing = framing;
  checked.key = std::string(upstream.credential.key);
  checked.via_authorization = upstream.credential.via_authorization;
  const bool keep_alive = parser.keep_alive();

  HeadBuffer head;
  write_upstream_request_head(req, upstream, head);

  // The body, as HttpConnection::relay_message pumps and re-frames it (mirrored here: the
  // socket reads become "no more input", the writes an append to `forwarded`).
  std::string forwarded(head.data(), head.size());
  const bool chunked = framing.kind == BodyFraming::Kind::chunked;
  std::vector<char> chunk(relay_size);
  auto& body = parser.get().body();
  int stalled = 0;
  for (;;) {
    std::size_t bytes = 0;
    const std::size_t buffered = buffer.size();
    if (!parser.is_done()) {
      body.data = chunk.data();
      body.size = chunk.size();
      if (feed_body(buffer, parser, ec) && !ec && body.size == chunk.size()) {
        return trace("body incomplete"), false;  // the relay would wait for more
      }
      if (ec) return trace("body refused by the parser", ec.message()), false;  // closes
      bytes = chunk.size() - body.size;
    }
    const bool last = parser.is_done();
    if (bytes == 0 && !last) {
      // relay_message loops here; a loop that consumes nothing would never end.
      if (buffer.size() == buffered && ++stalled > 16) {
        fail("relay_message would spin: the parser takes nothing and yields nothing",
             std::string_view(static_cast<const char*>(buffer.data().data()), buffer.size()));
      }
      continue;
    }
    stalled = 0;
    if (bytes > 0) {
      if (chunked) {
        char size_line[20];
        auto [end, tc] = std::to_chars(size_line, size_line + 16, bytes, 16);
        (void)tc;
        end[0] = '\r';
        end[1] = '\n';
        forwarded.append(size_line, static_cast<std::size_t>(end + 2 - size_line));
      }
      forwarded.append(chunk.data(), bytes);
      if (chunked) forwarded += "\r\n";
      checked.body.append(chunk.data(), bytes);
    }
    if (last && chunked) forwarded += "0\r\n\r\n";
    if (last) break;
  }

  verify_forwarded(checked, std::string_view(head.data(), head.size()), forwarded);
  trace("forwarded and verified", checked.method + " " + checked.target + " (" +
                                      std::to_string(forwarded.size()) + " bytes)");
  return keep_alive;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  beast::flat_buffer buffer;
  buffer.commit(net::buffer_copy(buffer.prepare(size), net::buffer(data, size)));
  const std::size_t relay_size = relay_buffer_size(data, size);
  for (int i = 0; i < kMaxRequests && buffer.size() > 0; ++i) {
    if (!one_request(buffer, relay_size)) break;
  }
  return 0;
}
