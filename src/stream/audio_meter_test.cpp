#include "stream/audio_meter.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <string_view>

namespace gw::stream {
namespace {

// A message in a heap block of exactly size + kAudioMeterPadding bytes, so that ASan reports
// any read past the padding. The padding is filled with `fill`: simdjson must not be fooled
// by what it contains (a '}' right after a truncated document is its classic trap).
class Padded {
 public:
  explicit Padded(std::string_view text, char fill = '\0')
      : size_(text.size()), bytes_(new char[text.size() + kAudioMeterPadding]) {
    std::memcpy(bytes_.get(), text.data(), text.size());
    std::memset(bytes_.get() + size_, fill, kAudioMeterPadding);
  }
  std::string_view view() const { return {bytes_.get(), size_}; }

 private:
  std::size_t size_;
  std::unique_ptr<char[]> bytes_;
};

constexpr char kPaddingFills[] = {'\0', ' ', '}', ']', ',', '"', '{', 'x'};

// The meter of a text message, the same under every padding content.
std::size_t text_bytes(std::string_view text) {
  const std::size_t first = audio_bytes(false, Padded(text).view());
  for (const char fill : kPaddingFills) {
    EXPECT_EQ(audio_bytes(false, Padded(text, fill).view()), first)
        << "padding '" << fill << "' for " << text.substr(0, 200);
  }
  return first;
}

std::string base64(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const auto n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i]) << 16 |
                                              static_cast<unsigned char>(bytes[i + 1]) << 8 |
                                              static_cast<unsigned char>(bytes[i + 2]));
    out += kAlphabet[n >> 18 & 63];
    out += kAlphabet[n >> 12 & 63];
    out += kAlphabet[n >> 6 & 63];
    out += kAlphabet[n & 63];
  }
  if (bytes.size() - i == 1) {
    const auto n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i]) << 16);
    out += kAlphabet[n >> 18 & 63];
    out += kAlphabet[n >> 12 & 63];
    out += "==";
  } else if (bytes.size() - i == 2) {
    const auto n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i]) << 16 |
                                              static_cast<unsigned char>(bytes[i + 1]) << 8);
    out += kAlphabet[n >> 18 & 63];
    out += kAlphabet[n >> 12 & 63];
    out += kAlphabet[n >> 6 & 63];
    out += '=';
  }
  return out;
}

std::string random_bytes(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out(n, '\0');
  for (char& c : out) {
    c = static_cast<char>(rng());
  }
  return out;
}

std::string audio_input(std::string_view b64) {
  return R"({"type":"audio.input","audio":{"payload":")" + std::string(b64) +
         R"(","format":"pcm16"},"seq":7})";
}

std::string audio(std::string_view b64) {
  return R"({"type":"audio","data":")" + std::string(b64) + R"(","sample_rate":16000})";
}

TEST(AudioMeter, BinaryMessagesCountTheirPayload) {
  EXPECT_EQ(audio_bytes(true, ""), 0u);
  EXPECT_EQ(audio_bytes(true, std::string(4096, '\x7f')), 4096u);
  // Binary bytes are never parsed, whatever they look like.
  EXPECT_EQ(audio_bytes(true, R"({"type":"audio","data":"AAAA"})"), 30u);
}

TEST(AudioMeter, AudioInputCountsTheDecodedPayload) {
  for (const std::size_t n : {0, 1, 2, 3, 4, 5, 6, 4096, 4097, 4098}) {
    const std::string b64 = base64(random_bytes(n, static_cast<std::uint32_t>(n)));
    EXPECT_EQ(text_bytes(audio_input(b64)), n) << b64;
  }
  EXPECT_EQ(text_bytes(R"({"type":"audio.input","audio":{"payload":"AAAA"}})"), 3u);
  EXPECT_EQ(text_bytes(R"({"type":"audio.input","audio":{"payload":"AAA="}})"), 2u);
  EXPECT_EQ(text_bytes(R"({"type":"audio.input","audio":{"payload":"AA=="}})"), 1u);
}

TEST(AudioMeter, AudioCountsTheDecodedData) {
  for (const std::size_t n : {0, 1, 2, 3, 4095, 4096, 4097}) {
    const std::string b64 = base64(random_bytes(n, static_cast<std::uint32_t>(n + 100)));
    EXPECT_EQ(text_bytes(audio(b64)), n) << b64;
  }
  EXPECT_EQ(text_bytes(R"({"type":"audio","data":"AAAAAAA="})"), 5u);
  EXPECT_EQ(text_bytes(R"({"type":"audio","data":"AAAAAA=="})"), 4u);
}

TEST(AudioMeter, FieldOrderAndWhitespaceDoNotMatter) {
  const std::string b64 = base64(random_bytes(300, 1));
  EXPECT_EQ(text_bytes(R"({"audio":{"payload":")" + b64 + R"("},"type":"audio.input"})"), 300u);
  EXPECT_EQ(text_bytes(R"({"audio":{"format":"pcm16","payload":")" + b64 +
                       R"(","rate":16000},"seq":1,"type":"audio.input"})"),
            300u);
  EXPECT_EQ(text_bytes(R"({"data":")" + b64 + R"(","type":"audio"})"), 300u);
  EXPECT_EQ(text_bytes(" \n{ \"type\" : \"audio\" ,\r\n \"data\" :\t\"" + b64 + "\" \n } \n"),
            300u);
  EXPECT_EQ(
      text_bytes(R"({ "audio" : { "payload" : ")" + b64 + R"(" } , "type" : "audio.input" })"),
      300u);
}

TEST(AudioMeter, UnpaddedBase64CountsWholeBytes) {
  EXPECT_EQ(text_bytes(R"({"type":"audio","data":"AAAAAA"})"), 4u);
  EXPECT_EQ(text_bytes(R"({"type":"audio","data":"AAAAAAA"})"), 5u);
  EXPECT_EQ(text_bytes(R"({"type":"audio","data":"A"})"), 0u);
  EXPECT_EQ(text_bytes(R"({"type":"audio","data":"="})"), 0u);
  EXPECT_EQ(text_bytes(R"({"type":"audio","data":"=="})"), 0u);
  EXPECT_EQ(text_bytes(R"({"type":"audio","data":""})"), 0u);
}

TEST(AudioMeter, EscapedSlashesCountAsOneCharacter) {
  // "//8=" is 0xFF 0xFF; JSON encoders may write '/' as "\/".
  EXPECT_EQ(text_bytes(R"({"type":"audio","data":"\/\/8="})"), 2u);
  EXPECT_EQ(text_bytes(R"({"type":"audio.input","audio":{"payload":"ab\/+\/\/\/\/"}})"), 6u);

  std::string b64 = base64(random_bytes(3000, 2));
  std::string escaped;
  for (const char c : b64) {
    escaped += c == '/' ? std::string(R"(\/)") : std::string(1, c);
  }
  ASSERT_NE(escaped.size(), b64.size());
  EXPECT_EQ(text_bytes(audio(escaped)), 3000u);
  EXPECT_EQ(text_bytes(audio_input(escaped)), 3000u);
}

TEST(AudioMeter, ScalarContentsAreNotJudged) {
  // Values some JSON parsers accept (Python's: NaN, 1e400, lone surrogates): rejecting them
  // would let a client send audio the upstream reads and the meter counts as 0.
  for (const char* extra :
       {R"("x":NaN)", R"("x":-Infinity)", R"("x":1e400)", R"("x":123456789012345678901234567890)",
        R"("x":"\ud800")", R"("\ud800":1)", R"("x":[true,false,null,{"y":[0.5,-1]}])"}) {
    EXPECT_EQ(text_bytes(std::string(R"({"type":"audio","data":"AAAA",)") + extra + "}"), 3u)
        << extra;
    EXPECT_EQ(text_bytes(std::string("{") + extra + R"(,"type":"audio","data":"AAAA"})"), 3u)
        << extra;
  }
}

TEST(AudioMeter, EscapedPaddingAndKeysAreSeenThrough) {
  EXPECT_EQ(text_bytes(R"({"type":"audio","data":"AAAAAA\u003d\u003D"})"), 4u);
  EXPECT_EQ(text_bytes(R"({"type":"audio","data":"AAAAAAA\u003d"})"), 5u);
  // What a JSON parser upstream reads as "type" and "audio.input", the meter reads too.
  EXPECT_EQ(text_bytes(R"({"\u0074ype":"audio\u002einput","\u0061udio":{"p\u0061yload":"AAAA"}})"),
            3u);
  EXPECT_EQ(text_bytes(R"({"type":"audio","d\u0061t\u0061":"AAAA"})"), 3u);
  EXPECT_EQ(text_bytes(R"({"type":"audio","dat\u0061x":"AAAA"})"), 0u);
  EXPECT_EQ(text_bytes(R"({"type":"audio","dat\u00":"AAAA"})"), 0u);
  EXPECT_EQ(text_bytes(R"({"type":"audio","dat\n":"AAAA"})"), 0u);
}

TEST(AudioMeter, Base64DecodedLengthOfRawStrings) {
  EXPECT_EQ(base64_decoded_length(""), 0u);
  EXPECT_EQ(base64_decoded_length("AAAA"), 3u);
  EXPECT_EQ(base64_decoded_length("AAAAAA=="), 4u);
  EXPECT_EQ(base64_decoded_length("AAAAAAA="), 5u);
  EXPECT_EQ(base64_decoded_length(R"(\/\/\/\/)"), 3u);
  EXPECT_EQ(base64_decoded_length(R"(AAA\/AA==)"), 4u);
  EXPECT_EQ(base64_decoded_length(R"(AA\u)"), 2u);  // malformed escapes: still an estimate
  EXPECT_EQ(base64_decoded_length(R"(AAA\)"), 3u);
  EXPECT_EQ(base64_decoded_length("===="), 1u);  // at most two '=' are padding
}

TEST(AudioMeter, OtherTypesAndShapesCountNothing) {
  for (const char* text : {
           R"({"type":"session.update","session":{"language":"de"}})",
           R"({"type":"audio.commit"})",
           R"({"type":"Audio","data":"AAAA"})",
           R"({"type":"audio.input","data":"AAAA"})",         // data is not its field
           R"({"type":"audio","audio":{"payload":"AAAA"}})",  // nor is audio.payload this one's
           R"({"type":"audio.input","audio":"AAAA"})",
           R"({"type":"audio.input","audio":{"payload":1234}})",
           R"({"type":"audio.input","audio":{"data":"AAAA"}})",
           R"({"type":"audio","data":null})",
           R"({"type":"audio","data":["AAAA"]})",
           R"({"type":7,"data":"AAAA"})",
           R"({"data":"AAAA"})",
           R"({"audio":{"payload":"AAAA"}})",
           R"({})",
           R"([{"type":"audio","data":"AAAA"}])",
           R"("audio")",
           R"(42)",
           "hello",
           "",
           "   ",
       }) {
    EXPECT_EQ(text_bytes(text), 0u) << text;
  }
}

TEST(AudioMeter, InvalidAndTruncatedJsonCountsNothing) {
  const std::string whole = audio_input(base64(random_bytes(600, 3)));
  ASSERT_EQ(text_bytes(whole), 600u);
  // Every proper prefix is invalid JSON.
  for (std::size_t n = 0; n < whole.size(); ++n) {
    ASSERT_EQ(text_bytes(std::string_view(whole).substr(0, n)), 0u) << n;
  }
  const std::string other = audio(base64(random_bytes(60, 4)));
  for (std::size_t n = 0; n < other.size(); ++n) {
    ASSERT_EQ(text_bytes(std::string_view(other).substr(0, n)), 0u) << n;
  }

  for (const char* text : {
           R"({"type":"audio","data":"AAAA"}})",
           R"({"type":"audio","data":"AAAA"}{"type":"audio","data":"AAAA"})",
           R"({"type":"audio","data":"AAAA"},)",
           R"({"type":"audio","data":"AAAA"} x)",
           R"({"type":"audio","data":"AAAA",})",
           R"({"type":"audio","data":"AAAA" "x":1})",
           R"({"type":"audio" "data":"AAAA"})",
           R"({"type":"audio","data":"AAAA","x":[1,2})",
           R"({"type":"audio","data":"AAAA","x":{"y":1})",
           R"({"type":"audio","data""AAAA"})",
           R"({"type":"audio","data":"AA)"
           "\x01"
           R"(AA"})",  // unescaped control character
           R"({"type":"audio","data":"AA)"
           "\xff"
           R"(AA"})",  // not UTF-8
           R"({"type":"audio.input","audio":{"payload":"AAAA"})",
           R"({"type":"audio.input","audio":{"payload":"AAAA",}})",
           R"({"type":"audio.input","audio":{"payload":"AAAA"]})",
           R"({"type":"audio","data":"AAAA","x":,1,{"a":null}]})",
           R"({"type":"audio","data":"AAAA","x":[1,{"a":null}}})",
           R"({"type":"audio","data":"AAAA","x":[{"a":null]]})",
           R"({"type":"audio","data":"AAAA","x":"y":1})",
           R"({"type":"audio","data":"AAAA","x":["y":1]})",
           R"({"type":"audio","data":"AAAA","x":{"y"}})",
           R"({"type":"audio","data":"AAAA","x":{1:2}})",
           R"({"type":"audio","data":"AAAA","x"})",
           R"({"type":"audio","data":"AAAA","x":})",
           R"({"type":"audio","data":"AAAA":"x"})",
           R"({"type":"audio","data":"AAAA","x":[,]})",
           R"({"type":"audio.input","audio":{"payload":"AAAA","x":]}})",
           R"({"type":"audio.input","audio":{"payload":"AAAA":1}})",
       }) {
    EXPECT_EQ(text_bytes(text), 0u) << text;
  }
}

TEST(AudioMeter, RandomGarbageNeverCrashes) {
  // Bytes drawn mostly from JSON's structural alphabet, so that the parser goes deep into
  // broken structure rather than failing on the first byte, plus mutations of a valid
  // message. The results are whatever they are; reading out of bounds is what ASan checks.
  static constexpr char kAlphabet[] = "{}[]\":,\\ ntruefalsAB=/u0123456789.-e\n";
  std::mt19937 rng(20240601);
  const std::string valid = audio_input(base64(random_bytes(90, 5)));
  std::size_t counted = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string text;
    if (round % 2 == 0) {
      const std::size_t n = rng() % 96;
      text += '{';
      for (std::size_t i = 0; i < n; ++i) {
        text += kAlphabet[rng() % (sizeof(kAlphabet) - 1)];
      }
    } else {
      text = valid;
      for (int flips = 1 + static_cast<int>(rng() % 4); flips > 0; --flips) {
        text[rng() % text.size()] = static_cast<char>(rng() % 2 ? rng() : kAlphabet[rng() % 12]);
      }
      text.resize(rng() % (text.size() + 1));
    }
    for (const char fill : kPaddingFills) {
      counted += audio_bytes(false, Padded(text, fill).view());
    }
  }
  // Only a mutation that kept the message valid and typed may count; each counts <= 90.
  EXPECT_LE(counted, 20000u * sizeof(kPaddingFills) * 90);
}

TEST(AudioMeter, DeeplyNestedValuesAreSkippedNotParsed) {
  // On-Demand skips an unrelated value by counting brackets, without a depth limit: deep
  // but valid JSON is still an audio message, and deep unbalanced JSON is still invalid.
  const std::string deep = R"({"type":"audio","x":)" + std::string(5000, '[') +
                           std::string(5000, ']') + R"(,"data":"AAAA"})";
  EXPECT_EQ(text_bytes(deep), 3u);
  const std::string open = R"({"type":"audio","data":"AAAA","x":)" + std::string(5000, '{') + "}";
  EXPECT_EQ(text_bytes(open), 0u);
  const std::string shut = R"({"type":"audio","data":"AAAA","x":)" + std::string(5000, ']') + "}";
  EXPECT_EQ(text_bytes(shut), 0u);
}

TEST(AudioMeter, LargePayloads) {
  // 1 MB of base64 (768 KB of audio): the thread's own parser.
  const std::string mb = base64(random_bytes(768 * 1024, 6));
  ASSERT_EQ(mb.size(), 1024u * 1024u);
  EXPECT_EQ(text_bytes(audio_input(mb)), 768u * 1024u);
  EXPECT_EQ(text_bytes(audio(mb)), 768u * 1024u);

  // 3 MB of base64, past the size whose buffers a thread keeps: a parser of its own.
  const std::string big = base64(random_bytes(3 * 768 * 1024 + 1, 7));
  EXPECT_EQ(text_bytes(audio_input(big)), 3u * 768u * 1024u + 1u);

  // And small messages still work on the thread's parser afterwards.
  EXPECT_EQ(text_bytes(R"({"type":"audio","data":"AAAA"})"), 3u);
}

}  // namespace
}  // namespace gw::stream
