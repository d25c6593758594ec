// A running SHA-256 (OpenSSL EVP) and the lowercase hex of what it has seen so far: the
// mock's fingerprint of request bodies and of a stream's data. The OpenSSL context is made
// at the first non-empty update, so hashing nothing costs nothing.
//
// Thread safety: none; one owner.
#pragma once

#include <openssl/evp.h>

#include <array>
#include <boost/algorithm/hex.hpp>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>

namespace gw::mock {

class Sha256 {
 public:
  void update(std::string_view data) {
    if (data.empty() || failed_) return;
    if (!ctx_) {
      ctx_.reset(EVP_MD_CTX_new());
      failed_ = !ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1;
    }
    failed_ = failed_ || EVP_DigestUpdate(ctx_.get(), data.data(), data.size()) != 1;
  }

  // Of everything so far (the hash may go on); "error" if OpenSSL failed at any step.
  std::string hex() const {
    if (failed_) return "error";
    if (!ctx_) return "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const Context copy(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    if (!copy || EVP_MD_CTX_copy_ex(copy.get(), ctx_.get()) != 1 ||
        EVP_DigestFinal_ex(copy.get(), digest.data(), &length) != 1) {
      return "error";
    }
    std::string out;
    boost::algorithm::hex_lower(digest.begin(), digest.begin() + length, std::back_inserter(out));
    return out;
  }

 private:
  using Context = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;
  Context ctx_{nullptr, &EVP_MD_CTX_free};
  bool failed_ = false;
};

}  // namespace gw::mock
