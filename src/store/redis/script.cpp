#include "store/redis/script.h"

#include <openssl/sha.h>

#include <boost/algorithm/hex.hpp>
#include <iterator>

namespace gw::store::redis {

Script::Script(std::string body) : body_(std::move(body)) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(body_.data()), body_.size(), digest);
  sha1_.reserve(2 * SHA_DIGEST_LENGTH);
  boost::algorithm::hex_lower(std::begin(digest), std::end(digest), std::back_inserter(sha1_));
}

}  // namespace gw::store::redis
