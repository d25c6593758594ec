// Reading a message without Beast's composed read operations.
//
// http::async_read_header runs read_op -> read_some_op -> tcp_stream's transfer_op, each
// allocating its handler and posting its completion through the executor, even when the
// head is already in the buffer. On the proxy's request path (two heads per request) that
// machinery cost more than parsing itself (callgrind). Here the coroutine reads with one
// async_read_some at a time and feeds Beast's own parser directly: same parser, same
// limits, same error codes as async_read_header. (HttpConnection also reads and writes on
// the socket itself, under its tcp_stream: the stream's per-operation layer only served
// timeouts, which are deadlines now.)
#pragma once

#include <boost/beast/core/read_size.hpp>
#include <string_view>

#include "core/beast.h"

namespace gw::proxy {

enum class HeadProgress { done, need_more, failed };

// For callers with no use for the head's raw bytes.
struct IgnoreHeadBytes {
  void operator()(std::string_view) const noexcept {}
};

// Parses what `buffer` holds into `parser`, consuming what the parser used. `ec` is set
// when failed (http::error::header_limit, bad_*, body_limit for a declared Content-Length
// over the parser's body limit...). Once the head is whole, `on_head` sees its raw bytes
// (Beast's parser does not consume an incomplete head, and stops after a complete one).
template <bool isRequest, class Body, class OnHead = IgnoreHeadBytes>
HeadProgress feed_head(beast::flat_buffer& buffer, http::parser<isRequest, Body>& parser,
                       beast::error_code& ec, OnHead&& on_head = {}) {
  ec = {};
  if (buffer.size() > 0) {
    const std::size_t used = parser.put(buffer.data(), ec);
    if (parser.is_header_done()) {
      on_head(std::string_view(static_cast<const char*>(buffer.data().data()), used));
      buffer.consume(used);
      return HeadProgress::done;
    }
    buffer.consume(used);
    if (ec && ec != http::error::need_more) return HeadProgress::failed;
    ec = {};
  }
  return HeadProgress::need_more;
}

// Reads into `buffer` until `parser` has the whole head (what the buffer already holds is
// parsed first). Straight from the socket: timeouts are the caller's (HttpConnection::arm).
template <bool isRequest, class Body, class OnHead = IgnoreHeadBytes>
net::awaitable<beast::error_code> read_head(tcp::socket& socket, beast::flat_buffer& buffer,
                                            http::parser<isRequest, Body>& parser,
                                            OnHead on_head = {}) {
  beast::error_code ec;
  while (feed_head(buffer, parser, ec, on_head) == HeadProgress::need_more) {
    const std::size_t size = beast::read_size(buffer, 65536);
    if (size == 0) co_return http::error::buffer_overflow;
    auto [read_ec, n] = co_await socket.async_read_some(buffer.prepare(size), use_nothrow);
    if (read_ec == net::error::eof) {
      if (!parser.got_some()) co_return http::error::end_of_stream;
      parser.put_eof(ec);
      co_return ec ? ec : beast::error_code(http::error::partial_message);
    }
    if (read_ec) co_return read_ec;
    buffer.commit(n);
  }
  co_return ec;
}

// Parses body bytes that `buffer` holds into the parser's buffer_body (whose data/size the
// caller set), consuming what the parser used. Returns true when the parser cannot go on
// without more input. `ec` is set on a parse error (body_limit, bad_chunk...).
template <bool isRequest>
bool feed_body(beast::flat_buffer& buffer, http::parser<isRequest, http::buffer_body>& parser,
               beast::error_code& ec) {
  ec = {};
  if (buffer.size() == 0) return true;
  buffer.consume(parser.put(buffer.data(), ec));
  if (ec == http::error::need_more) {
    ec = {};
    return true;
  }
  if (ec == http::error::need_buffer) ec = {};  // the body buffer is full: relay it first
  return false;
}

}  // namespace gw::proxy
