// How many bytes of audio a client -> upstream WebSocket message carries (SPEC §5):
//   binary message                           its payload length
//   text {"type":"audio.input", "audio":{"payload":"<base64>"}}   decoded payload length
//   text {"type":"audio", "data":"<base64>"}                      decoded data length
//   any other message (or text that is not such JSON)              0
// The JSON is scanned with simdjson's On-Demand API (no DOM, no copy of the payload), and
// the base64 length is computed from the string's extent: 3·len/4 minus padding.
// Thread-safe: a thread_local parser per thread.
#pragma once

#include <cstddef>
#include <string_view>

namespace gw::stream {

// simdjson reads up to this many bytes past the end of a text message; the caller's
// buffer must have them allocated (their content does not matter).
inline constexpr std::size_t kAudioMeterPadding = 64;

// REQUIRES for text: `message.data()` is followed by kAudioMeterPadding readable bytes.
std::size_t audio_bytes(bool binary, std::string_view message);

// Decoded length of a base64 string (standard alphabet, with or without padding; JSON
// escapes such as "\/" count as one character). Not validated: a metering estimate.
std::size_t base64_decoded_length(std::string_view raw_json_string);

}  // namespace gw::stream
