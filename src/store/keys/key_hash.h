// SHA-256 of API keys and admin tokens, as lowercase hex. Secrets are stored and compared
// only in this form (SPEC §6: "Keys are stored only as SHA-256 hashes").
// Thread-safe: a pure function (OpenSSL's EVP digests keep no shared state).
#pragma once

#include <string>
#include <string_view>

namespace gw::store {

// 64 lowercase hex characters. Never fails: a SHA-256 of memory cannot fail short of
// OpenSSL being unusable, in which case the process aborts rather than accept any key.
std::string sha256_hex(std::string_view data);

}  // namespace gw::store
