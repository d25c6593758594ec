#include "store/redis/redis_account_store.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <future>

#include "store/keys/api_key_material.h"
#include "store/keys/key_hash.h"
#include "store/redis/redis_keys.h"
#include "store/subject.h"

namespace gw::store::redis {
namespace {

namespace net = boost::asio;

// Creates or updates an account; answers whether it existed before.
const Script& put_account_script() {
  static const Script script(R"lua(
local existed = redis.call('EXISTS', KEYS[1])
redis.call('HSET', KEYS[1], 'plan', ARGV[1], 'overrides', ARGV[2])
return existed
)lua");
  return script;
}

AccountStoreError error_of(const StoreError& e) { return AccountStoreError{e.detail}; }

// An account from its stored fields; nullopt when it does not exist (no plan).
AccountResult<std::optional<Account>> account_from(std::string_view id, bool exists,
                                                   std::string_view plan,
                                                   std::string_view overrides) {
  if (!exists) return std::optional<Account>();
  Account account{.id = std::string(id), .plan = std::string(plan)};
  if (!overrides.empty()) {
    boost::system::error_code ec;
    boost::json::value parsed = boost::json::parse(overrides, ec);
    if (ec || !parsed.is_object()) {
      return core::unexpected(
          AccountStoreError{"account " + std::string(id) + ": unreadable overrides"});
    }
    account.overrides = std::move(parsed.as_object());
  }
  return std::optional<Account>(std::move(account));
}

// A key record from HMGET key_id account env; nullopt when the key is unknown.
std::optional<ApiKeyRecord> key_record_from(const redisReply* reply) {
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 ||
      reply->element[0]->type == REDIS_REPLY_NIL || reply->element[1]->type == REDIS_REPLY_NIL) {
    return std::nullopt;
  }
  return ApiKeyRecord{.key_id = std::string(reply_text(reply->element[0])),
                      .account_id = std::string(reply_text(reply->element[1])),
                      .environment = environment_named(reply_text(reply->element[2]))};
}

}  // namespace

RedisAccountStore::RedisAccountStore(RedisClient& shared, const ClientOptions& options,
                                     std::chrono::seconds verified_for, const core::Clock& clock)
    : shared_(shared), verified_for_(verified_for), clock_(clock) {
  ClientOptions own = options;
  own.scripts = {&put_account_script()};
  own_ = std::make_unique<RedisClient>(own);
  subscriber_ = std::make_unique<RedisSubscriber>(
      io_.get_executor(), options, std::string(kAccountsChannel), [this] {
        subscribed_.store(subscriber_->subscribed(), std::memory_order_relaxed);
        forget_verified();
        bump();
      });
  subscriber_->start();
  thread_ = std::thread([this] { io_.run(); });
}

RedisAccountStore::~RedisAccountStore() {
  work_.reset();
  io_.stop();
  if (thread_.joinable()) thread_.join();
  // Nothing runs io_ any more: its connections may be closed from here.
  subscriber_->close();
  own_->shutdown();
}

namespace {

// Issues one command through `issue` (which gets the completion) and waits for its reply.
template <typename Issue>
AccountResult<ReplyValue> wait_for_reply(Issue issue) {
  auto answer = std::make_shared<std::promise<AccountResult<ReplyValue>>>();
  auto future = answer->get_future();
  issue([answer](ReplyResult result) {
    if (!result) {
      answer->set_value(core::unexpected(error_of(result.error())));
    } else if (is_error(*result)) {
      answer->set_value(core::unexpected(AccountStoreError{std::string(reply_text(*result))}));
    } else {
      answer->set_value(copy_reply(*result));
    }
  });
  // The client completes every command within its timeout (or its connect timeout on the
  // very first connection); this bound only guards against a bug there.
  if (future.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    return core::unexpected(AccountStoreError{"redis: no answer"});
  }
  return future.get();
}

}  // namespace

AccountResult<ReplyValue> RedisAccountStore::call(std::string_view key,
                                                  std::vector<std::string_view> args) {
  return wait_for_reply(
      [&](ReplyCallback done) { own_->command(io_.get_executor(), key, args, std::move(done)); });
}

AccountResult<ReplyValue> RedisAccountStore::eval(const Script& script,
                                                  std::vector<std::string_view> keys,
                                                  std::vector<std::string_view> args) {
  return wait_for_reply([&](ReplyCallback done) {
    own_->eval(io_.get_executor(), script, keys, args, std::move(done));
  });
}

void RedisAccountStore::changed(std::string_view account_id) {
  forget_verified();
  bump();
  // Other instances drop their cached callers when they hear this (their subscription).
  if (auto published = call("", {"PUBLISH", kAccountsChannel, account_id}); !published) {
    spdlog::warn("redis: publishing an account change failed: {}", published.error().detail);
  }
}

AccountResult<std::optional<Account>> RedisAccountStore::get_account(std::string_view id) {
  const std::string key = account_key(id);
  auto reply = call(key, {"HMGET", key, "plan", "overrides"});
  if (!reply) return core::unexpected(std::move(reply.error()));
  if (reply->elements.size() != 2) {
    return core::unexpected(AccountStoreError{"account: unexpected reply"});
  }
  return account_from(id, !reply->elements[0].is_nil(), reply->elements[0].str,
                      reply->elements[1].str);
}

AccountResult<bool> RedisAccountStore::put_account(const Account& account) {
  const std::string key = account_key(account.id);
  const std::string overrides = boost::json::serialize(account.overrides);
  auto existed = eval(put_account_script(), {key}, {account.plan, overrides});
  if (!existed) return core::unexpected(std::move(existed.error()));
  changed(account.id);
  return existed->integer == 0;
}

AccountResult<bool> RedisAccountStore::delete_account(std::string_view id) {
  const std::string keys_key = account_keys_key(id);
  auto key_ids = call(keys_key, {"SMEMBERS", keys_key});
  if (!key_ids) return core::unexpected(std::move(key_ids.error()));
  for (const ReplyValue& key_id : key_ids->elements) {
    if (auto revoked = revoke_key(key_id.str); !revoked) {
      return core::unexpected(std::move(revoked.error()));
    }
  }
  const std::string key = account_key(id);
  auto deleted = call(key, {"DEL", key, keys_key, account_key_sequence_key(id)});
  if (!deleted) return core::unexpected(std::move(deleted.error()));
  changed(id);
  return deleted->integer > 0;
}

AccountResult<std::vector<ApiKeyRecord>> RedisAccountStore::list_keys(std::string_view account_id) {
  const std::string keys_key = account_keys_key(account_id);
  auto key_ids = call(keys_key, {"SMEMBERS", keys_key});
  if (!key_ids) return core::unexpected(std::move(key_ids.error()));
  struct Listed {
    std::int64_t created = 0;
    ApiKeyRecord record;
  };
  std::vector<Listed> listed;
  for (const ReplyValue& key_id : key_ids->elements) {
    const std::string id_key = key_id_key(key_id.str);
    auto fields = call(id_key, {"HMGET", id_key, "env", "created"});
    if (!fields) return core::unexpected(std::move(fields.error()));
    if (fields->elements.size() != 2 || fields->elements[0].is_nil())
      continue;  // revoked meanwhile
    Listed entry{.record = {.key_id = key_id.str,
                            .account_id = std::string(account_id),
                            .environment = environment_named(fields->elements[0].str)}};
    const std::string& created = fields->elements[1].str;
    std::from_chars(created.data(), created.data() + created.size(), entry.created);
    listed.push_back(std::move(entry));
  }
  std::sort(listed.begin(), listed.end(), [](const Listed& a, const Listed& b) {
    return std::tie(a.created, a.record.key_id) < std::tie(b.created, b.record.key_id);
  });
  std::vector<ApiKeyRecord> records;
  for (auto& entry : listed) records.push_back(std::move(entry.record));
  return records;
}

AccountResult<CreatedKey> RedisAccountStore::create_key(std::string_view account_id,
                                                        KeyEnvironment environment) {
  const std::string key = account_key(account_id);
  auto exists = call(key, {"EXISTS", key});
  if (!exists) return core::unexpected(std::move(exists.error()));
  if (exists->integer == 0) {
    return core::unexpected(
        AccountStoreError{"create_key: unknown account " + std::string(account_id)});
  }
  auto material = generate_key_material(environment);
  if (!material) {
    return core::unexpected(AccountStoreError{"create_key: the random generator failed"});
  }
  const std::string hash = sha256_hex(material->key);
  const std::string_view env = environment_name(environment);
  // Keys are listed in the order they were made: a per-account sequence, not a clock
  // (two keys made in the same millisecond, or on two instances, still order).
  const std::string sequence_key = account_key_sequence_key(account_id);
  auto sequence = call(sequence_key, {"INCR", sequence_key});
  if (!sequence) return core::unexpected(std::move(sequence.error()));
  const std::string created = std::to_string(sequence->integer);

  const std::string record_key = key_record_key(hash);
  const std::string id_key = key_id_key(material->key_id);
  const std::string keys_key = account_keys_key(account_id);
  for (auto [routing, args] : {
           std::pair{std::string_view(record_key),
                     std::vector<std::string_view>{"HSET", record_key, "key_id", material->key_id,
                                                   "account", account_id, "env", env}},
           std::pair{std::string_view(id_key),
                     std::vector<std::string_view>{"HSET", id_key, "hash", hash, "account",
                                                   account_id, "env", env, "created", created}},
           std::pair{std::string_view(keys_key),
                     std::vector<std::string_view>{"SADD", keys_key, material->key_id}},
       }) {
    if (auto written = call(routing, args); !written) {
      return core::unexpected(std::move(written.error()));
    }
  }
  changed(account_id);
  return CreatedKey{.record = {.key_id = std::move(material->key_id),
                               .account_id = std::string(account_id),
                               .environment = environment},
                    .key = std::move(material->key)};
}

AccountResult<bool> RedisAccountStore::revoke_key(std::string_view key_id) {
  const std::string id_key = key_id_key(key_id);
  auto fields = call(id_key, {"HMGET", id_key, "hash", "account"});
  if (!fields) return core::unexpected(std::move(fields.error()));
  if (fields->elements.size() != 2 || fields->elements[0].is_nil()) return false;
  const std::string hash = fields->elements[0].str;
  const std::string account_id = fields->elements[1].str;
  // The lookup record first: from then on the key no longer works anywhere.
  const std::string record_key = key_record_key(hash);
  const std::string keys_key = account_keys_key(account_id);
  for (auto [routing, args] : {
           std::pair{std::string_view(record_key),
                     std::vector<std::string_view>{"DEL", record_key}},
           std::pair{std::string_view(id_key), std::vector<std::string_view>{"DEL", id_key}},
           std::pair{std::string_view(keys_key),
                     std::vector<std::string_view>{"SREM", keys_key, key_id}},
       }) {
    if (auto written = call(routing, args); !written) {
      return core::unexpected(std::move(written.error()));
    }
  }
  changed(account_id);
  return true;
}

AccountResult<std::optional<ApiKeyRecord>> RedisAccountStore::find_key(std::string_view plain_key) {
  if (!looks_like_api_key(plain_key)) return std::optional<ApiKeyRecord>();
  const std::string record_key = key_record_key(sha256_hex(plain_key));
  auto fields = call(record_key, {"HMGET", record_key, "key_id", "account", "env"});
  if (!fields) return core::unexpected(std::move(fields.error()));
  if (fields->elements.size() != 3 || fields->elements[0].is_nil()) {
    return std::optional<ApiKeyRecord>();
  }
  ApiKeyRecord record{.key_id = fields->elements[0].str,
                      .account_id = fields->elements[1].str,
                      .environment = environment_named(fields->elements[2].str)};
  const std::string key = account_key(record.account_id);
  auto exists = call(key, {"EXISTS", key});
  if (!exists) return core::unexpected(std::move(exists.error()));
  if (exists->integer == 0) return std::optional<ApiKeyRecord>();
  return std::optional<ApiKeyRecord>(std::move(record));
}

void RedisAccountStore::lookup_key(std::string_view plain_key, const net::any_io_executor& executor,
                                   KeyLookupHandler done) {
  if (!looks_like_api_key(plain_key)) {
    net::post(executor, [done = std::move(done)] { done(KeyLookup{}); });
    return;
  }
  std::string hash = sha256_hex(plain_key);
  const std::string record_key = key_record_key(hash);
  const std::string_view args[] = {"HMGET", record_key, "key_id", "account", "env"};
  // Two round trips on a cache miss: the key's record, then its account (another slot).
  auto finish = [this, hash, done = std::move(done)](AccountResult<KeyLookup> result) mutable {
    if (result) {
      remember_verified(hash, *result);
    } else if (auto known = recently_verified(hash)) {
      result = std::move(*known);  // Redis is away: the key worked a moment ago
    }
    done(std::move(result));
  };
  shared_.command(
      executor, record_key, args,
      [this, executor, finish = std::move(finish)](ReplyResult result) mutable {
        if (!result) return finish(core::unexpected(error_of(result.error())));
        if (is_error(*result)) {
          return finish(core::unexpected(AccountStoreError{std::string(reply_text(*result))}));
        }
        std::optional<ApiKeyRecord> record = key_record_from(*result);
        if (!record) return finish(KeyLookup{});
        const std::string account_id = record->account_id;
        lookup_account(account_id, executor,
                       [record = std::move(*record), finish = std::move(finish)](
                           AccountResult<std::optional<Account>> account) mutable {
                         if (!account) return finish(core::unexpected(std::move(account.error())));
                         if (!*account) return finish(KeyLookup{});
                         finish(KeyLookup{std::move(record), std::move(*account)});
                       });
      });
}

void RedisAccountStore::remember_verified(const std::string& key_hash, const KeyLookup& lookup) {
  std::lock_guard lock(verified_mutex_);
  if (!lookup.record) {
    verified_.erase(key_hash);  // unknown or revoked: never served from here again
    return;
  }
  if (verified_.size() >= kMaxVerified) verified_.clear();
  verified_.insert_or_assign(key_hash, Verified{lookup, clock_.steady_now()});
}

void RedisAccountStore::forget_verified() {
  std::lock_guard lock(verified_mutex_);
  verified_.clear();
}

std::optional<KeyLookup> RedisAccountStore::recently_verified(const std::string& key_hash) {
  std::lock_guard lock(verified_mutex_);
  auto it = verified_.find(key_hash);
  if (it == verified_.end() || clock_.steady_now() - it->second.at > verified_for_) {
    return std::nullopt;
  }
  return it->second.lookup;
}

void RedisAccountStore::lookup_account(std::string_view id, const net::any_io_executor& executor,
                                       AccountHandler done) {
  const std::string key = account_key(id);
  const std::string_view args[] = {"HMGET", key, "plan", "overrides"};
  shared_.command(
      executor, key, args, [id = std::string(id), done = std::move(done)](ReplyResult result) {
        if (!result) return done(core::unexpected(error_of(result.error())));
        if (is_error(*result)) {
          return done(core::unexpected(AccountStoreError{std::string(reply_text(*result))}));
        }
        const redisReply* reply = *result;
        if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
          return done(core::unexpected(AccountStoreError{"account: unexpected reply"}));
        }
        done(account_from(id, reply->element[0]->type != REDIS_REPLY_NIL,
                          reply_text(reply->element[0]), reply_text(reply->element[1])));
      });
}

}  // namespace gw::store::redis
