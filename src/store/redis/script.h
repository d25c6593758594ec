// A Lua script run with EVALSHA: its body and the SHA-1 Redis knows it by. The client
// loads every script it is given when it connects (SCRIPT LOAD) and falls back to EVAL
// with the body when a server answers NOSCRIPT (a restart or SCRIPT FLUSH lost it).
#pragma once

#include <string>
#include <string_view>

namespace gw::store::redis {

class Script {
 public:
  explicit Script(std::string body);

  std::string_view body() const noexcept { return body_; }
  std::string_view sha1() const noexcept { return sha1_; }  // 40 lowercase hex digits

 private:
  std::string body_;
  std::string sha1_;
};

}  // namespace gw::store::redis
