// The concurrent-session slot of one session creation (SPEC §4). It is reserved before
// `POST /v1/sessions` is forwarded, then either bound to the id of the upstream's 2xx
// answer or given back. This object owns that obligation: a slot still held when it is
// destroyed is given back (the store call is issued, not awaited), so no path through
// the proxy can leak one; the proxy still settles explicitly (awaited) wherever it can, so
// that the answer reaches the client after the slot is free.
//
// Thread-safety: none; it lives in one request's exchange on one worker.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/beast.h"
#include "store/session_store.h"

namespace gw::proxy {

class SessionSlot {
 public:
  // Takes over `grant` of `subject` (held if grant.acquired).
  SessionSlot(store::SessionStore& store, net::any_io_executor executor, std::string subject,
              store::SlotGrant grant);
  ~SessionSlot();
  SessionSlot(const SessionSlot&) = delete;
  SessionSlot& operator=(const SessionSlot&) = delete;

  // What the store answered (its counts go on the answer), held or not.
  const store::SlotGrant& grant() const noexcept { return grant_; }
  // Reserved, and neither bound nor given back yet.
  bool held() const noexcept { return held_; }

  // Binds the slot to the session the upstream created if `status` is 2xx and `body`
  // carries its "id"; gives it back otherwise. No-op when not held.
  net::awaitable<void> settle(int status, std::string_view body, core::UnixNanos now,
                              std::chrono::seconds lease);
  // Gives the slot back. No-op when not held.
  net::awaitable<void> cancel();

 private:
  store::SessionStore& store_;
  net::any_io_executor executor_;
  std::string subject_;
  store::SlotGrant grant_;
  bool held_ = false;
};

}  // namespace gw::proxy
