// The HTTP `Date` field value (RFC 9110 §5.6.7 IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT").
// Every response carries one (RFC 9110 §6.6.1); formatting it costs a gmtime per second per
// thread: the text of the last second is kept per thread.
#pragma once

#include <cstdint>
#include <string_view>

namespace gw::core {

// The IMF-fixdate of `unix_seconds`. The view stays valid on this thread until the next
// call with another second.
std::string_view http_date(std::int64_t unix_seconds) noexcept;

// Formats into `out` (exactly 29 characters).
void format_http_date(std::int64_t unix_seconds, char (&out)[29]) noexcept;

}  // namespace gw::core
