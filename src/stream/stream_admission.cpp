#include "stream/stream_admission.h"

namespace gw::stream {

StreamAdmission::Ticket::~Ticket() {
  if (owner_ != nullptr) owner_->release(session_id_);
}

StreamAdmission::Refusal StreamAdmission::admit(std::string_view session_id, std::size_t max_total,
                                                std::size_t max_per_session, Ticket& ticket) {
  std::lock_guard lock(mutex_);
  if (open_ >= max_total) return Refusal::total;
  auto it = per_session_.find(session_id);
  if (it == per_session_.end()) {
    it = per_session_.emplace(std::string(session_id), 0).first;
  }
  if (it->second >= max_per_session) return Refusal::per_session;
  ++it->second;
  ++open_;
  ticket.owner_ = this;
  ticket.session_id_ = std::string(session_id);
  return Refusal::none;
}

void StreamAdmission::release(const std::string& session_id) noexcept {
  std::lock_guard lock(mutex_);
  --open_;
  if (auto it = per_session_.find(session_id); it != per_session_.end() && --it->second == 0) {
    per_session_.erase(it);
  }
}

std::size_t StreamAdmission::open() const {
  std::lock_guard lock(mutex_);
  return open_;
}

}  // namespace gw::stream
