#include "core/host_name.h"

#include <algorithm>

namespace gw::core {

bool is_host_name(std::string_view s) noexcept {
  if (s.empty() || s.size() > 253) {
    return false;
  }
  while (!s.empty()) {
    const auto dot = s.find('.');
    const std::string_view label = s.substr(0, dot);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-' ||
        !std::all_of(label.begin(), label.end(), [](char c) {
          return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-';
        })) {
      return false;
    }
    if (dot == std::string_view::npos) {
      break;
    }
    s.remove_prefix(dot + 1);
  }
  return true;
}

}  // namespace gw::core
