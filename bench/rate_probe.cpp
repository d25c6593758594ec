// rate_probe: open-loop HTTP/1.1 load generator for latency at a fixed request rate.
//
// Requests go out on a fixed schedule whatever the server's speed (request i is due at
// start + i/rate), and each latency is measured from the request's INTENDED send time: a
// server that falls behind shows its queueing instead of slowing the client down (wrk's
// coordinated omission; wrk2 and HdrHistogram measure the same way).
//
// One thread, keep-alive connections opened before the clock starts. Connection c sends
// requests c, c+C, c+2C, ... of the aggregate schedule; a request whose connection is still
// busy waits for it, and the wait counts in its latency.
//
//   rate_probe --port 8080 --path /v1/x -H 'Authorization: Bearer k'
//              --rate 10000 --connections 64 --duration 10 --warmup 2   (one line)
//
// Prints one JSON line on stdout: achieved rate, counts, exact latency percentiles in µs
// (from the sorted samples of the measured window, warm-up excluded), and send_lag: how
// late requests went out (our own wake-up delay, plus any wait for a busy connection).
// Requests due in the window that got neither an answer nor an error by the deadline
// (end + --grace) are "unfinished" and have no latency sample.
#include <sys/prctl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using std::chrono::nanoseconds;

struct Options {
  std::string host = "127.0.0.1";
  std::string port = "8080";
  std::string path = "/";
  std::vector<std::string> headers;
  double rate = 1000;        // requests/s, all connections together
  int connections = 16;
  double duration = 10;      // s, measured
  double warmup = 2;         // s, sent at the same rate but not measured
  double grace = 5;          // s after the schedule ends to finish what is queued
  bool spin = false;         // poll instead of sleeping: no wake-up delay on our side
};

struct Run {
  Clock::time_point start, measure_from, end, deadline;
  std::vector<std::int64_t> latency_ns, lag_ns;  // measured requests only
  std::uint64_t non2xx = 0, errors = 0;
  Clock::time_point last_done;
};

Clock::time_point due_at(const Run& run, const Options& o, std::uint64_t i) {
  return run.start + nanoseconds(std::llround(static_cast<double>(i) * 1e9 / o.rate));
}

asio::awaitable<void> connection(std::uint64_t c, const Options& o, tcp::socket& sock,
                                 const tcp::resolver::results_type& endpoints,
                                 const std::string& request, Run& run) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  beast::flat_buffer buf;
  beast::error_code ec;
  auto tok = asio::redirect_error(asio::use_awaitable, ec);
  for (std::uint64_t i = c;; i += o.connections) {
    const auto due = due_at(run, o, i);
    if (due >= run.end || Clock::now() >= run.deadline) break;  // rest counts as unfinished
    if (Clock::now() < due) {
      timer.expires_at(due);
      co_await timer.async_wait(tok);
    }
    const bool measured = due >= run.measure_from;
    const auto sent = Clock::now();
    if (!sock.is_open()) {  // after an error or a `Connection: close`
      buf.clear();
      co_await asio::async_connect(sock, endpoints, tok);
      if (!ec) sock.set_option(tcp::no_delay(true), ec);
    }
    if (!ec) co_await asio::async_write(sock, asio::buffer(request), tok);
    http::response_parser<http::string_body> parser;
    parser.body_limit(boost::none);
    if (!ec) co_await http::async_read(sock, buf, parser, tok);
    const auto done = Clock::now();
    if (ec) {
      run.errors += measured && done < run.deadline;  // cut off by the watchdog: unfinished
      sock.close(ec);
      continue;
    }
    if (!parser.get().keep_alive()) sock.close(ec);
    if (!measured) continue;
    const unsigned status = parser.get().result_int();
    run.non2xx += status < 200 || status > 299;
    run.latency_ns.push_back((done - due).count());
    run.lag_ns.push_back((sent - due).count());
    run.last_done = std::max(run.last_done, done);
  }
}

// Nearest-rank percentile of sorted samples, in µs.
double pct_us(const std::vector<std::int64_t>& v, double p) {
  if (v.empty()) return 0;
  auto rank = static_cast<std::size_t>(std::ceil(p / 100 * static_cast<double>(v.size())));
  return static_cast<double>(v[std::clamp<std::size_t>(rank, 1, v.size()) - 1]) / 1000;
}

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"Open-loop HTTP/1.1 load at a constant rate; latency from intended send time"};
  app.add_option("--host", o.host);
  app.add_option("--port", o.port)->required();
  app.add_option("--path", o.path);
  app.add_option("-H,--header", o.headers, "extra request header, e.g. 'Authorization: Bearer k'");
  app.add_option("--rate", o.rate, "requests/s over all connections")->required()->check(CLI::PositiveNumber);
  app.add_option("-c,--connections", o.connections)->check(CLI::PositiveNumber);
  app.add_option("-d,--duration", o.duration, "measured seconds")->check(CLI::PositiveNumber);
  app.add_option("-w,--warmup", o.warmup, "unmeasured seconds first")->check(CLI::NonNegativeNumber);
  app.add_option("--grace", o.grace, "seconds to drain the queue after the schedule ends");
  app.add_flag("--spin", o.spin, "busy-poll the event loop (100% of a core, sends on time)");
  CLI11_PARSE(app, argc, argv);

  // The default 50 µs timer slack would make every scheduled send up to 50 µs late.
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);

  std::string request = "GET " + o.path + " HTTP/1.1\r\nHost: " + o.host + ":" + o.port + "\r\n";
  for (const auto& h : o.headers) request += h + "\r\n";
  request += "\r\n";

  asio::io_context io(1);
  const auto endpoints = tcp::resolver(io).resolve(o.host, o.port);
  std::vector<tcp::socket> socks;
  for (int c = 0; c < o.connections; ++c) {
    socks.emplace_back(io);
    asio::connect(socks.back(), endpoints);
    socks.back().set_option(tcp::no_delay(true));
  }

  Run run;
  auto secs = [](double s) { return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s)); };
  run.start = Clock::now() + std::chrono::milliseconds(10);
  run.measure_from = run.start + secs(o.warmup);
  run.end = run.measure_from + secs(o.duration);
  run.deadline = run.end + secs(o.grace);
  run.last_done = run.measure_from;
  run.latency_ns.reserve(static_cast<std::size_t>(o.rate * o.duration) + 16);
  run.lag_ns.reserve(run.latency_ns.capacity());

  // A server that never answers must not hold the run past its deadline.
  asio::steady_timer watchdog(io, run.deadline);
  watchdog.async_wait([&](beast::error_code ec) {
    if (ec) return;  // cancelled: every connection finished in time
    for (auto& s : socks) s.close(ec);
  });
  int live = o.connections;
  for (int c = 0; c < o.connections; ++c)
    asio::co_spawn(io, connection(static_cast<std::uint64_t>(c), o, socks[c], endpoints, request, run),
                   [&](std::exception_ptr e) {
                     if (e) std::rethrow_exception(e);
                     if (--live == 0) watchdog.cancel();
                   });
  // Ends by the deadline at the latest: every loop stops there.
  if (o.spin) {
    while (io.poll() || !io.stopped()) {}
  } else {
    io.run();
  }

  // Requests due in the measured window: those that got no answer nor error are unfinished.
  std::uint64_t first = 0, last = 0;
  while (due_at(run, o, first) < run.measure_from) ++first;
  for (last = first; due_at(run, o, last) < run.end; ++last) {}
  const std::uint64_t scheduled = last - first, count = run.latency_ns.size();
  const std::uint64_t unfinished = scheduled - std::min(scheduled, count + run.errors);

  std::sort(run.latency_ns.begin(), run.latency_ns.end());
  std::sort(run.lag_ns.begin(), run.lag_ns.end());
  double sum = 0;
  for (auto v : run.latency_ns) sum += static_cast<double>(v);
  const double span = std::max(o.duration, std::chrono::duration<double>(run.last_done - run.measure_from).count());
  std::printf(
      "{\"target_rate\":%.1f,\"rate\":%.1f,\"connections\":%d,\"duration_s\":%.3f,\"scheduled\":%llu,"
      "\"count\":%llu,\"non2xx\":%llu,\"errors\":%llu,\"unfinished\":%llu,\"mean_us\":%.1f,"
      "\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"max_us\":%.1f,"
      "\"send_lag_p50_us\":%.1f,\"send_lag_p99_us\":%.1f}\n",
      o.rate, static_cast<double>(count) / span, o.connections, o.duration,
      static_cast<unsigned long long>(scheduled), static_cast<unsigned long long>(count),
      static_cast<unsigned long long>(run.non2xx), static_cast<unsigned long long>(run.errors),
      static_cast<unsigned long long>(unfinished), count ? sum / static_cast<double>(count) / 1000 : 0.0,
      pct_us(run.latency_ns, 50), pct_us(run.latency_ns, 90), pct_us(run.latency_ns, 99),
      pct_us(run.latency_ns, 99.9), pct_us(run.latency_ns, 100), pct_us(run.lag_ns, 50),
      pct_us(run.lag_ns, 99));
  return 0;
}
