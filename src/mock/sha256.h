// A running SHA-256 (OpenSSL EVP) and the lowercase hex of what it has seen so far: the
// mock's fingerprint of request bodies and of a stream's data. The OpenSSL context is made
// at the first non-empty update, so hashing nothing costs nothing.
//
// Thread safety: none; one owner.
#pragma once

#include <openssl/types.h>

#include <memory>
#include <string>
#include <string_view>

namespace gw::mock {

class Sha256 {
 public:
  void update(std::string_view data);
  // Of everything so far (the hash may go on); "error" if OpenSSL failed at any step.
  std::string hex() const;

 private:
  struct Free {
    void operator()(EVP_MD_CTX* ctx) const noexcept;
  };
  std::unique_ptr<EVP_MD_CTX, Free> ctx_;
  bool failed_ = false;
};

}  // namespace gw::mock
