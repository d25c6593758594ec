// Writes an HTTP/1.1 message head as one contiguous string, for the gateway's own answers
// and for the heads it relays. Beast's serializer walks a long chain of buffer views per
// field; one flat string and one write are much cheaper on the request path. Appends to a
// caller-owned string (reused per connection), so warm connections allocate nothing here.
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

namespace gw::proxy {

class HeadWriter {
 public:
  explicit HeadWriter(std::string& out) : out_(out) {}

  void status_line(unsigned code, std::string_view reason) {
    out_ += "HTTP/1.1 ";
    number(code);
    out_ += ' ';
    out_ += reason;
    out_ += "\r\n";
  }

  void request_line(std::string_view method, std::string_view target) {
    out_ += method;
    out_ += ' ';
    out_ += target;
    out_ += " HTTP/1.1\r\n";
  }

  void field(std::string_view name, std::string_view value) {
    out_ += name;
    out_ += ": ";
    out_ += value;
    out_ += "\r\n";
  }

  void field(std::string_view name, std::int64_t value) {
    out_ += name;
    out_ += ": ";
    number(value);
    out_ += "\r\n";
  }

  void end() { out_ += "\r\n"; }

 private:
  void number(std::int64_t value) {
    char digits[24];
    auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), value);
    (void)ec;
    out_.append(digits, end);
  }

  std::string& out_;
};

}  // namespace gw::proxy
