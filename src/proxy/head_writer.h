// Writes an HTTP/1.1 message head as one contiguous string, for the gateway's own answers
// and for the heads it relays. Beast's serializer walks a long chain of buffer views per
// field; one flat string and one write are much cheaper on the request path. Appends to a
// caller-owned HeadBuffer (reused per connection), so warm connections allocate nothing
// here. HeadBuffer is Boost's string for its resize(n, default_init): growing it does not
// zero-fill bytes that are written over at once.
#pragma once

#include <boost/container/string.hpp>
#include <charconv>
#include <cstring>
#include <cstdint>
#include <string_view>

namespace gw::proxy {

using HeadBuffer = boost::container::string;

// A decimal number formatted in place (std::to_chars), for the pieces of a head.
class Digits {
 public:
  explicit Digits(std::int64_t value) noexcept {
    auto [end, ec] = std::to_chars(buf_, buf_ + sizeof(buf_), value);
    (void)ec;
    size_ = static_cast<std::size_t>(end - buf_);
  }
  std::string_view view() const noexcept { return {buf_, size_}; }

 private:
  char buf_[24];
  std::size_t size_ = 0;
};

class HeadWriter {
 public:
  explicit HeadWriter(HeadBuffer& out) : out_(out) {}

  void status_line(unsigned code, std::string_view reason) {
    Digits digits(code);
    put("HTTP/1.1 ", digits.view(), " ", reason, "\r\n");
  }

  void request_line(std::string_view method, std::string_view target) {
    put(method, " ", target, " HTTP/1.1\r\n");
  }

  void field(std::string_view name, std::string_view value) { put(name, ": ", value, "\r\n"); }

  void field(std::string_view name, std::int64_t value) {
    Digits digits(value);
    put(name, ": ", digits.view(), "\r\n");
  }

  void end() { put("\r\n"); }

  // Appends the pieces with one size check and one resize: a head is dozens of short
  // pieces, and string::operator+= per piece (strlen, capacity check) showed in profiles.
  template <typename... Pieces>
  void put(const Pieces&... pieces) {
    const std::string_view views[] = {std::string_view(pieces)...};
    std::size_t total = 0;
    for (const std::string_view v : views) total += v.size();
    const std::size_t at = out_.size();
    out_.resize(at + total, boost::container::default_init);
    char* p = out_.data() + at;
    for (const std::string_view v : views) {
      std::memcpy(p, v.data(), v.size());
      p += v.size();
    }
  }

 private:
  HeadBuffer& out_;
};

}  // namespace gw::proxy
