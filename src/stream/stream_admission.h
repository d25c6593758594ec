// Admission of session streams on this instance (SPEC §3 websocket.max_streams,
// websocket.max_streams_per_session): a stream holds a Ticket for its life, and the upgrade
// is refused before the upstream is contacted when either cap is reached. Counted per
// instance: the caps bound this process's sockets and memory, which is what they are for.
//
// Memory: one entry per session with an open stream, erased with its last stream.
// Thread-safety: every method may be called from any thread (one mutex, taken at stream
// start and end only).
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "core/string_map.h"

namespace gw::stream {

class StreamAdmission {
 public:
  enum class Refusal { none, total, per_session };

  class Ticket {
   public:
    Ticket() = default;
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    ~Ticket();

   private:
    friend class StreamAdmission;
    StreamAdmission* owner_ = nullptr;
    std::string session_id_;
  };

  // REQUIRES: `ticket` holds nothing yet.
  Refusal admit(std::string_view session_id, std::size_t max_total, std::size_t max_per_session,
                Ticket& ticket);

  std::size_t open() const;

 private:
  void release(const std::string& session_id) noexcept;

  mutable std::mutex mutex_;
  std::size_t open_ = 0;
  core::StringMap<std::uint32_t> per_session_;
};

}  // namespace gw::stream
