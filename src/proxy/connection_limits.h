// Admission of client connections (SPEC §3 http.max_connections, max_connections_per_ip):
// a process-wide count and a count per client block (an IPv4 address, an IPv6 /64). A
// connection holds a Ticket for its life; destroying it gives the slot back.
//
// Memory: one small entry per client block with an open connection, erased with its last
// connection, so the table never outgrows max_connections. Peers in trusted_proxies
// count toward the total only: a load balancer carries many clients.
//
// Thread-safety: every method may be called from any thread (one mutex, taken once per
// accept and once per close; nothing on the request path).
#pragma once

#include <atomic>
#include <boost/unordered/unordered_flat_map.hpp>
#include <cstddef>
#include <cstdint>
#include <mutex>

#include "core/ip_network.h"

namespace gw::proxy {

class ConnectionLimits {
 public:
  enum class Refusal { none, total, per_client };

  class Ticket {
   public:
    Ticket() = default;
    Ticket(Ticket&& other) noexcept { *this = std::move(other); }
    Ticket& operator=(Ticket&& other) noexcept;
    ~Ticket() { release(); }

   private:
    friend class ConnectionLimits;
    void release() noexcept;

    ConnectionLimits* owner_ = nullptr;
    core::IpBytes block_{};
    bool per_client_ = false;
  };

  struct Caps {
    std::size_t total = 0;
    std::size_t per_client = 0;
    bool exempt = false;  // the peer is a trusted proxy: no per-client cap
  };

  // A ticket for a new connection from `peer`, or why it is refused.
  Refusal admit(const core::IpBytes& peer, const Caps& caps, Ticket& ticket);

  std::size_t open() const noexcept { return open_.load(std::memory_order_relaxed); }
  std::size_t client_blocks() const;  // entries of the per-client table (tests, metrics)

 private:
  void release(const core::IpBytes& block, bool per_client) noexcept;

  std::atomic<std::size_t> open_{0};
  mutable std::mutex mutex_;
  boost::unordered_flat_map<core::IpBytes, std::uint32_t, core::IpBytesHash> per_client_;
};

}  // namespace gw::proxy
