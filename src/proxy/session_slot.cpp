#include "proxy/session_slot.h"

#include <spdlog/spdlog.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "store/store_await.h"

namespace gw::proxy {
namespace {

// The "id" of a session-creation answer, or empty.
std::string session_id_of(std::string_view body) {
  boost::system::error_code ec;
  const boost::json::value value = boost::json::parse(body, ec);
  if (ec || !value.is_object()) return {};
  const auto* id = value.as_object().if_contains("id");
  if (id == nullptr || !id->is_string() || id->as_string().empty()) return {};
  return std::string(id->as_string());
}

}  // namespace

SessionSlot::SessionSlot(store::SessionStore& store, net::any_io_executor executor,
                         std::string subject, store::SlotGrant grant)
    : store_(store),
      executor_(std::move(executor)),
      subject_(std::move(subject)),
      grant_(std::move(grant)),
      held_(grant_.acquired) {}

SessionSlot::~SessionSlot() {
  if (!held_) return;
  // A path that did not settle: give the slot back without waiting (the store copies
  // what it needs before the call returns).
  store_.cancel(subject_, grant_.reservation, executor_, [](store::SessionOutcome<bool> done) {
    if (!done) spdlog::error("session store: cancel: {}", done.error().detail);
  });
}

net::awaitable<void> SessionSlot::cancel() {
  if (!held_) co_return;
  held_ = false;
  auto cancelled = co_await store::async_session<bool>([&](auto executor, auto done) {
    store_.cancel(subject_, grant_.reservation, executor, std::move(done));
  });
  if (!cancelled) spdlog::error("session store: cancel: {}", cancelled.error().detail);
}

net::awaitable<void> SessionSlot::settle(int status, std::string_view body, core::UnixNanos now,
                                         std::chrono::seconds lease) {
  if (!held_) co_return;
  std::string session_id;
  if (status / 100 == 2) {
    session_id = session_id_of(body);
    if (session_id.empty()) {
      spdlog::warn("session creation answered {} without a parsable \"id\": slot given back",
                   status);
    }
  }
  if (session_id.empty()) {
    co_await cancel();
    co_return;
  }
  held_ = false;
  auto bound = co_await store::async_session<bool>([&](auto executor, auto done) {
    store_.bind(subject_, grant_.reservation, session_id, now, lease, executor, std::move(done));
  });
  if (!bound) {
    spdlog::error("session store: bind: {}", bound.error().detail);
  } else if (!*bound) {
    spdlog::warn("session {}: its slot was freed before the upstream answered", session_id);
  }
}

}  // namespace gw::proxy
