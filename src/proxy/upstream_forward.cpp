// Forwarding a request the decision admitted: the upstream head as the gateway checked
// it (upstream_request_head.h), the body streamed in pieces (re-chunked when chunked),
// one retry on a fresh connection when a pooled one turns out dead before any answer,
// then the upstream's answer relayed with the gateway's fields. A session creation's
// small answer is held until its slot is bound (SessionSlot).
#include <spdlog/spdlog.h>

#include <charconv>

#include "core/ascii.h"
#include "core/http_date.h"
#include "proxy/head_reader.h"
#include "proxy/hop_by_hop.h"
#include "proxy/http_connection.h"
#include "proxy/upstream_request_head.h"
#include "proxy/worker.h"

namespace gw::proxy {
namespace {

// What relay_message() keeps of a body it relays: of a session-creation answer (for its
// id), of a request body on a pooled connection (to send it again, see forward()).
constexpr std::size_t kMaxCapturedBytes = 64 * 1024;

// Clears HttpConnection::upstream_in_use_ when forward() is done with a connection.
struct UpstreamInUse {
  beast::tcp_stream*& slot;
  ~UpstreamInUse() { slot = nullptr; }
};

}  // namespace

net::awaitable<bool> HttpConnection::forward(Exchange& exchange) {
  const ProxyDeps& deps = worker_.deps();
  const config::GatewayConfig& config = this->settings();
  RequestParser& parser = *exchange.parser;
  const auto& req = parser.get();
  const bool client_keep_alive = parser.keep_alive();
  const bool has_body = !parser.is_done();

  if (has_body && core::iequals(req[http::field::expect], "100-continue")) {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    arm(config.http.idle_timeout);
    auto [ec, n] = co_await net::async_write(stream_.socket(), net::buffer(kContinue), use_nothrow);
    if (ec) co_return false;
  }

  const core::SteadyTime started = worker_.deps().clock.steady_now();
  const bool chunked = exchange.upstream.framing.kind == BodyFraming::Kind::chunked;
  std::string sent_body;  // what went out of the body on a pooled connection (see below)
  for (int attempt = 0;; ++attempt) {
    // A warm pool answers without a coroutine frame; only a connect needs acquire().
    core::Result<UpstreamLease, UpstreamErrc> lease = UpstreamLease{};
    if (auto idle = attempt == 0 ? worker_.upstream().take_idle(config.upstream) : nullptr) {
      lease = UpstreamLease{std::move(idle), true};
    } else {
      lease = co_await worker_.upstream().acquire(config.upstream, attempt > 0);
    }
    if (!lease) {
      co_await settle_session_slot(exchange, {});
      deps.metrics.upstream_response(0, 0);
      const bool timeout = lease.error() == UpstreamErrc::timeout;
      const bool keep = co_await discard_request_body(exchange);
      const bool kept = co_await respond_upstream_failure(exchange, timeout);
      co_return keep&& kept;
    }
    UpstreamConnection& upstream = *lease->connection;
    // A deadline passing mid-exchange cancels the upstream's I/O too.
    upstream_in_use_ = &upstream.stream;
    const UpstreamInUse in_use{upstream_in_use_};

    // The request: its head as the upstream should see it, then its body as it arrives.
    head_.clear();
    exchange.upstream.request_id = exchange.request_id;
    write_upstream_request_head(req, exchange.upstream, head_);
    if (!sent_body.empty()) {  // a retry: what the first attempt took of the body goes first
      HeadWriter piece(head_);
      if (chunked) {
        char size_line[16];
        auto [end, hex_ec] =
            std::to_chars(size_line, size_line + sizeof(size_line), sent_body.size(), 16);
        (void)hex_ec;
        piece.put(std::string_view(size_line, static_cast<std::size_t>(end - size_line)), "\r\n",
                  sent_body, "\r\n");
      } else {
        piece.put(sent_body);
      }
    }
    const bool may_retry = lease->reused;  // only the first attempt: a retry is on a fresh one
    const RelayResult sent = co_await relay_message(
        stream_.socket(), buffer_, parser, config.http.idle_timeout, upstream.stream.socket(),
        config.upstream.request_timeout, chunked, head_, may_retry ? &sent_body : nullptr);
    if (sent.read_error) {
      co_await settle_session_slot(exchange, {});
      if (sent.read_error == http::error::body_limit) {
        co_await respond_error(exchange, http::status::payload_too_large, "invalid_request_error",
                               "request_too_large", "Request body too large.");
      }
      co_return false;  // the client went away or sent too much: nothing more to say
    }

    http::response_parser<http::buffer_body> rp;
    rp.body_limit(boost::none);
    if (req.method() == http::verb::head) rp.skip(true);
    beast::error_code ec = sent.write_error;
    if (!ec) {
      arm(config.upstream.request_timeout);
      ec = co_await read_head(upstream.stream.socket(), upstream.buffer, rp);
    }
    if (ec) {
      // A pooled connection the upstream closed as the request went out (after take_idle()
      // checked it): once more on a fresh connection, if the upstream sent nothing back
      // and every body byte taken from the client can be sent again (at most
      // kMaxCapturedBytes were kept). Never after a byte of answer, never on a timeout.
      const bool answered =
          rp.got_some() || upstream.buffer.size() != 0 ||
          (sent.write_error && peek(upstream.stream.socket()) == PeekResult::data);
      if (may_retry && !answered && !timed_out(ec) && sent_body.size() == sent.body_bytes) {
        spdlog::debug("pooled upstream connection failed ({}): retrying on a fresh one",
                      ec.message());
        continue;
      }
      co_await settle_session_slot(exchange, {});
      deps.metrics.upstream_response(0, 0);
      spdlog::debug("upstream exchange failed: {}", ec.message());
      co_await respond_upstream_failure(exchange, timed_out(ec));
      co_return false;
    }
    deps.metrics.upstream_response(
        rp.get().result_int(),
        std::chrono::duration<double>(worker_.deps().clock.steady_now() - started).count());

    // The response: its head with the gateway's fields, then its body as it arrives. A
    // body delimited only by the upstream closing its connection reaches the client only
    // the same way.
    const bool delimited = rp.is_done() || rp.chunked() || rp.content_length().has_value();
    const bool keep_alive = delimited && client_keep_alive && !worker_.draining();
    const int status = rp.get().result_int();

    // A new session's answer is held until its slot is bound to the id in it, so the
    // client cannot end the session before the gateway knows it (small answers only;
    // a larger or unsized one is relayed first and settled after).
    // An ended session's slot is free once the upstream says so, before the client hears
    // it: a creation the client sends next (on any connection) finds the slot free.
    if (!exchange.ending_session.empty() && status / 100 == 2) {
      co_await release_session_slot(exchange, exchange.ending_session);
    }
    std::string held;
    if (creating_session(exchange) && rp.content_length() &&
        *rp.content_length() <= kMaxCapturedBytes) {
      if (!co_await read_whole_body(upstream, rp, held)) {
        co_await settle_session_slot(exchange, {});
        co_await respond_upstream_failure(exchange, false);
        co_return false;
      }
      exchange.upstream_status = status;
      co_await settle_session_slot(exchange, held);
    }

    head_.clear();
    write_client_response_head(exchange, rp.get(), keep_alive, head_);
    RelayResult relayed;
    if (exchange.upstream_status != 0) {
      const std::array<net::const_buffer, 2> buffers{net::buffer(head_.data(), head_.size()),
                                                     net::buffer(held)};
      arm(config.upstream.request_timeout);
      auto [wec, n] = co_await net::async_write(stream_.socket(), buffers, use_nothrow);
      relayed.write_error = wec;
    } else {
      relayed = co_await relay_message(upstream.stream.socket(), upstream.buffer, rp,
                                       config.upstream.request_timeout, stream_.socket(),
                                       config.upstream.request_timeout, rp.chunked(), head_,
                                       creating_session(exchange) ? &held : nullptr);
      exchange.upstream_status = relayed.read_error ? 0 : status;
      if (creating_session(exchange)) co_await settle_session_slot(exchange, held);
    }
    if (relayed.read_error || relayed.write_error) co_return false;
    if (rp.keep_alive()) worker_.upstream().release(std::move(lease->connection));
    co_return keep_alive;
  }
}

// Reads a response body of known, small length whole (a session creation's answer).
net::awaitable<bool> HttpConnection::read_whole_body(UpstreamConnection& upstream,
                                                     http::response_parser<http::buffer_body>& rp,
                                                     std::string& body) {
  const auto length = rp.content_length();
  body.resize(length ? static_cast<std::size_t>(*length) : 0);
  std::size_t filled = 0;
  while (!rp.is_done()) {
    rp.get().body().data = body.data() + filled;
    rp.get().body().size = body.size() - filled;
    arm(settings().upstream.request_timeout);
    auto [ec, n] =
        co_await http::async_read_some(upstream.stream, upstream.buffer, rp, use_nothrow);
    if (ec && ec != http::error::need_buffer) co_return false;
    filled = body.size() - rp.get().body().size;
  }
  body.resize(filled);
  co_return true;
}

void HttpConnection::write_client_response_head(Exchange& exchange,
                                                const http::response_header<>& res, bool keep_alive,
                                                HeadBuffer& out) {
  HeadWriter head(out);
  head.status_line(res.result_int(), res.reason());
  // RFC 9110 §6.6.1: a response forwarded without a Date gets one.
  if (res.find(http::field::date) == res.end()) {
    head.field("Date", core::http_date(core::to_unix_seconds(exchange.now)));
  }
  const HopByHopFilter hop_by_hop(res);
  for (const auto& field : res) {
    if (hop_by_hop.drops(field)) continue;
    const std::string_view name = field.name_string();
    if (core::iequals(name, "X-Request-ID")) continue;
    if (exchange.verdict.decided && core::istarts_with(name, "X-RateLimit-")) {
      continue;
    }
    head.field(name, field.value());
  }
  write_gateway_fields(exchange, head);
  write_connection_field(exchange, head, keep_alive);
  head.end();
}

// Streams one message: `head` (already written for the other side) goes out with the first
// piece of body, then the body as the parser yields it from `in`, through a relay buffer
// (a 50 MB upload is never held whole). A chunked body is re-chunked as it is relayed.
template <class Parser>
net::awaitable<HttpConnection::RelayResult> HttpConnection::relay_message(
    tcp::socket& in, beast::flat_buffer& in_buffer, Parser& parser,
    std::chrono::milliseconds read_timeout, tcp::socket& out,
    std::chrono::milliseconds write_timeout, bool chunked, const HeadBuffer& head,
    std::string* capture) {
  static constexpr std::string_view kCrlf = "\r\n";
  static constexpr std::string_view kLastChunk = "0\r\n\r\n";
  auto& body = parser.get().body();
  std::optional<stream::RelayBuffers::Handle> chunk;
  bool head_sent = false;
  std::uint64_t taken = 0;  // body bytes
  for (;;) {
    std::size_t bytes = 0;
    if (!parser.is_done()) {
      if (!chunk) chunk.emplace(worker_.relay_buffers().take());
      body.data = chunk->data();
      body.size = chunk->size();
      // Relay what has arrived instead of waiting for a full buffer; read only when the
      // parser has nothing buffered to go on with (see head_reader.h for why not
      // http::async_read_some).
      beast::error_code ec;
      if (feed_body(in_buffer, parser, ec) && !ec && body.size == chunk->size()) {
        arm(read_timeout);
        const std::size_t size = beast::read_size(in_buffer, 65536);
        if (size == 0) {
          co_return RelayResult{.read_error = http::error::buffer_overflow, .body_bytes = taken};
        }
        auto [read_ec, n] = co_await in.async_read_some(in_buffer.prepare(size), use_nothrow);
        if (read_ec == net::error::eof) {
          parser.put_eof(ec);  // completes a body delimited by the end of the connection
        } else if (read_ec) {
          ec = read_ec;
        } else {
          in_buffer.commit(n);
          continue;
        }
      }
      if (ec) co_return RelayResult{.read_error = ec, .body_bytes = taken};
      bytes = chunk->size() - body.size;
      taken += bytes;
    }
    const bool last = parser.is_done();
    if (bytes == 0 && !last) continue;

    char size_line[20];
    std::array<net::const_buffer, 5> buffers{};
    std::size_t count = 0;
    if (!head_sent) buffers[count++] = net::buffer(head.data(), head.size());
    if (bytes > 0) {
      if (chunked) {
        auto [end, ec] = std::to_chars(size_line, size_line + 16, bytes, 16);
        (void)ec;
        end[0] = '\r';
        end[1] = '\n';
        buffers[count++] = net::buffer(size_line, static_cast<std::size_t>(end + 2 - size_line));
      }
      buffers[count++] = net::buffer(chunk->data(), bytes);
      if (chunked) buffers[count++] = net::buffer(kCrlf);
      if (capture != nullptr && capture->size() < kMaxCapturedBytes) {
        capture->append(chunk->data(), std::min(bytes, kMaxCapturedBytes - capture->size()));
      }
    }
    if (last && chunked) buffers[count++] = net::buffer(kLastChunk);
    if (count > 0) {
      arm(write_timeout);
      auto [ec, n] = co_await net::async_write(out, buffers, use_nothrow);
      if (ec) co_return RelayResult{.write_error = ec, .body_bytes = taken};
    }
    head_sent = true;
    if (last) co_return RelayResult{.body_bytes = taken};
  }
}

}  // namespace gw::proxy
