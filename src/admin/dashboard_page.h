// GET /dashboard: one self-contained HTML page (inline style and script, no external
// resources) that polls /metrics and, given an admin token typed into the page, shows an
// account's usage. The token stays in the page's memory; nothing is stored in the browser.
#pragma once

#include <string_view>

namespace gw::admin {

extern const std::string_view kDashboardHtml;

}  // namespace gw::admin
