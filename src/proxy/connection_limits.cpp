#include "proxy/connection_limits.h"

namespace gw::proxy {

ConnectionLimits::Ticket& ConnectionLimits::Ticket::operator=(Ticket&& other) noexcept {
  if (this != &other) {
    release();
    owner_ = other.owner_;
    block_ = other.block_;
    per_client_ = other.per_client_;
    other.owner_ = nullptr;
  }
  return *this;
}

void ConnectionLimits::Ticket::release() noexcept {
  if (owner_ != nullptr) owner_->release(block_, per_client_);
  owner_ = nullptr;
}

ConnectionLimits::Refusal ConnectionLimits::admit(const core::IpBytes& peer, const Caps& caps,
                                                  Ticket& ticket) {
  const core::IpBytes block = core::client_block(peer);
  std::lock_guard lock(mutex_);
  if (open_.load(std::memory_order_relaxed) >= caps.total) return Refusal::total;
  if (!caps.exempt) {
    auto [it, inserted] = per_client_.try_emplace(block, 0);
    if (it->second >= caps.per_client) return Refusal::per_client;
    ++it->second;
  }
  open_.fetch_add(1, std::memory_order_relaxed);
  ticket.release();
  ticket.owner_ = this;
  ticket.block_ = block;
  ticket.per_client_ = !caps.exempt;
  return Refusal::none;
}

void ConnectionLimits::release(const core::IpBytes& block, bool per_client) noexcept {
  std::lock_guard lock(mutex_);
  open_.fetch_sub(1, std::memory_order_relaxed);
  if (!per_client) return;
  if (auto it = per_client_.find(block); it != per_client_.end() && --it->second == 0) {
    per_client_.erase(it);
  }
}

std::size_t ConnectionLimits::client_blocks() const {
  std::lock_guard lock(mutex_);
  return per_client_.size();
}

}  // namespace gw::proxy
