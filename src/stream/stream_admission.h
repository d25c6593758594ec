// Admission of session streams on this instance (SPEC §3 websocket.max_streams,
// websocket.max_streams_per_session): a stream holds a Ticket for its life, and the upgrade
// is refused before the upstream is contacted when either cap is reached. Counted per
// instance: the caps bound this process's sockets and memory, which is what they are for.
//
// Memory: one entry per session with an open stream, erased with its last stream.
// Thread-safety: every method may be called from any thread (one mutex, taken at stream
// start and end only).
#pragma once

#include <boost/unordered/unordered_flat_map.hpp>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

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

  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };

  mutable std::mutex mutex_;
  std::size_t open_ = 0;
  boost::unordered_flat_map<std::string, std::uint32_t, Hash, std::equal_to<>> per_session_;
};

}  // namespace gw::stream
