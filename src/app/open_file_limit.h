// The open-files limit (RLIMIT_NOFILE) the gateway runs under: raised from the soft limit
// to the hard one at start (as nginx's worker_rlimit_nofile would), and checked against
// http.max_connections, since a proxied connection can hold two descriptors (client and
// upstream). Called once, from the control thread, before the listeners open.
#pragma once

#include <cstddef>

namespace gw::app {

// Returns the soft limit in force afterwards (0 if it cannot be read).
std::size_t raise_open_file_limit();

// Logs a warning when `max_connections` could run the process out of descriptors under
// `limit`: connections are then refused by EMFILE (accept pauses) before the cap.
void warn_if_descriptors_short(std::size_t limit, std::size_t max_connections);

}  // namespace gw::app
