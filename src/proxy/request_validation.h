// What a request head must be before the gateway acts on it, beyond what Beast's parser
// already refuses. The upstream trusts the gateway: it must only ever see the one request
// the gateway authenticated and counted, so every head that two parsers could read two
// ways is refused here, and what is forwarded is re-framed from these facts (see
// upstream_request_head.h), never from the client's own framing fields.
//
//   - Body framing (RFC 9112 §6): one Content-Length line of digits, or Transfer-Encoding
//     lines that together list exactly `chunked`. Both at once, duplicates, lists of
//     lengths, `chunked` twice, an empty coding list, or Transfer-Encoding in HTTP/1.0:
//     400. Any other coding (`identity`, `gzip`, `xchunked`, `chunked;x=1`): 501.
//   - obs-fold (RFC 9112 §5.2): 400. Beast unfolds it, so it is found in the raw bytes.
//   - Host (RFC 9112 §3.2): exactly one line, a valid uri-host[:port], no list: else 400.
//   - Methods are case-sensitive (RFC 9110 §9.1); `post` is not POST to the gateway, but
//     some frameworks (Django) upper-case it: a method with a lower-case letter is 400.
//   - Field names that CGI-style servers (Django, Rails/Rack, PHP) read as a field the
//     gateway manages once '_' becomes '-' (`X_API_Key`, `Content_Length`): 400.
//
// Pure functions of the parsed head; no allocation. Thread-safe.
#pragma once

#include <boost/beast/http/message.hpp>
#include <cstdint>
#include <string_view>

#include "core/result.h"

namespace gw::proxy {

// How a request's body is framed, as the gateway reads it.
struct BodyFraming {
  enum class Kind { none, length, chunked };
  Kind kind = Kind::none;
  std::uint64_t length = 0;  // Kind::length: the one Content-Length
};

// A request the gateway refuses before anything else looks at it; the connection closes
// after the answer (the rest of its bytes cannot be trusted to frame the next request).
struct RequestRefusal {
  unsigned status = 400;
  std::string_view code;     // Kallglot error code, e.g. "invalid_request_framing"
  std::string_view message;  // static text
};

struct CheckedHead {
  BodyFraming framing;
  std::string_view host;  // the one Host value (points into the parsed head)
};

// `obs_fold`: has_obs_fold() of the head's raw bytes (the parser has unfolded them).
core::Result<CheckedHead, RequestRefusal> validate_request_head(
    const boost::beast::http::request_header<>& head, bool obs_fold);

// Whether a head's raw bytes fold a field value over lines (a line that starts with SP or
// HTAB continues the one before).
bool has_obs_fold(std::string_view raw_head) noexcept;

// Whether `value` is a valid Host field value: uri-host [ ":" port ] (RFC 9110 §7.2), not
// empty, without userinfo, no comma (a singleton field combined from two lines).
bool is_valid_host(std::string_view value) noexcept;

}  // namespace gw::proxy
