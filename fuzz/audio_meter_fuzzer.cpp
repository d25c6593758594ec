// libFuzzer target over the audio meter (stream/audio_meter.h): the input is one client
// WebSocket message's payload, metered as StreamRelay meters it. Invariants:
//
//   - bounded: a binary message counts its size; a text message at most 3/4 of its size
//     (the decoded length of a base64 string inside it), and base64_decoded_length() of
//     any text at most 3/4 of the text's length;
//   - the padding simdjson may read past the message (kAudioMeterPadding) changes nothing,
//     whatever it holds, and nothing is read past it (the message sits at the end of a heap
//     block of exactly size + padding bytes, so ASan sees any over-read);
//   - no free audio: a message that a strict JSON parser (simdjson's DOM API, another code
//     path than the meter's On-Demand one) reads as an audio message with a base64 payload
//     is counted at that payload's decoded length. Messages with duplicate keys are left
//     out of this one (parsers disagree on which duplicate wins; the meter takes the last).
#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "stream/audio_meter.h"

namespace {

using gw::stream::audio_bytes;
using gw::stream::base64_decoded_length;
using gw::stream::kAudioMeterPadding;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "\n*** audio meter invariant broken: %s\n", what.c_str());
  std::fflush(stderr);
  __builtin_trap();
}

std::size_t text_bytes(const std::uint8_t* data, std::size_t size, char fill) {
  const std::unique_ptr<char[]> block(new char[size + kAudioMeterPadding]);
  if (size > 0) std::memcpy(block.get(), data, size);
  std::memset(block.get() + size, fill, kAudioMeterPadding);
  return audio_bytes(false, std::string_view(block.get(), size));
}

bool is_base64(std::string_view s) {
  for (const char c : s) {
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
          c == '/' || c == '=')) {
      return false;
    }
  }
  return true;
}

// Whether an object holds each key at most once.
bool distinct_keys(simdjson::dom::object object) {
  std::set<std::string_view> keys;
  for (const auto field : object) {
    if (!keys.insert(field.key).second) return false;
  }
  return true;
}

// The audio a strict parser finds in the message; nullopt when it does not read the
// message as JSON, or the message is out of this check's scope (see the top).
std::optional<std::size_t> strict_audio(const std::uint8_t* data, std::size_t size) {
  static simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(reinterpret_cast<const char*>(data), size).get(root)) return std::nullopt;
  simdjson::dom::object object;
  if (root.get_object().get(object)) return std::nullopt;
  if (!distinct_keys(object)) return std::nullopt;
  std::string_view type;
  if (object["type"].get_string().get(type)) return 0;
  std::string_view payload;
  if (type == "audio.input") {
    simdjson::dom::object audio;
    if (object["audio"].get_object().get(audio)) return 0;
    if (!distinct_keys(audio)) return std::nullopt;
    if (audio["payload"].get_string().get(payload)) return 0;
  } else if (type == "audio") {
    if (object["data"].get_string().get(payload)) return 0;
  } else {
    return 0;
  }
  if (!is_base64(payload)) return std::nullopt;  // escapes that are not base64: estimates
  return base64_decoded_length(payload);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view message(reinterpret_cast<const char*>(data), size);
  if (audio_bytes(true, message) != size) fail("a binary message does not count its size");

  const std::size_t bound = size / 4 * 3 + size % 4 * 3 / 4;
  if (base64_decoded_length(message) > bound) {
    fail("base64_decoded_length() of " + std::to_string(size) + " characters is " +
         std::to_string(base64_decoded_length(message)));
  }

  const std::size_t metered = text_bytes(data, size, '\0');
  if (metered > bound) {
    fail("a text message of " + std::to_string(size) + " bytes meters " + std::to_string(metered) +
         " bytes of audio");
  }
  for (const char fill : {'}', '"', ' '}) {
    if (text_bytes(data, size, fill) != metered) {
      fail(std::string("the padding's content ('") + fill + "') changes the metered audio");
    }
  }

  if (const auto strict = strict_audio(data, size); strict && *strict != metered) {
    fail("a message a strict parser reads as " + std::to_string(*strict) +
         " bytes of audio meters " + std::to_string(metered));
  }
  return 0;
}
