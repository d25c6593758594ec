#include "core/http_date.h"

#include <chrono>
#include <cstring>

namespace gw::core {

void format_http_date(std::int64_t unix_seconds, char (&out)[29]) noexcept {
  static constexpr char kDays[7][4] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
  static constexpr char kMonths[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  using namespace std::chrono;
  const sys_seconds t{seconds{unix_seconds}};
  const sys_days day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss<seconds> hms{t - day};
  const auto two = [](char* p, unsigned v) {
    p[0] = static_cast<char>('0' + v / 10 % 10);
    p[1] = static_cast<char>('0' + v % 10);
  };
  // 1970-01-01 was a Thursday; days before the epoch count back from it.
  const long long since_epoch = day.time_since_epoch().count();
  const int weekday = static_cast<int>(((since_epoch % 7) + 7) % 7);
  std::memcpy(out, kDays[weekday], 3);
  std::memcpy(out + 3, ", ", 2);
  two(out + 5, static_cast<unsigned>(ymd.day()));
  out[7] = ' ';
  std::memcpy(out + 8, kMonths[static_cast<unsigned>(ymd.month()) - 1], 3);
  out[11] = ' ';
  const int y = static_cast<int>(ymd.year());
  const unsigned year = y < 0 ? 0u : static_cast<unsigned>(y);
  two(out + 12, year / 100);
  two(out + 14, year % 100);
  out[16] = ' ';
  two(out + 17, static_cast<unsigned>(hms.hours().count()));
  out[19] = ':';
  two(out + 20, static_cast<unsigned>(hms.minutes().count()));
  out[22] = ':';
  two(out + 23, static_cast<unsigned>(hms.seconds().count()));
  std::memcpy(out + 25, " GMT", 4);
}

std::string_view http_date(std::int64_t unix_seconds) noexcept {
  thread_local std::int64_t cached_second = -1;
  thread_local char cached[29];
  if (unix_seconds != cached_second) {
    format_http_date(unix_seconds, cached);
    cached_second = unix_seconds;
  }
  return {cached, sizeof(cached)};
}

}  // namespace gw::core
