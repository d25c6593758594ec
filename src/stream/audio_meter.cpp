// Audio metering of client WebSocket messages (SPEC §5).
//
// Cost: simdjson's stage 1 indexes the structural characters of the whole message at
// several GB/s; the base64 payload, nearly all of the bytes, is then never looked at again
// except by one memchr for '\' (only when the type is an audio one). Its length comes from
// the distance between the string's structural index and the next one.
//
// What counts as invalid (0): the meter's errors must only ever go one way. Counting audio
// for a message the upstream rejects costs the client a little quota; counting 0 for one
// the upstream accepts is free audio. So the structure is checked fully (one root object,
// brackets matched by kind, commas, colons, string keys, nothing after the root, which
// catches truncation and concatenation), but scalar contents are not judged: 1e400, NaN, a
// lone "\ud800" are accepted by some JSON parsers, and rejecting them would be a bypass.
// Keys are matched through their escapes for the same reason ("\u0074ype" is "type" to the
// upstream). Containers nested deeper than kMaxCheckedDepth are only bracket-counted by
// simdjson's skip, so recursion stays bounded on a worker thread's stack.
//
// Memory: a parser keeps buffers of about 5.7 bytes per byte of the largest message it has
// seen. Up to kRetainedCapacity that is kept per thread (the thread_local parser); larger
// messages (up to websocket.max_message_bytes, 16 MiB) get a parser of their own that is
// freed on return, so one large message does not pin ~100 MB to a worker thread forever.
#include "stream/audio_meter.h"

#include <simdjson.h>

#include <algorithm>
#include <boost/url/grammar/hexdig_chars.hpp>
#include <cstdint>
#include <utility>

namespace gw::stream {
namespace {

namespace od = simdjson::ondemand;
using simdjson::error_code;

static_assert(kAudioMeterPadding >= simdjson::SIMDJSON_PADDING,
              "callers pad messages for simdjson");

constexpr std::size_t kRetainedCapacity = std::size_t{1} << 20;
constexpr int kMaxCheckedDepth = 64;

enum class AudioShape { none, audio_input, audio };

AudioShape shape_of(std::string_view type) {
  if (type == "audio.input") {
    return AudioShape::audio_input;
  }
  if (type == "audio") {
    return AudioShape::audio;
  }
  return AudioShape::none;
}

constexpr bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

using boost::urls::grammar::hexdig_value;  // -1 for a character that is not a hex digit

// Whether a key, read through its escapes, is `target` (ASCII). Never fails on odd escapes:
// they just do not match. Reads stop at the first difference or at the closing quote, which
// stage 1 guarantees is there (a '"' is not a hex digit, so "\u" cannot run past it).
bool key_is(od::raw_json_string key, std::string_view target) {
  const char* p = key.raw();
  for (const char want : target) {
    if (*p == '"') {
      return false;
    }
    if (*p != '\\') {
      if (*p != want) {
        return false;
      }
      ++p;
      continue;
    }
    if (p[1] == 'u') {
      int code = 0;
      for (int k = 2; k < 6; ++k) {
        const int digit = hexdig_value(p[k]);
        if (digit < 0) {
          return false;
        }
        code = code * 16 + digit;
      }
      if (code != static_cast<unsigned char>(want)) {
        return false;
      }
      p += 6;
    } else {
      // Of the two-character escapes only these stand for printable ASCII.
      if (!((p[1] == '/' || p[1] == '"' || p[1] == '\\') && p[1] == want)) {
        return false;
      }
      p += 2;
    }
  }
  return *p == '"';
}

error_code check_value(od::value& value, int depth);

error_code check_object(od::object& object, int depth) {
  for (auto field_result : object) {
    od::field field;
    if (const auto error = std::move(field_result).get(field)) {
      return error;
    }
    if (const auto error = check_value(field.value(), depth)) {
      return error;
    }
  }
  return simdjson::SUCCESS;
}

// Checks the structure of a value; see the top of the file for what is not checked. An
// unread scalar (or a container past the depth limit) is skipped by the enclosing loop.
error_code check_value(od::value& value, int depth) {
  const std::string_view token = value.raw_json_token();
  const char first = token.empty() ? '\0' : token.front();
  if (first == ',' || first == ':' || first == ']' || first == '}') {
    return simdjson::TAPE_ERROR;  // "a":, -- no value at all
  }
  if (first == '"') {
    // Read it rather than let the loop skip it: the skip takes `"b":` for a key and would
    // accept {"a":"b":1}.
    od::raw_json_string ignored;
    return value.get_raw_json_string().get(ignored);
  }
  if (depth >= kMaxCheckedDepth) {
    return simdjson::SUCCESS;
  }
  if (first == '{') {
    od::object object;
    if (const auto error = value.get_object().get(object)) {
      return error;
    }
    return check_object(object, depth + 1);
  }
  if (first == '[') {
    od::array array;
    if (const auto error = value.get_array().get(array)) {
      return error;
    }
    for (auto element_result : array) {
      od::value element;
      if (const auto error = std::move(element_result).get(element)) {
        return error;
      }
      if (const auto error = check_value(element, depth + 1)) {
        return error;
      }
    }
  }
  return simdjson::SUCCESS;
}

// The raw (still escaped) contents of a string value, without its quotes; an empty view
// for any other value, whose structure is checked instead.
error_code raw_string_or_check(od::value& value, int depth, std::string_view& out) {
  out = {};
  // The token runs from the opening quote to the next structural character, so it is the
  // quoted string plus any whitespace after it. Read before get_raw_json_string() moves on.
  std::string_view token = value.raw_json_token();
  od::raw_json_string raw;
  if (const auto error = value.get_raw_json_string().get(raw)) {
    // Not a string: the value is still there, unconsumed.
    return error == simdjson::INCORRECT_TYPE ? check_value(value, depth) : error;
  }
  while (!token.empty() && is_json_space(token.back())) {
    token.remove_suffix(1);
  }
  if (token.size() < 2 || token.back() != '"' || token.data() + 1 != raw.raw()) {
    return simdjson::TAPE_ERROR;  // cannot happen for a string stage 1 accepted
  }
  out = token.substr(1, token.size() - 2);
  return simdjson::SUCCESS;
}

std::size_t meter_json(od::parser& parser, std::string_view message) {
  od::document doc;
  if (parser.iterate(message.data(), message.size(), message.size() + kAudioMeterPadding)
          .get(doc)) {
    return 0;
  }
  od::object root;
  if (doc.get_object().get(root)) {
    return 0;
  }

  // One pass in document order, whatever the order of the fields: remember both candidate
  // strings and decide by the type at the end. Later duplicates win, as in most parsers.
  AudioShape shape = AudioShape::none;
  std::string_view payload;  // audio.input: audio.payload
  std::string_view data;     // audio: data
  for (auto field_result : root) {
    od::field field;
    if (std::move(field_result).get(field)) {
      return 0;
    }
    od::value& value = field.value();
    if (key_is(field.key(), "type")) {
      std::string_view type;
      if (value.get_string().get(type)) {
        return 0;  // a type that is not a string is not an audio message
      }
      shape = shape_of(type);
      if (shape == AudioShape::none) {
        return 0;  // no need to read further
      }
    } else if (key_is(field.key(), "audio")) {
      payload = {};
      if (value.raw_json_token().front() != '{') {
        if (check_value(value, 1)) {
          return 0;
        }
        continue;
      }
      od::object audio;
      if (value.get_object().get(audio)) {
        return 0;
      }
      for (auto inner_result : audio) {
        od::field inner;
        if (std::move(inner_result).get(inner)) {
          return 0;
        }
        const bool is_payload = key_is(inner.key(), "payload");
        std::string_view string;
        if (is_payload ? raw_string_or_check(inner.value(), 2, string)
                       : check_value(inner.value(), 2)) {
          return 0;
        }
        if (is_payload) {
          payload = string;
        }
      }
    } else if (key_is(field.key(), "data")) {
      if (raw_string_or_check(value, 1, data)) {
        return 0;
      }
    } else if (check_value(value, 1)) {
      return 0;
    }
  }
  // The object must be the whole message: reject trailing tokens ("{...}{...}", "{...}]").
  if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) {
    return 0;
  }
  switch (shape) {
    case AudioShape::audio_input:
      return base64_decoded_length(payload);
    case AudioShape::audio:
      return base64_decoded_length(data);
    case AudioShape::none:
      break;
  }
  return 0;  // no type at all
}

// floor(6·chars / 8) without overflow: the whole bytes that `chars` base64 digits carry.
constexpr std::size_t bytes_of_digits(std::size_t chars) {
  return chars / 4 * 3 + chars % 4 * 3 / 4;
}

}  // namespace

std::size_t audio_bytes(bool binary, std::string_view message) {
  if (binary) {
    return message.size();
  }
  // Plain-text messages are not JSON objects: skip stage 1 for them.
  const auto first = std::find_if_not(message.begin(), message.end(), is_json_space);
  if (first == message.end() || *first != '{') {
    return 0;
  }
  if (message.size() > kRetainedCapacity) {
    simdjson::ondemand::parser parser;
    return meter_json(parser, message);
  }
  thread_local simdjson::ondemand::parser parser;
  return meter_json(parser, message);
}

// 3·len/4 minus padding, written as the whole bytes carried by the non-padding digits: the
// same for valid input (len a multiple of 4, at most two '='), never negative for the rest
// ("=", "==", unpadded lengths).
std::size_t base64_decoded_length(std::string_view raw) {
  std::size_t chars = raw.size();
  std::size_t padding = 0;
  if (raw.find('\\') == std::string_view::npos) {
    while (padding < 2 && padding < chars && raw[chars - 1 - padding] == '=') {
      ++padding;
    }
    return bytes_of_digits(chars - padding);
  }

  // Escapes are rare (some encoders write "\/" for '/'): count each as the one character it
  // stands for, and see through "\u003d" when looking for the padding.
  chars = 0;
  std::size_t i = 0;
  while (i < raw.size()) {
    char c = raw[i];
    if (c == '\\' && i + 1 < raw.size()) {
      c = raw[i + 1];
      if (c == 'u') {
        int code = 0;
        for (std::size_t k = 0; k < 4 && code >= 0; ++k) {
          const int digit = i + 2 + k < raw.size() ? hexdig_value(raw[i + 2 + k]) : -1;
          code = digit < 0 ? -1 : code * 16 + digit;
        }
        c = code == '=' ? '=' : 'u';  // only '=' matters below
        i += code < 0 ? 2 : 6;        // malformed: not ours to validate; move on
      } else {
        i += 2;
      }
    } else {
      ++i;
    }
    ++chars;
    padding = c == '=' ? padding + 1 : 0;
  }
  return bytes_of_digits(chars - std::min<std::size_t>(padding, 2));
}

}  // namespace gw::stream
