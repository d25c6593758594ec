// libFuzzer target over a session stream's client side (stream/stream_relay.cpp,
// client_to_upstream): the input is what a client sends once its WebSocket handshake is
// done, any bytes at all, read by the gateway's Beast WebSocket stream (server role,
// read_message_max(0) as HttpConnection sets it) piece by piece up to max_message_bytes,
// each complete message metered (audio_meter.h, with the padding the relay prepares) and
// given to the StreamLimiter, whose shaping waits are taken as the relay takes them.
//
// Invariants (a trap otherwise), besides no crash and no ASan/UBSan report:
//   - a message that reaches the meter is at most max_message_bytes long and, when text,
//     valid UTF-8 (Beast refuses the rest);
//   - the metered audio is bounded by the message: its size for binary, at most 3/4 of
//     it for text;
//   - shaping ends: a message the limiter says to wait for is forwarded after at most a
//     few waits, each at most the one second a bucket takes to fill (no frame size can
//     stall a stream forever).
//
// The input's first byte picks the over-limit actions and the size of the transport's
// reads (a recv returns any split of the stream); the rest is the client's bytes.
#include <boost/beast/_experimental/test/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "config/gateway_config.h"
#include "stream/audio_meter.h"
#include "stream/stream_limiter.h"

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace websocket = beast::websocket;
using gw::stream::StreamLimiter;
using Nanos = std::chrono::nanoseconds;

constexpr std::size_t kMaxMessageBytes = 8 * 1024;  // websocket.max_message_bytes, scaled down
constexpr std::size_t kReadPiece = 64 * 1024;       // StreamRelay::kReadPiece
constexpr int kMaxMessages = 64;
constexpr StreamLimiter::Rates kRates{100, 4096};  // small, so that inputs reach the limits

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "\n*** stream invariant broken: %s\n", what.c_str());
  std::fflush(stderr);
  __builtin_trap();
}

// GW_FUZZ_TRACE=1 in the environment: one line per message on stderr saying how it
// ended (to check what a corpus reaches: `ws_frames_fuzzer -runs=0 corpus/`).
void trace(const std::string& what) {
  static const bool on = std::getenv("GW_FUZZ_TRACE") != nullptr;
  if (on) std::fprintf(stderr, "stream: %s\n", what.c_str());
}

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    std::uint32_t code = 0;
    if (c < 0x80) {
      ++i;
      continue;
    }
    if ((c & 0xe0) == 0xc0) {
      n = 1;
      code = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2;
      code = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3;
      code = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // truncated sequence
    for (std::size_t k = 1; k <= n; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xc0) != 0x80) return false;
      code = code << 6 | (d & 0x3f);
    }
    static constexpr std::uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (code < kMin[n] || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return false;
    i += n + 1;
  }
  return true;
}

http::request<http::empty_body> upgrade_request() {
  http::request<http::empty_body> req{http::verb::get, "/v1/sessions/sess_1/connect", 11};
  req.set(http::field::host, "gateway.test");
  req.set(http::field::upgrade, "websocket");
  req.set(http::field::connection, "Upgrade");
  req.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  req.set(http::field::sec_websocket_version, "13");
  return req;
}

// StreamRelay::client_to_upstream's limiter loop for one message: forwarded, dropped or
// the stream closed.
bool limit(StreamLimiter& limiter, std::int64_t audio, Nanos& now) {
  for (int waits = 0;; ++waits) {
    const StreamLimiter::Verdict verdict = limiter.decide(audio, now);
    switch (verdict.action) {
      case StreamLimiter::Verdict::Action::forward:
        return true;
      case StreamLimiter::Verdict::Action::drop:
        if (verdict.retry_after_ms < 1) fail("a drop without a retry_after_ms");
        return true;
      case StreamLimiter::Verdict::Action::close:
        return false;
      case StreamLimiter::Verdict::Action::wait:
        if (verdict.wait <= Nanos{0} || verdict.wait > std::chrono::seconds(1) + Nanos{1000}) {
          fail("a shaping wait of " + std::to_string(verdict.wait.count()) + " ns for " +
               std::to_string(audio) + " bytes of audio");
        }
        if (waits >= 4) fail("shaping does not let a message through");
        now += verdict.wait;
        break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static net::io_context ioc;
  static constexpr std::size_t kReadSizes[] = {1536, 1, 2, 7, 64, 1536, 4096, 65536};
  const std::uint8_t selector = data[0];
  gw::config::WebSocketConfig config;
  config.messages_over_limit =
      selector & 0x08 ? gw::config::OverLimitAction::shape : gw::config::OverLimitAction::reject;
  config.audio_over_limit =
      selector & 0x10 ? gw::config::OverLimitAction::reject : gw::config::OverLimitAction::shape;
  config.close_after_violation = std::chrono::milliseconds(selector & 0x20 ? 0 : 10000);
  config.max_message_bytes = kMaxMessageBytes;

  beast::test::stream transport(ioc);
  beast::test::stream peer(ioc);  // the client: what the gateway writes lands here
  transport.connect(peer);
  transport.read_size(kReadSizes[selector & 0x07]);
  transport.append(std::string_view(reinterpret_cast<const char*>(data + 1), size - 1));
  transport.close_remote();  // the client's bytes end with the input

  websocket::stream<beast::test::stream&> client(transport);
  client.read_message_max(0);  // as HttpConnection: the relay enforces the maximum
  beast::error_code ec;
  client.accept(upgrade_request(), ec);
  if (ec) fail("the handshake failed: " + ec.message());

  Nanos now{1'000'000'000};
  StreamLimiter limiter(kRates, config, now);
  for (int messages = 0; messages < kMaxMessages; ++messages) {
    beast::flat_buffer buffer;
    do {
      client.read_some(buffer, kReadPiece, ec);
    } while (!ec && !client.is_message_done() && buffer.size() <= config.max_message_bytes);
    peer.clear();  // pongs and close frames the gateway answered with
    if (ec) {      // closed, or a protocol error (Beast closes with 1002 / 1007)
      trace("ends: " + ec.message());
      break;
    }
    if (buffer.size() > config.max_message_bytes) {
      trace("ends: message too big (1009)");
      break;
    }

    const bool binary = client.got_binary();
    std::int64_t audio = 0;
    const std::size_t message_size = buffer.size();
    if (binary) {
      audio = static_cast<std::int64_t>(gw::stream::audio_bytes(
          true, {static_cast<const char*>(buffer.data().data()), message_size}));
      if (audio != static_cast<std::int64_t>(message_size)) {
        fail("a binary message does not count its size");
      }
    } else {
      buffer.prepare(gw::stream::kAudioMeterPadding);  // as the relay does, before data()
      const std::string_view text(static_cast<const char*>(buffer.data().data()), message_size);
      if (!valid_utf8(text)) fail("a text message that is not UTF-8 reached the meter");
      audio = static_cast<std::int64_t>(gw::stream::audio_bytes(false, text));
      if (static_cast<std::size_t>(audio) > message_size / 4 * 3 + message_size % 4 * 3 / 4) {
        fail("a text message of " + std::to_string(message_size) + " bytes meters " +
             std::to_string(audio) + " bytes of audio");
      }
    }
    trace(std::string(binary ? "binary" : "text") + " message of " + std::to_string(message_size) +
          " bytes, " + std::to_string(audio) + " bytes of audio");
    if (!limit(limiter, audio, now)) {
      trace("ends: sustained violations (1008)");
      break;
    }
    now += std::chrono::milliseconds(1);
  }
  return 0;
}
