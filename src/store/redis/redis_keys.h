// Redis key names of the gateway, in one place. Everything of one subject (counters,
// session slots) shares the hash tag {acct:<subject>}, so a script that touches several of
// its keys stays in one Redis Cluster slot. Each function documents the key's type and
// who writes it.
#pragma once

#include <string>
#include <string_view>

namespace gw::store::redis {

// "kg:{acct:<subject>}<suffix>": the hash tag that keeps a subject's keys in one slot.
inline constexpr std::string_view kSubjectKeyPrefix = "kg:{acct:";
inline std::string subject_key(std::string_view subject, std::string_view suffix) {
  std::string key;
  key.reserve(kSubjectKeyPrefix.size() + subject.size() + suffix.size());
  key.append(kSubjectKeyPrefix).append(subject).append(suffix);
  return key;
}

// --- Rate-limit counters (RedisCounterStore, check_script.h) ---

// Hash: one field per limit name -> the spec the counter was kept under (algorithm letter,
// limit, window in us) and its limiter::CounterState in microseconds, packed as
// struct.pack('>c1ddddd') by the check script. The script sets the hash's expiry: when no
// counter in it matters any more.
inline constexpr std::string_view kCountersKeyPrefix = kSubjectKeyPrefix;
inline constexpr std::string_view kCountersKeySuffix = "}:counters";

inline std::string counters_key(std::string_view subject) {
  return subject_key(subject, kCountersKeySuffix);
}

// --- Session slots (RedisSessionStore, session_scripts.h) ---

// Sorted set: a subject's slots ("r:<reservation>", "s:<session id>") by lease expiry (ms).
inline std::string session_slots_key(std::string_view subject) {
  return subject_key(subject, "}:slots");
}

// Hash: the same members -> "<created ms>:<account id>". Same slot as session_slots_key.
inline std::string session_records_key(std::string_view subject) {
  return subject_key(subject, "}:sessions");
}

// String (JSON) with PX = lease: a bound session's subject, account and times, in the
// session id's own slot, so a stream that knows only the id finds its subject.
inline std::string session_key(std::string_view session_id) {
  std::string key = "kg:session:{";
  key.append(session_id).append("}");
  return key;
}

// --- Accounts and API keys (RedisAccountStore) ---

// Hash: plan, overrides (JSON). Tagged by the account id, like its key set.
inline std::string account_key(std::string_view account_id) {
  std::string key = "kg:account:{";
  key.append(account_id).append("}");
  return key;
}

// Set: the key ids of the account's live keys. Same slot as account_key.
inline std::string account_keys_key(std::string_view account_id) {
  return account_key(account_id) + ":keys";
}

// Integer: how many keys the account has been given; orders them. Same slot as account_key.
inline std::string account_key_sequence_key(std::string_view account_id) {
  return account_key(account_id) + ":keyseq";
}

// Hash: key_id, account, env. Named by the SHA-256 (hex) of the key: the request path's
// lookup. The plain key is never stored.
inline std::string key_record_key(std::string_view key_hash) {
  return "kg:key:" + std::string(key_hash);
}

// Hash: hash, account, env, created (the account's key sequence number). For revocation
// and listing by key id.
inline std::string key_id_key(std::string_view key_id) { return "kg:keyid:" + std::string(key_id); }

// Pub/sub channel: an account id, published after every change to it or its keys.
inline constexpr std::string_view kAccountsChannel = "kg:accounts";

}  // namespace gw::store::redis
