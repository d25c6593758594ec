// Hash tables keyed by std::string that are searched with a std::string_view, without
// building a string for each lookup (C++20 heterogeneous lookup: a transparent hash and
// std::equal_to<>). Types only: a table's thread-safety is its owner's.
#pragma once

#include <boost/unordered/unordered_flat_map.hpp>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace gw::core {

// std::hash of the characters, taking a std::string, a std::string_view or a C string.
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

template <typename V>
using StringMap = boost::unordered_flat_map<std::string, V, StringHash, std::equal_to<>>;

}  // namespace gw::core
