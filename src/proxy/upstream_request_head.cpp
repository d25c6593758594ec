#include "proxy/upstream_request_head.h"

#include "core/ascii.h"
#include "proxy/client_address.h"
#include "proxy/hop_by_hop.h"

namespace gw::proxy {

namespace http = boost::beast::http;
using core::iequals;

void write_upstream_request_head(const http::request_header<>& req, const UpstreamRequest& request,
                                 HeadBuffer& out) {
  HeadWriter head(out);
  head.request_line(req.method_string(), req.target());
  head.field("Host", request.host);
  switch (request.framing.kind) {
    case BodyFraming::Kind::length:
      head.field("Content-Length", static_cast<std::int64_t>(request.framing.length));
      break;
    case BodyFraming::Kind::chunked:
      head.field("Transfer-Encoding", "chunked");
      break;
    case BodyFraming::Kind::none:
      break;
  }
  if (!request.credential.key.empty()) {
    if (request.credential.via_authorization) {
      head.put("Authorization: Bearer ", request.credential.key, "\r\n");
    } else {
      head.field("X-API-Key", request.credential.key);
    }
  }

  const HopByHopFilter hop_by_hop(req);
  for (const auto& field : req) {
    switch (field.name()) {
      case http::field::host:
      case http::field::content_length:
      case http::field::transfer_encoding:
      case http::field::authorization:
      case http::field::expect:
        continue;  // written above, or answered here
      default:
        break;
    }
    if (hop_by_hop.drops(field)) continue;
    const std::string_view name = field.name_string();
    if (field.name() == http::field::unknown) {
      if (iequals(name, "X-API-Key") || iequals(name, "X-Forwarded-Proto") ||
          iequals(name, "X-Request-ID")) {
        continue;
      }
    }
    const OriginField origin = origin_field(name);
    if (origin == OriginField::forwarded_for) continue;  // written below, as resolved
    if (origin == OriginField::other && !request.from_trusted_proxy) continue;
    head.field(name, field.value());
  }
  head.field("X-Forwarded-For", request.forwarded_for);
  head.field("X-Forwarded-Proto", "http");
  head.field("X-Request-ID", request.request_id);
  head.end();
}

}  // namespace gw::proxy
