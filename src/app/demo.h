// `kallglot-gateway demo`: the gateway and the mock Kallglot API in one process, with the
// in-memory store, a throw-away accounts file and one demo account per plan, whose keys
// (and a curl loop that shows the 61st free request refused) are printed on start.
#pragma once

#include <cstdint>

namespace gw::app {

int run_demo(std::uint16_t port, std::uint16_t admin_port);

}  // namespace gw::app
