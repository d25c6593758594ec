// Layout choices:
// - A subject's slots are two maps: reservations by number, bound slots by session id, so
//   bind/cancel/release are one probe and `held` is two sizes. Session counts per subject
//   are small (plan limits of 2..50), but enterprise subjects are unlimited, so nothing
//   here scans a subject's slots on every call.
// - `next_expiry` is a lower bound of the subject's leases: expiry is checked by a scan only
//   once `now` reaches it, so lazy expiry costs a comparison until something may expire.
// - Reservation ids are "rsv_" + a per-process counter: they never leave the process (only
//   the request that reserved one holds it) and never outlive it, so uniqueness within the
//   process is all they need.
#include "store/memory/memory_session_store.h"

#include <algorithm>
#include <bit>
#include <boost/unordered/unordered_flat_map.hpp>
#include <charconv>
#include <functional>
#include <limits>
#include <utility>
#include <vector>

#include "core/string_map.h"
#include "store/memory/session_slots_db.h"
#include "store/post_result.h"

namespace gw::store {
namespace {

using core::UnixNanos;

constexpr std::string_view kReservationPrefix = "rsv_";
constexpr UnixNanos kNever = UnixNanos::max();

using core::StringHash;
using core::StringMap;

struct Slot {
  std::string account_id;
  UnixNanos created{};
  UnixNanos lease_expires{};
  UnixNanos persisted_expires{};  // bound slots: the lease the table holds
};

StoreError db_error(std::string detail) {
  return StoreError{
      .code = StoreErrc::unavailable, .transient = false, .detail = std::move(detail)};
}

std::optional<std::uint64_t> parse_reservation(std::string_view reservation) {
  if (!reservation.starts_with(kReservationPrefix)) return std::nullopt;
  reservation.remove_prefix(kReservationPrefix.size());
  std::uint64_t n = 0;
  const auto [end, ec] =
      std::from_chars(reservation.data(), reservation.data() + reservation.size(), n);
  if (ec != std::errc() || end != reservation.data() + reservation.size()) return std::nullopt;
  return n;
}

UnixNanos lease_end(UnixNanos now, std::chrono::seconds lease) {
  // A lease is clamped to [0, ~68 years]: a negative one ends now, an absurd one cannot
  // overflow the clock.
  constexpr std::chrono::seconds kLongest{std::numeric_limits<std::int32_t>::max()};
  const UnixNanos length = std::clamp(lease, std::chrono::seconds{0}, kLongest);
  return now > kNever - length ? kNever : now + length;
}

}  // namespace

struct MemorySessionStore::SubjectSlots {
  boost::unordered_flat_map<std::uint64_t, Slot> reserved;
  StringMap<Slot> bound;
  UnixNanos next_expiry = kNever;  // no slot of the subject expires before this

  std::int64_t held() const noexcept {
    return static_cast<std::int64_t>(reserved.size() + bound.size());
  }
  bool empty() const noexcept { return reserved.empty() && bound.empty(); }
  void note_expiry(UnixNanos t) noexcept { next_expiry = std::min(next_expiry, t); }
};

struct MemorySessionStore::Shard {
  alignas(64) mutable std::mutex mutex;
  StringMap<SubjectSlots> subjects;  // guarded by mutex; a subject holding no slot is erased
};

struct MemorySessionStore::Index {
  mutable std::mutex mutex;
  StringMap<std::string> subject_of;  // guarded by mutex: bound session id -> its subject
};

core::Result<std::unique_ptr<MemorySessionStore>, std::string> MemorySessionStore::open(
    std::string_view sqlite_path, UnixNanos now, std::size_t shard_count) {
  auto db = SessionSlotsDb::open(sqlite_path);
  if (!db) return core::unexpected(std::move(db.error()));
  auto records = (*db)->load(now);
  if (!records) return core::unexpected(std::move(records.error()));

  std::unique_ptr<MemorySessionStore> store(new MemorySessionStore(std::move(*db), shard_count));
  for (SessionRecord& r : *records) {
    // The table's primary key makes session ids unique, so the index cannot collide.
    store->index_->subject_of.emplace(r.session_id, r.subject);
    Shard& shard = store->shard_for(r.subject);
    SubjectSlots& slots = shard.subjects[r.subject];
    slots.note_expiry(r.lease_expires);
    slots.bound.emplace(std::move(r.session_id), Slot{.account_id = std::move(r.account_id),
                                                      .created = r.created,
                                                      .lease_expires = r.lease_expires,
                                                      .persisted_expires = r.lease_expires});
  }
  return store;
}

MemorySessionStore::MemorySessionStore(std::unique_ptr<SessionSlotsDb> db, std::size_t shard_count)
    : db_(std::move(db)),
      shard_mask_(std::bit_ceil(std::max<std::size_t>(shard_count, 1)) - 1),
      shards_(std::make_unique<Shard[]>(shard_mask_ + 1)),
      index_(std::make_unique<Index>()) {}

MemorySessionStore::~MemorySessionStore() = default;

MemorySessionStore::Shard& MemorySessionStore::shard_for(std::string_view subject) const noexcept {
  return shards_[StringHash{}(subject)&shard_mask_];
}

std::optional<std::string> MemorySessionStore::index_subject(std::string_view session_id) const {
  const std::lock_guard lock(index_->mutex);
  const auto it = index_->subject_of.find(session_id);
  if (it == index_->subject_of.end()) return std::nullopt;
  return it->second;
}

void MemorySessionStore::index_erase(std::string_view session_id) {
  const std::lock_guard lock(index_->mutex);
  const auto it = index_->subject_of.find(session_id);
  if (it != index_->subject_of.end()) index_->subject_of.erase(it);
}

std::size_t MemorySessionStore::drop_expired(SubjectSlots& slots, UnixNanos now) {
  std::size_t freed = 0;
  UnixNanos next = kNever;
  freed += boost::unordered::erase_if(slots.reserved, [&](const auto& entry) {
    if (entry.second.lease_expires <= now) return true;
    next = std::min(next, entry.second.lease_expires);
    return false;
  });
  freed += boost::unordered::erase_if(slots.bound, [&](const auto& entry) {
    if (entry.second.lease_expires <= now) {
      index_erase(entry.first);
      return true;
    }
    next = std::min(next, entry.second.lease_expires);
    return false;
  });
  slots.next_expiry = next;
  return freed;
}

SessionOutcome<std::size_t> MemorySessionStore::free_expired(SubjectSlots& slots, UnixNanos now) {
  if (now < slots.next_expiry) return std::size_t{0};
  std::vector<SlotWrite> writes;
  for (const auto& [session_id, slot] : slots.bound) {
    if (slot.lease_expires <= now) {
      writes.push_back({.kind = SlotWrite::Kind::erase, .session_id = session_id});
    }
  }
  if (auto written = db_->apply(writes); !written) {
    return core::unexpected(db_error(std::move(written.error())));
  }
  return drop_expired(slots, now);
}

SessionOutcome<SlotGrant> MemorySessionStore::acquire_now(std::string_view subject,
                                                          std::string_view account_id,
                                                          std::optional<std::int64_t> limit,
                                                          UnixNanos now,
                                                          std::chrono::seconds lease) {
  Shard& shard = shard_for(subject);
  const std::lock_guard lock(shard.mutex);
  auto it = shard.subjects.find(subject);
  std::int64_t held = 0;
  if (it != shard.subjects.end()) {
    auto freed = free_expired(it->second, now);
    if (!freed) return core::unexpected(std::move(freed.error()));
    held = it->second.held();
  }
  if (limit && held >= *limit) {
    if (it != shard.subjects.end() && it->second.empty()) shard.subjects.erase(it);
    return SlotGrant{.acquired = false, .reservation = {}, .active = held, .limit = limit};
  }
  if (it == shard.subjects.end()) it = shard.subjects.try_emplace(std::string(subject)).first;

  const std::uint64_t n = next_reservation_.fetch_add(1, std::memory_order_relaxed);
  const UnixNanos expires = lease_end(now, lease);
  it->second.reserved.emplace(
      n, Slot{.account_id = std::string(account_id), .created = now, .lease_expires = expires});
  it->second.note_expiry(expires);
  return SlotGrant{.acquired = true,
                   .reservation = std::string(kReservationPrefix) + std::to_string(n),
                   .active = held + 1,
                   .limit = limit};
}

SessionOutcome<bool> MemorySessionStore::bind_now(std::string_view subject,
                                                  std::string_view reservation,
                                                  std::string_view session_id, UnixNanos now,
                                                  std::chrono::seconds lease) {
  const auto n = parse_reservation(reservation);
  if (!n || session_id.empty()) return false;

  Shard& shard = shard_for(subject);
  const std::lock_guard lock(shard.mutex);
  const auto it = shard.subjects.find(subject);
  if (it == shard.subjects.end()) return false;
  SubjectSlots& slots = it->second;
  auto freed = free_expired(slots, now);
  if (!freed) return core::unexpected(std::move(freed.error()));
  const auto reserved = slots.reserved.find(*n);
  if (reserved == slots.reserved.end()) {
    if (slots.empty()) shard.subjects.erase(it);
    return false;
  }
  const UnixNanos expires = lease_end(now, lease);

  // The upstream answered with a session id this subject already holds: one session, one
  // slot. The existing slot stays (with a fresh lease) and the reservation goes.
  if (const auto existing = slots.bound.find(session_id); existing != slots.bound.end()) {
    const SlotWrite write{
        .kind = SlotWrite::Kind::set_lease, .session_id = session_id, .lease_expires = expires};
    if (auto written = db_->apply({&write, 1}); !written) {
      return core::unexpected(db_error(std::move(written.error())));
    }
    existing->second.lease_expires = expires;
    existing->second.persisted_expires = expires;
    slots.note_expiry(expires);
    slots.reserved.erase(reserved);
    return true;
  }

  // Claim the id in the index first: a concurrent bind of the same id in another subject
  // (another shard) is decided here, once.
  {
    const std::lock_guard index_lock(index_->mutex);
    if (!index_->subject_of.try_emplace(std::string(session_id), std::string(subject)).second) {
      // Bound in another subject, which keeps it; this reservation will never be bound.
      slots.reserved.erase(reserved);
      if (slots.empty()) shard.subjects.erase(it);
      return false;
    }
  }
  const Slot& slot = reserved->second;
  const SlotWrite write{.kind = SlotWrite::Kind::put,
                        .session_id = session_id,
                        .subject = subject,
                        .account_id = slot.account_id,
                        .created = slot.created,
                        .lease_expires = expires};
  if (auto written = db_->apply({&write, 1}); !written) {
    index_erase(session_id);
    return core::unexpected(db_error(std::move(written.error())));
  }
  slots.bound.emplace(std::string(session_id),
                      Slot{.account_id = std::move(reserved->second.account_id),
                           .created = reserved->second.created,
                           .lease_expires = expires,
                           .persisted_expires = expires});
  slots.reserved.erase(reserved);
  slots.note_expiry(expires);
  return true;
}

SessionOutcome<bool> MemorySessionStore::cancel_now(std::string_view subject,
                                                    std::string_view reservation) {
  const auto n = parse_reservation(reservation);
  if (!n) return false;
  Shard& shard = shard_for(subject);
  const std::lock_guard lock(shard.mutex);
  const auto it = shard.subjects.find(subject);
  if (it == shard.subjects.end()) return false;
  const bool freed = it->second.reserved.erase(*n) > 0;
  if (it->second.empty()) shard.subjects.erase(it);
  return freed;
}

SessionOutcome<bool> MemorySessionStore::release_now(std::string_view subject,
                                                     std::string_view session_id) {
  Shard& shard = shard_for(subject);
  const std::lock_guard lock(shard.mutex);
  const auto it = shard.subjects.find(subject);
  if (it == shard.subjects.end()) return false;
  const auto bound = it->second.bound.find(session_id);
  if (bound == it->second.bound.end()) return false;

  const SlotWrite write{.kind = SlotWrite::Kind::erase, .session_id = session_id};
  if (auto written = db_->apply({&write, 1}); !written) {
    return core::unexpected(db_error(std::move(written.error())));
  }
  index_erase(session_id);
  it->second.bound.erase(bound);
  if (it->second.empty()) shard.subjects.erase(it);
  return true;
}

SessionOutcome<std::optional<SessionRecord>> MemorySessionStore::find_now(
    std::string_view session_id, UnixNanos now) const {
  // The index is read before the shard is locked, so the session may move between the two
  // (released, then bound again in another subject); look again while it keeps moving.
  for (std::optional<std::string> subject = index_subject(session_id); subject;) {
    Shard& shard = shard_for(*subject);
    const std::lock_guard lock(shard.mutex);
    if (const auto it = shard.subjects.find(*subject); it != shard.subjects.end()) {
      if (const auto bound = it->second.bound.find(session_id); bound != it->second.bound.end()) {
        if (bound->second.lease_expires <= now) break;
        return std::optional<SessionRecord>(
            SessionRecord{.session_id = std::string(session_id),
                          .subject = *subject,
                          .account_id = bound->second.account_id,
                          .created = bound->second.created,
                          .lease_expires = bound->second.lease_expires});
      }
    }
    auto now_subject = index_subject(session_id);
    if (now_subject == subject) break;
    subject = std::move(now_subject);
  }
  return std::optional<SessionRecord>();
}

SessionOutcome<bool> MemorySessionStore::renew_now(std::string_view session_id, UnixNanos now,
                                                   std::chrono::seconds lease) {
  for (std::optional<std::string> subject = index_subject(session_id); subject;) {
    Shard& shard = shard_for(*subject);
    const std::lock_guard lock(shard.mutex);
    if (const auto it = shard.subjects.find(*subject); it != shard.subjects.end()) {
      if (const auto bound = it->second.bound.find(session_id); bound != it->second.bound.end()) {
        Slot& slot = bound->second;
        if (slot.lease_expires <= now) return false;  // already free; the next count frees it
        const UnixNanos expires = lease_end(now, lease);
        const UnixNanos slack = std::min<UnixNanos>(kMaxUnpersistedRenewal, lease / 4);
        if (expires < slot.persisted_expires || expires - slot.persisted_expires > slack) {
          const SlotWrite write{.kind = SlotWrite::Kind::set_lease,
                                .session_id = session_id,
                                .lease_expires = expires};
          if (auto written = db_->apply({&write, 1}); !written) {
            return core::unexpected(db_error(std::move(written.error())));
          }
          slot.persisted_expires = expires;
        }
        slot.lease_expires = expires;
        it->second.note_expiry(expires);
        return true;
      }
    }
    auto now_subject = index_subject(session_id);
    if (now_subject == subject) break;
    subject = std::move(now_subject);
  }
  return false;
}

SessionOutcome<SessionStore::Listing> MemorySessionStore::list_now(std::string_view subject,
                                                                   UnixNanos now) {
  Listing listing;
  Shard& shard = shard_for(subject);
  const std::lock_guard lock(shard.mutex);
  const auto it = shard.subjects.find(subject);
  if (it == shard.subjects.end()) return listing;
  auto freed = free_expired(it->second, now);
  if (!freed) return core::unexpected(std::move(freed.error()));
  listing.active = it->second.held();
  listing.sessions.reserve(it->second.bound.size());
  for (const auto& [session_id, slot] : it->second.bound) {
    listing.sessions.push_back(SessionRecord{.session_id = session_id,
                                             .subject = std::string(subject),
                                             .account_id = slot.account_id,
                                             .created = slot.created,
                                             .lease_expires = slot.lease_expires});
  }
  if (it->second.empty()) shard.subjects.erase(it);
  // Oldest first; the id breaks ties so the order is stable from call to call.
  std::sort(listing.sessions.begin(), listing.sessions.end(),
            [](const SessionRecord& a, const SessionRecord& b) {
              return a.created != b.created ? a.created < b.created : a.session_id < b.session_id;
            });
  return listing;
}

std::size_t MemorySessionStore::sweep(UnixNanos now) {
  std::size_t freed = 0;
  std::vector<SlotWrite> writes;
  for (std::size_t i = 0; i <= shard_mask_; ++i) {
    Shard& shard = shards_[i];
    const std::lock_guard lock(shard.mutex);
    // One transaction per shard: a sweep after a quiet night may free many slots at once.
    writes.clear();
    for (const auto& [subject, slots] : shard.subjects) {
      if (now < slots.next_expiry) continue;
      for (const auto& [session_id, slot] : slots.bound) {
        if (slot.lease_expires <= now) {
          writes.push_back({.kind = SlotWrite::Kind::erase, .session_id = session_id});
        }
      }
    }
    if (!db_->apply(writes)) continue;  // kept, in memory and table alike, until next time
    for (auto& [subject, slots] : shard.subjects) {
      if (now >= slots.next_expiry) freed += drop_expired(slots, now);
    }
    boost::unordered::erase_if(shard.subjects,
                               [](const auto& entry) { return entry.second.empty(); });
  }
  return freed;
}

std::size_t MemorySessionStore::slot_count() const {
  std::size_t total = 0;
  for (std::size_t i = 0; i <= shard_mask_; ++i) {
    const std::lock_guard lock(shards_[i].mutex);
    for (const auto& [subject, slots] : shards_[i].subjects) {
      total += static_cast<std::size_t>(slots.held());
    }
  }
  return total;
}

void MemorySessionStore::acquire(std::string_view subject, std::string_view account_id,
                                 std::optional<std::int64_t> limit, UnixNanos now,
                                 std::chrono::seconds lease, boost::asio::any_io_executor executor,
                                 SessionHandler<SlotGrant> done) {
  post_result(executor, std::move(done), acquire_now(subject, account_id, limit, now, lease));
}

void MemorySessionStore::bind(std::string_view subject, std::string_view reservation,
                              std::string_view session_id, UnixNanos now,
                              std::chrono::seconds lease, boost::asio::any_io_executor executor,
                              SessionHandler<bool> done) {
  post_result(executor, std::move(done), bind_now(subject, reservation, session_id, now, lease));
}

void MemorySessionStore::cancel(std::string_view subject, std::string_view reservation,
                                boost::asio::any_io_executor executor, SessionHandler<bool> done) {
  post_result(executor, std::move(done), cancel_now(subject, reservation));
}

void MemorySessionStore::release(std::string_view subject, std::string_view session_id,
                                 boost::asio::any_io_executor executor, SessionHandler<bool> done) {
  post_result(executor, std::move(done), release_now(subject, session_id));
}

void MemorySessionStore::find(std::string_view session_id, UnixNanos now,
                              boost::asio::any_io_executor executor,
                              SessionHandler<std::optional<SessionRecord>> done) {
  post_result(executor, std::move(done), find_now(session_id, now));
}

void MemorySessionStore::renew(std::string_view session_id, UnixNanos now,
                               std::chrono::seconds lease, boost::asio::any_io_executor executor,
                               SessionHandler<bool> done) {
  post_result(executor, std::move(done), renew_now(session_id, now, lease));
}

void MemorySessionStore::list(std::string_view subject, UnixNanos now,
                              boost::asio::any_io_executor executor, SessionHandler<Listing> done) {
  post_result(executor, std::move(done), list_now(subject, now));
}

}  // namespace gw::store
