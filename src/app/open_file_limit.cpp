#include "app/open_file_limit.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

namespace gw::app {
namespace {

// Listeners, the admin server, Redis connections, SQLite, logs, the idle upstream pool.
constexpr std::size_t kReservedDescriptors = 64;

}  // namespace

std::size_t raise_open_file_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return limit.rlim_cur == RLIM_INFINITY ? static_cast<std::size_t>(-1)
                                         : static_cast<std::size_t>(limit.rlim_cur);
}

void warn_if_descriptors_short(std::size_t limit, std::size_t max_connections) {
  if (limit == 0 || limit >= 2 * max_connections + kReservedDescriptors) return;
  spdlog::warn(
      "open-files limit {} is short of http.max_connections {} (a proxied connection may hold "
      "2 descriptors, plus {} reserved): raise it (ulimit -n, LimitNOFILE=) or lower "
      "max_connections; meanwhile accepting pauses whenever descriptors run out",
      limit, max_connections, kReservedDescriptors);
}

}  // namespace gw::app
