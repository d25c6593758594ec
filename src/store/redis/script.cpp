#include "store/redis/script.h"

#include <openssl/sha.h>

namespace gw::store::redis {

Script::Script(std::string body) : body_(std::move(body)) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(body_.data()), body_.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  sha1_.reserve(2 * SHA_DIGEST_LENGTH);
  for (unsigned char byte : digest) {
    sha1_ += kHex[byte >> 4];
    sha1_ += kHex[byte & 0xf];
  }
}

}  // namespace gw::store::redis
