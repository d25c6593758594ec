// Request-target normalization before route matching. Origin routers resolve dot segments
// and percent-encoded unreserved characters, and some go further (a `;param` dropped,
// `%2F` or `\` read as '/', a second decoding pass); if the gateway matched the raw text,
// `/v1/sessions/x/%61nalysis` or `/v1/x/../analysis/y` would reach the analysis endpoints
// without the analysis group's limit. So the gateway matches, and forwards, one canonical
// form (RFC 3986 §6.2.2: case of percent-encodings, unreserved characters decoded, dot
// segments removed), and refuses the path forms that origins read in different ways
// (docs/security.md has the table):
//   - ';' (path parameters: Java containers drop them), '\' and the other characters that
//     RFC 3986 §3.3 does not allow in a path (" < > ^ ` { | });
//   - percent-encoded '/', '\', ';', '%' (double encoding) and control characters.
// The query is kept as sent (only CTLs, space and '#' are refused there).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace gw::policy {

// The normalized origin-form target ("/path?query"), or nullopt when `target` is not a
// valid origin-form request-target or uses a refused form. Targets that need no change
// come back unchanged.
std::optional<std::string> normalize_target(std::string_view target);

// True when `target` is valid and already normalized (no percent-encoding or dot segment in
// its path): normalize_target() would return it unchanged. One pass, no allocation: the
// request path asks this first, since nearly every target is.
bool is_normal_target(std::string_view target) noexcept;

}  // namespace gw::policy
