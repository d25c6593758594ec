#include "store/redis/resp.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace gw::store::redis {
namespace {

std::string hiredis_format(const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  for (const std::string& a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  char* formatted = nullptr;
  const int length = redisFormatCommandArgv(&formatted, static_cast<int>(args.size()), argv.data(),
                                            lengths.data());
  std::string out(formatted, static_cast<std::size_t>(length));
  std::free(formatted);
  return out;
}

TEST(Resp, FormatsAsHiredisDoes) {
  EXPECT_EQ(format_command(std::vector<std::string_view>{"PING"}), "*1\r\n$4\r\nPING\r\n");
  std::mt19937 rng(7);
  for (int round = 0; round < 500; ++round) {
    std::vector<std::string> args(1 + rng() % 20);
    for (std::string& a : args) {
      a.resize(rng() % (round % 10 == 0 ? 3000 : 40));  // empty, short and long arguments
      for (char& c : a) c = static_cast<char>(rng());   // binary-safe: any byte, NUL and CRLF too
    }
    const std::vector<std::string_view> views(args.begin(), args.end());
    ASSERT_EQ(format_command(views), hiredis_format(args)) << "round " << round;
  }
}

}  // namespace
}  // namespace gw::store::redis
