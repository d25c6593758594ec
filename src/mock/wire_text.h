// Text from the wire, read and written: decimal numbers in header and query values, and
// request bytes as JSON strings.
//
// Thread safety: pure functions.
#pragma once

#include <boost/json/string.hpp>
#include <cstdint>
#include <optional>
#include <string_view>

namespace gw::mock {

// A decimal number, spaces and tabs around it allowed ("  42 "); nullopt for anything else.
std::optional<std::uint64_t> parse_decimal(std::string_view text);

// `bytes` read as Latin-1 (as HTTP reads header bytes >= 0x80), as a JSON string: valid
// UTF-8 whatever a client sent, so the JSON the mock writes always parses.
boost::json::string json_text(std::string_view bytes);

}  // namespace gw::mock
