#include "proxy/request_validation.h"

#include <algorithm>
#include <boost/url/parse.hpp>
#include <cstring>

#include "core/ascii.h"

namespace gw::proxy {
namespace {

namespace http = boost::beast::http;
using core::iequals;

core::Unexpected<RequestRefusal> refuse(unsigned status, std::string_view code,
                                        std::string_view message) {
  return core::unexpected(RequestRefusal{status, code, message});
}

core::Unexpected<RequestRefusal> bad_framing(std::string_view message) {
  return refuse(400, "invalid_request_framing", message);
}

// What the Transfer-Encoding lines of a request list, all lines read as one list.
struct Codings {
  int chunked = 0;     // how many times `chunked` appears
  bool other = false;  // a coding other than chunked
  bool chunked_last = false;
};

void add_codings(std::string_view value, Codings& codings) {
  core::for_each_list_element(value, [&](std::string_view element) {
    const bool chunked = iequals(element, "chunked");
    codings.chunked += chunked ? 1 : 0;
    codings.other |= !chunked;
    codings.chunked_last = chunked;
  });
}

// Field names the gateway sets or relies on. A name with '_' equal to one of these once
// '_' reads as '-' reaches a CGI-style application as the same variable (HTTP_X_API_KEY).
constexpr std::string_view kManagedNames[] = {"authorization",
                                              "x-api-key",
                                              "host",
                                              "content-length",
                                              "transfer-encoding",
                                              "x-forwarded-for",
                                              "x-forwarded-proto",
                                              "x-request-id",
                                              "connection",
                                              "upgrade",
                                              "expect",
                                              "te",
                                              "trailer",
                                              "keep-alive",
                                              "forwarded",
                                              "proxy-authorization"};

bool aliases_managed_name(std::string_view name) {
  for (const std::string_view managed : kManagedNames) {
    if (managed.size() != name.size()) continue;
    bool same = true;
    for (std::size_t i = 0; same && i < name.size(); ++i) {
      same = core::ascii_lower(name[i] == '_' ? '-' : name[i]) == managed[i];
    }
    if (same) return true;
  }
  return false;
}

// A host name of letters, digits, '-' and '.', with an optional :port: nearly every Host.
bool is_plain_host(std::string_view value) {
  std::size_t i = 0;
  for (; i < value.size() && value[i] != ':'; ++i) {
    const char c = value[i];
    if (!(core::is_ascii_alnum(c) || c == '-' || c == '.')) {
      return false;
    }
  }
  if (i == 0) return false;
  if (i == value.size()) return true;
  const std::string_view port = value.substr(i + 1);
  return port.size() <= 5 && std::all_of(port.begin(), port.end(), core::is_ascii_digit) &&
         (port.size() < 5 || port <= "65535");
}

}  // namespace

bool has_obs_fold(std::string_view raw_head) noexcept {
  // The head ends with CRLF CRLF; a line break followed by SP or HTAB before that is a fold.
  const char* p = raw_head.data();
  const char* const end = p + raw_head.size();
  while ((p = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p))))) {
    ++p;
    if (p == end) break;
    if (*p == ' ' || *p == '\t') return true;
  }
  return false;
}

bool is_valid_host(std::string_view value) noexcept {
  if (is_plain_host(value)) return true;
  if (value.empty() || value.find(',') != std::string_view::npos) return false;
  auto authority = boost::urls::parse_authority(value);
  if (!authority || authority->has_userinfo() || authority->encoded_host().empty()) return false;
  if (authority->has_port()) {
    const auto port = authority->port();
    if (port.size() > 5 || (port.size() == 5 && port > "65535")) return false;
  }
  return true;
}

core::Result<CheckedHead, RequestRefusal> validate_request_head(const http::request_header<>& head,
                                                                bool obs_fold) {
  const std::string_view method = head.method_string();
  if (std::any_of(method.begin(), method.end(), [](char c) { return c >= 'a' && c <= 'z'; })) {
    return refuse(400, "invalid_method", "Request methods are case-sensitive: use upper case.");
  }
  if (obs_fold) {
    return refuse(400, "malformed_request",
                  "Header field values folded over several lines (obs-fold) are not accepted.");
  }

  CheckedHead out;
  int hosts = 0;
  int lengths = 0;
  int encodings = 0;
  std::string_view length_value;
  Codings codings;
  for (const auto& field : head) {
    switch (field.name()) {
      case http::field::host:
        ++hosts;
        out.host = field.value();
        break;
      case http::field::content_length:
        ++lengths;
        length_value = field.value();
        break;
      case http::field::transfer_encoding:
        ++encodings;
        add_codings(field.value(), codings);
        break;
      case http::field::unknown:
        if (field.name_string().find('_') != std::string_view::npos &&
            aliases_managed_name(field.name_string())) {
          return refuse(400, "ambiguous_header",
                        "A header field name with '_' stands for a field the gateway manages "
                        "(e.g. X_API_Key for X-API-Key). Use '-'.");
        }
        break;
      default:
        break;
    }
  }

  if (hosts != 1 || !is_valid_host(out.host)) {
    return refuse(400, "invalid_host", "The request must carry exactly one valid Host header.");
  }

  if (encodings > 0) {
    if (lengths > 0) {
      return bad_framing("A request may not carry both Transfer-Encoding and Content-Length.");
    }
    if (head.version() < 11) {
      return bad_framing("Transfer-Encoding is not defined for HTTP/1.0.");
    }
    if (codings.other) {
      return refuse(501, "unsupported_transfer_encoding",
                    "The only transfer coding accepted is chunked.");
    }
    if (codings.chunked != 1 || !codings.chunked_last) {
      return bad_framing("Transfer-Encoding must list chunked exactly once.");
    }
    out.framing.kind = BodyFraming::Kind::chunked;
    return out;
  }
  if (lengths > 0) {
    // Beast takes "5, 5" and a repeated identical line as 5; a second reader may not.
    if (lengths > 1 || length_value.empty() || length_value.size() > 19 ||
        !std::all_of(length_value.begin(), length_value.end(), core::is_ascii_digit)) {
      return bad_framing("Content-Length must be one line of digits.");
    }
    std::uint64_t length = 0;
    for (const char c : length_value) length = length * 10 + static_cast<std::uint64_t>(c - '0');
    out.framing = BodyFraming{BodyFraming::Kind::length, length};
  }
  return out;
}

}  // namespace gw::proxy
