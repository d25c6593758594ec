// The head of a request as the upstream receives it. Everything that decides how the
// upstream reads the request is written by the gateway from what it checked, never copied
// from the client: the request line (normalized target, HTTP/1.1), the one Host, the body
// framing (Content-Length or chunked, as validate_request_head() read it; the relay
// re-frames the body to match), and the one credential that was charged. The client's
// other end-to-end fields follow, less hop-by-hop ones (RFC 9110 §7.6.1), which a
// Connection nomination can add to but never extend to the gateway's own.
#pragma once

#include <boost/beast/http/message.hpp>
#include <string_view>

#include "proxy/head_writer.h"
#include "proxy/request_validation.h"

namespace gw::proxy {

struct ForwardedCredential {
  std::string_view key;           // empty: none (nothing was charged to a key)
  bool via_authorization = true;  // `Authorization: Bearer <key>`, else `X-API-Key: <key>`
};

struct UpstreamRequest {
  std::string_view host;
  BodyFraming framing;
  ForwardedCredential credential;
  std::string_view forwarded_for;   // the whole X-Forwarded-For value (client_address.h)
  bool from_trusted_proxy = false;  // Forwarded and X-Real-IP pass only from a trusted proxy
  std::string_view request_id;      // X-Request-ID
};

// Appends the upstream request head (through the empty line) to `out`. Expect is answered
// by the gateway and not forwarded.
void write_upstream_request_head(const boost::beast::http::request_header<>& req,
                                 const UpstreamRequest& request, HeadBuffer& out);

}  // namespace gw::proxy
