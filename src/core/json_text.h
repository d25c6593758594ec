// Writing JSON text by hand, for bodies on hot paths (error answers, POST /v1/check, the
// mock upstream's echo) where building a Boost.JSON value first would cost more than the
// answer itself.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace gw::core {

// Appends `s` as a JSON string literal (RFC 8259 §7). Control characters are escaped, and
// so are bytes >= 0x80 (as the Latin-1 code points they would be): the output is valid
// JSON and valid UTF-8 whatever bytes `s` holds (a header value from a client, say).
void append_json_string(std::string& out, std::string_view s);

// Appends `value` in decimal (no locale, no format string to parse).
void append_decimal(std::string& out, std::int64_t value);

}  // namespace gw::core
