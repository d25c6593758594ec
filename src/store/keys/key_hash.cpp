#include "store/keys/key_hash.h"

#include <openssl/evp.h>

#include <array>
#include <boost/algorithm/hex.hpp>
#include <cstdio>
#include <cstdlib>

namespace gw::store {

std::string sha256_hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  // EVP_Digest is the one-shot form; with a fixed, built-in algorithm it fails only when
  // the library cannot allocate. Returning anything else would let a wrong hash match.
  if (EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1 ||
      length != 32) {
    std::fputs("fatal: OpenSSL SHA-256 failed\n", stderr);
    std::abort();
  }
  std::string out(2 * length, '\0');
  boost::algorithm::hex_lower(digest.data(), digest.data() + length, out.begin());
  return out;
}

}  // namespace gw::store
