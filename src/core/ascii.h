// ASCII text helpers for protocol text: HTTP field names, tokens and values, URL schemes,
// route literals. Letter case is folded for A-Z only, whatever the locale (std::tolower
// reads the locale, and a protocol never means it). Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace gw::core {

constexpr bool is_ascii_digit(char c) noexcept { return c >= '0' && c <= '9'; }
constexpr bool is_ascii_letter(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
constexpr bool is_ascii_alnum(char c) noexcept { return is_ascii_letter(c) || is_ascii_digit(c); }

constexpr char ascii_lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// Whether `a` and `b` are equal but for the case of their ASCII letters (field names,
// transfer codings and auth schemes are case-insensitive: RFC 9110 §5.1, §11.1).
constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i] && ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

// Whether `s` begins with `prefix`, ASCII letters in any case.
constexpr bool istarts_with(std::string_view s, std::string_view prefix) noexcept {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

// Lower-cases the ASCII letters of `text` in place.
constexpr void to_lower(std::string& text) noexcept {
  for (char& c : text) c = ascii_lower(c);
}

// `s` without the optional whitespace (SP / HTAB, RFC 9110 §5.6.3) around it.
constexpr std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Calls `f(element)` for each element of a comma-separated field value (RFC 9110 §5.6.1),
// in order, trimmed of OWS; empty elements ("a, ,b") are skipped, as the RFC asks. Commas
// inside quoted strings are not special: no field read this way has any.
template <typename F>
constexpr void for_each_list_element(std::string_view value, F&& f) {
  while (true) {
    const std::size_t comma = value.find(',');
    const std::string_view element = trim_ows(value.substr(0, comma));
    if (!element.empty()) f(element);
    if (comma == std::string_view::npos) return;
    value.remove_prefix(comma + 1);
  }
}

}  // namespace gw::core
