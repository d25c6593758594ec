// Microbenchmark of the WebSocket audio meter (stream/audio_meter.h): the per-message cost of
// finding an audio message's base64 payload and its decoded length with simdjson On-Demand.
//
// Messages are what clients send: {"type":"audio.input","audio":{"payload":"<base64>",...}}
// with 4 KiB of audio (128 ms of 16 kHz PCM16, ~5.5 KB of base64: the common case) and
// 64 KiB; the `audio` shape; and "type" last, which the meter handles in the same one pass.
// bytes_per_second is message bytes metered per second; items_per_second is messages.
//
// Build Release; run pinned to one core:
//   taskset -c 0 ./bench/audio_meter_bench --benchmark_repetitions=3
//                --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "stream/audio_meter.h"

namespace {

using gw::stream::audio_bytes;
using gw::stream::kAudioMeterPadding;

// Not a real encoder: only the length and the alphabet matter to the meter.
std::string base64_of(std::size_t audio_bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out((audio_bytes + 2) / 3 * 4, 'A');
  std::uint64_t s = 0x9E3779B97F4A7C15ull;
  for (char& c : out) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    c = kAlphabet[s >> 58];
  }
  if (audio_bytes % 3 == 1) {
    out.replace(out.size() - 2, 2, "==");
  } else if (audio_bytes % 3 == 2) {
    out.back() = '=';
  }
  return out;
}

enum Shape : std::int64_t { kAudioInput, kAudio, kAudioInputTypeLast };

std::string message(Shape shape, std::size_t audio_bytes) {
  const std::string b64 = base64_of(audio_bytes);
  switch (shape) {
    case kAudioInput:
      return R"({"type":"audio.input","audio":{"payload":")" + b64 +
             R"(","format":"pcm16","sample_rate":16000},"seq":1234})";
    case kAudio:
      return R"({"type":"audio","data":")" + b64 + R"(","sample_rate":16000})";
    case kAudioInputTypeLast:
      return R"({"seq":1234,"audio":{"format":"pcm16","payload":")" + b64 +
             R"(","sample_rate":16000},"type":"audio.input"})";
  }
  return {};
}

// The message in a buffer with the padding the meter requires, as the relay's read buffer
// provides it.
class Padded {
 public:
  explicit Padded(const std::string& text)
      : size_(text.size()), bytes_(new char[text.size() + kAudioMeterPadding]()) {
    std::memcpy(bytes_.get(), text.data(), text.size());
  }
  std::string_view view() const { return {bytes_.get(), size_}; }

 private:
  std::size_t size_;
  std::unique_ptr<char[]> bytes_;
};

void BM_AudioMeterText(benchmark::State& state) {
  const auto shape = static_cast<Shape>(state.range(0));
  const auto audio = static_cast<std::size_t>(state.range(1));
  const Padded msg(message(shape, audio));
  if (audio_bytes(false, msg.view()) != audio) {
    state.SkipWithError("wrong audio byte count");
    return;
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(audio_bytes(false, msg.view()));
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * msg.view().size()));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["msg_bytes"] = static_cast<double>(msg.view().size());
}
BENCHMARK(BM_AudioMeterText)
    ->ArgNames({"shape", "audio"})
    ->Args({kAudioInput, 4096})
    ->Args({kAudioInput, 65536})
    ->Args({kAudio, 4096})
    ->Args({kAudio, 65536})
    ->Args({kAudioInputTypeLast, 4096});

// A non-audio control message: the common small text message.
void BM_AudioMeterSmallControl(benchmark::State& state) {
  const Padded msg(R"({"type":"session.update","session":{"language":"de","vad":true}})");
  for (auto _ : state) {
    benchmark::DoNotOptimize(audio_bytes(false, msg.view()));
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * msg.view().size()));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_AudioMeterSmallControl);

}  // namespace

int main(int argc, char** argv) {
  // Stage 1 is dispatched at run time (haswell, westmere, fallback...): say which one ran.
  benchmark::AddCustomContext("simdjson_implementation",
                              std::string(simdjson::get_active_implementation()->name()));
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
    return 1;
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
