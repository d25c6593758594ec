// Sha256 over OpenSSL's EVP interface; see sha256.h.
#include "mock/sha256.h"

#include <openssl/evp.h>

#include <array>
#include <boost/algorithm/hex.hpp>
#include <iterator>

namespace gw::mock {

void Sha256::Free::operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }

void Sha256::update(std::string_view data) {
  if (data.empty() || failed_) return;
  if (!ctx_) {
    ctx_.reset(EVP_MD_CTX_new());
    failed_ = !ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1;
  }
  failed_ = failed_ || EVP_DigestUpdate(ctx_.get(), data.data(), data.size()) != 1;
}

std::string Sha256::hex() const {
  if (failed_) return "error";
  if (!ctx_) return "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";  // of ""
  std::unique_ptr<EVP_MD_CTX, Free> copy(EVP_MD_CTX_new());
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

}  // namespace gw::mock
