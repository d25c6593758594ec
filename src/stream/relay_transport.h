// The byte stream under each WebSocket of a session stream (stream_relay.h): the TCP
// socket, read in large pieces and written in batches, so that a burst of small messages
// costs a few syscalls instead of a recv and a send per message.
//
// Reads: Beast asks for at most 1536 bytes at a time (its frame-header buffer). They are
// served from a pooled 64 KiB buffer (RelayBuffers) filled by one recv, taken when the
// socket is readable and given back once drained: an idle stream holds no buffer.
// Writes: copied into a pooled buffer and completed at once; one socket write at a time
// takes the buffer out while a second one fills. A writer waits while both are full
// (back-pressure: at most 2 x 64 KiB per side). While the paired source (the socket the
// relayed messages come from) still holds read bytes, small writes stay in the buffer to
// leave together; they leave when the source has to wait for its socket, when half the
// buffer is used, or on flush(). A write of kDirectBytes or more with nothing buffered
// goes straight to the socket, uncopied. Beast's writes are taken whole or not at all, so
// that they never split around a frame of the relay's own.
//
// Frames: the relay writes its data messages itself, as one frame each, with
// try_write_frame() (no asynchronous operation, so no trip through the io_context per
// message) or async_write_frame() when the buffer lacks room. Beast still writes its
// control frames (pong, close, ping) and the gateway's error frames; they wait while a
// frame of the relay's is half written. Frames toward the upstream are masked (a client's
// frames must be) with keys from a fast generator: masking only has to keep a hostile
// payload from choosing the bytes on the wire, and the upstream is ours.
//
// Worker thread only; at most one read and one write in progress (Beast's rule). Owned
// by a shared_ptr: a socket write may outlive the relay (it then fails, the socket closed).
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/compose.hpp>
#include <boost/beast/websocket/teardown.hpp>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <optional>
#include <utility>
#include <vector>

#include "core/beast.h"
#include "stream/relay_buffers.h"

namespace gw::stream {

class RelayTransport : public std::enable_shared_from_this<RelayTransport> {
 public:
  using executor_type = tcp::socket::executor_type;
  using next_layer_type = tcp::socket;

  static constexpr std::size_t kBytes = RelayBuffers::kBytes;
  static constexpr std::size_t kDirectBytes = 16 * 1024;

  RelayTransport(tcp::socket& socket, RelayBuffers& pool)
      : socket_(socket), pool_(pool), mask_state_(seed()) {
    beast::error_code ignored;
    socket_.non_blocking(true, ignored);  // reads after a wait must not block
  }
  RelayTransport(const RelayTransport&) = delete;
  RelayTransport& operator=(const RelayTransport&) = delete;

  executor_type get_executor() noexcept { return socket_.get_executor(); }
  tcp::socket& next_layer() noexcept { return socket_; }  // for get_lowest_layer

  // Writes to `sink` wait while `source` holds read bytes; `source` flushes `sink` before
  // it waits for its socket.
  static void pair(RelayTransport& source, RelayTransport& sink) {
    source.sink_ = &sink;
    sink.source_ = &source;
  }
  static void unpair(RelayTransport& source, RelayTransport& sink) {
    source.sink_ = nullptr;
    sink.source_ = nullptr;
  }

  // Everything read from the socket so far (activity, for keep-alive).
  std::uint64_t bytes_read() const noexcept { return bytes_read_; }

  // Starts writing what is buffered, if no write is in progress.
  void flush() {
    if (pending_size_ > 0 && !flushing_) start_flush();
  }

  // Writes `payload` as one final text or binary frame (masked if `masked`) if the buffer
  // has room for it and nothing else is in the way; false otherwise (nothing written):
  // then async_write_frame(). False as well once the socket failed.
  bool try_write_frame(bool binary, bool masked, net::const_buffer payload) {
    const std::size_t size = frame_header_bytes(payload.size(), masked) + payload.size();
    if (error_ || frame_open_ || !parked_.empty() || kBytes - pending_size_ < size) return false;
    if (!pending_) pending_.emplace(pool_.take());
    put_header(binary, masked, payload.size());
    put_payload(payload, 0);
    after_append();
    return true;
  }

  template <class Token>
  auto async_write_frame(bool binary, bool masked, net::const_buffer payload, Token&& token) {
    return net::async_compose<Token, void(beast::error_code)>(
        FrameOp{*this, binary, masked, payload}, token, socket_);
  }

  template <class MutableBufferSequence, class ReadToken>
  auto async_read_some(const MutableBufferSequence& buffers, ReadToken&& token) {
    return net::async_compose<ReadToken, void(beast::error_code, std::size_t)>(
        ReadOp<MutableBufferSequence>{*this, buffers}, token, socket_);
  }

  template <class ConstBufferSequence, class WriteToken>
  auto async_write_some(const ConstBufferSequence& buffers, WriteToken&& token) {
    return net::async_compose<WriteToken, void(beast::error_code, std::size_t)>(
        WriteOp<ConstBufferSequence>{*this, buffers}, token, socket_);
  }

  // Completes once everything written so far has left (or the socket failed).
  template <class Token>
  auto async_drain(Token&& token) {
    return net::async_compose<Token, void(beast::error_code)>(DrainOp{*this}, token, socket_);
  }

 private:
  template <class MutableBufferSequence>
  struct ReadOp {
    RelayTransport& t;
    MutableBufferSequence buffers;
    bool posted = false;
    std::size_t n = 0;

    template <class Self>
    void operator()(Self& self) {
      if (posted) return self.complete(beast::error_code{}, n);
      if (t.rend_ > t.rpos_) {
        n = t.take_read(buffers);
        posted = true;
        return net::post(t.socket_.get_executor(), std::move(self));
      }
      // The socket may make us wait: what was held back for this source leaves now.
      if (t.sink_ != nullptr) t.sink_->flush();
      if (t.read_ahead_) {
        // The last read filled the buffer: more is likely waiting.
        if (!t.rbuf_) t.rbuf_.emplace(t.pool_.take());
        return t.socket_.async_read_some(net::buffer(t.rbuf_->data(), kBytes), std::move(self));
      }
      // Drained: wait without a buffer (an idle stream holds none), then read what came
      // in one piece. (An asynchronous read would try a recv first, in vain, and then
      // read a frame larger than Beast's 1536 bytes in two.)
      t.socket_.async_wait(tcp::socket::wait_read, std::move(self));
    }

    template <class Self>
    void operator()(Self& self, beast::error_code ec) {  // readable
      if (ec) return self.complete(ec, 0);
      if (!t.rbuf_) t.rbuf_.emplace(t.pool_.take());
      const std::size_t read = t.socket_.read_some(net::buffer(t.rbuf_->data(), kBytes), ec);
      if (ec == net::error::would_block) {
        t.rbuf_.reset();
        return t.socket_.async_wait(tcp::socket::wait_read, std::move(self));
      }
      (*this)(self, ec, read);
    }

    template <class Self>
    void operator()(Self& self, beast::error_code ec, std::size_t read) {
      t.bytes_read_ += read;
      t.read_ahead_ = !ec && read == kBytes;
      t.rpos_ = 0;
      t.rend_ = read;
      if (read == 0) {
        t.rbuf_.reset();
        return self.complete(ec, 0);
      }
      self.complete(beast::error_code{}, t.take_read(buffers));
    }
  };

  template <class ConstBufferSequence>
  struct WriteOp {
    RelayTransport& t;
    ConstBufferSequence buffers;
    enum class State { start, posted, direct } state = State::start;
    std::size_t n = 0;
    beast::error_code ec;

    template <class Self>
    void operator()(Self& self) {
      if (state == State::posted) return self.complete(ec, n);
      const std::size_t size = beast::buffer_bytes(buffers);
      if (t.error_) {
        ec = t.error_;
      } else if (t.frame_open_) {
        return t.park(std::move(self));  // re-run when the relay's frame is complete
      } else if (size >= kDirectBytes && t.pending_size_ == 0 && !t.flushing_) {
        state = State::direct;
        t.flushing_ = true;
        return t.socket_.async_write_some(buffers, std::move(self));
      } else if (size > 0) {
        // Whole or not at all (a write larger than the buffer waits for it to be empty).
        const std::size_t room = kBytes - t.pending_size_;
        if (room < size && (size <= kBytes || t.pending_size_ > 0)) {
          t.flush();
          return t.park(std::move(self));  // re-run when room
        }
        n = t.append(buffers);
        t.after_append();
      }
      state = State::posted;
      net::post(t.socket_.get_executor(), std::move(self));
    }

    template <class Self>
    void operator()(Self& self, beast::error_code write_ec, std::size_t written) {
      t.flushing_ = false;
      t.on_flushed(write_ec);
      self.complete(write_ec, written);
    }
  };

  // One frame of the relay's, written piece by piece as room frees up.
  struct FrameOp {
    RelayTransport& t;
    bool binary;
    bool masked;
    net::const_buffer payload;
    std::size_t done = 0;  // payload bytes written
    bool started = false;  // header written
    bool suspended = false;

    template <class Self>
    void operator()(Self& self) {
      if (t.error_) {
        if (started) t.frame_open_ = false;
        return finish(self, t.error_);
      }
      if (!started) {
        if (t.frame_open_ || kBytes - t.pending_size_ < kMaxHeaderBytes) return wait(self);
        if (!t.pending_) t.pending_.emplace(t.pool_.take());
        t.put_header(binary, masked, payload.size());
        t.frame_open_ = started = true;
      }
      const std::size_t n = std::min(kBytes - t.pending_size_, payload.size() - done);
      if (n > 0) {
        if (!t.pending_) t.pending_.emplace(t.pool_.take());
        t.put_payload(net::const_buffer(static_cast<const char*>(payload.data()) + done, n),
                      done);
        done += n;
      }
      if (done < payload.size()) return wait(self);
      t.frame_open_ = false;
      t.after_append();
      finish(self, {});
    }

    template <class Self>
    void wait(Self& self) {
      suspended = true;
      t.flush();
      t.park(std::move(self));
    }

    template <class Self>
    void finish(Self& self, beast::error_code ec) {
      if (suspended) {
        // Resumed from on_flushed(): Beast writes parked behind this frame go next.
        t.wake_parked();
        return self.complete(ec);
      }
      // Within the initiating call: complete through the executor.
      net::post(t.socket_.get_executor(), beast::bind_front_handler(std::move(self), ec));
    }

    template <class Self>
    void operator()(Self& self, beast::error_code ec) {
      self.complete(ec);  // the posted completion
    }
  };

  struct DrainOp {
    RelayTransport& t;
    bool posted = false;

    template <class Self>
    void operator()(Self& self) {
      if (posted) return self.complete(t.error_);
      if (t.error_ || (t.pending_size_ == 0 && !t.flushing_)) {
        posted = true;
        return net::post(t.socket_.get_executor(), std::move(self));
      }
      t.flush();
      t.park(std::move(self));  // re-run after the write in progress
    }
  };

  static constexpr std::size_t kMaxHeaderBytes = 14;

  static std::uint64_t seed() {
    std::random_device device;
    return (std::uint64_t{device()} << 32) ^ device() ^ 0x9e3779b97f4a7c15ull;
  }

  static std::size_t frame_header_bytes(std::size_t size, bool masked) noexcept {
    return (size < 126 ? 2 : size <= 0xffff ? 4 : 10) + (masked ? 4 : 0);
  }

  // RFC 6455 §5.2: FIN, opcode, mask bit, 7/16/64-bit length, masking key.
  void put_header(bool binary, bool masked, std::size_t size) {
    auto* out = reinterpret_cast<unsigned char*>(pending_->data() + pending_size_);
    std::size_t n = 0;
    out[n++] = static_cast<unsigned char>(0x80 | (binary ? 0x2 : 0x1));
    const unsigned char mask_bit = masked ? 0x80 : 0;
    if (size < 126) {
      out[n++] = static_cast<unsigned char>(mask_bit | size);
    } else if (size <= 0xffff) {
      out[n++] = mask_bit | 126;
      out[n++] = static_cast<unsigned char>(size >> 8);
      out[n++] = static_cast<unsigned char>(size);
    } else {
      out[n++] = mask_bit | 127;
      for (int shift = 56; shift >= 0; shift -= 8)
        out[n++] = static_cast<unsigned char>(static_cast<std::uint64_t>(size) >> shift);
    }
    if (masked) {
      // xorshift64*
      mask_state_ ^= mask_state_ >> 12;
      mask_state_ ^= mask_state_ << 25;
      mask_state_ ^= mask_state_ >> 27;
      const auto key = static_cast<std::uint32_t>((mask_state_ * 0x2545f4914f6cdd1dull) >> 32);
      std::memcpy(mask_key_, &key, 4);
      std::memcpy(out + n, mask_key_, 4);
      n += 4;
    }
    pending_size_ += n;
    masking_ = masked;
  }

  // Payload bytes [offset, offset + size) of the frame whose header was put last.
  void put_payload(net::const_buffer payload, std::size_t offset) {
    char* out = pending_->data() + pending_size_;
    const auto* in = static_cast<const char*>(payload.data());
    const std::size_t size = payload.size();
    if (masking_) {
      // The key, repeated and rotated to this piece's offset, applied 8 bytes at a time.
      unsigned char rotated[8];
      for (std::size_t i = 0; i < 8; ++i) rotated[i] = mask_key_[(offset + i) % 4];
      std::uint64_t key;
      std::memcpy(&key, rotated, 8);
      std::size_t i = 0;
      for (; i + 8 <= size; i += 8) {
        std::uint64_t word;
        std::memcpy(&word, in + i, 8);
        word ^= key;
        std::memcpy(out + i, &word, 8);
      }
      for (; i < size; ++i) out[i] = static_cast<char>(in[i] ^ rotated[i % 8]);
    } else {
      std::memcpy(out, in, size);
    }
    pending_size_ += size;
  }

  void after_append() {
    if (!flushing_ && (!deferred() || pending_size_ >= kBytes / 2)) start_flush();
  }

  void wake_parked() {
    auto parked = std::move(parked_);
    parked_.clear();
    for (auto& waiter : parked) std::move(waiter)();
  }

  bool deferred() const noexcept { return source_ != nullptr && source_->rend_ > source_->rpos_; }

  template <class MutableBufferSequence>
  std::size_t take_read(const MutableBufferSequence& buffers) {
    const std::size_t n = net::buffer_copy(
        buffers, net::const_buffer(rbuf_->data() + rpos_, rend_ - rpos_));
    rpos_ += n;
    if (rpos_ == rend_) {
      rpos_ = rend_ = 0;
      rbuf_.reset();  // back to the pool
    }
    return n;
  }

  template <class ConstBufferSequence>
  std::size_t append(const ConstBufferSequence& buffers) {
    if (!pending_) pending_.emplace(pool_.take());
    const std::size_t n = net::buffer_copy(
        net::mutable_buffer(pending_->data() + pending_size_, kBytes - pending_size_), buffers);
    pending_size_ += n;
    return n;
  }

  void start_flush() {
    flight_ = std::move(pending_);
    pending_.reset();
    const std::size_t size = std::exchange(pending_size_, 0);
    flushing_ = true;
    net::async_write(socket_, net::buffer(flight_->data(), size),
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       self->flushing_ = false;
                       self->flight_.reset();
                       self->on_flushed(ec);
                     });
  }

  void on_flushed(beast::error_code ec) {
    if (ec && !error_) error_ = ec;
    if (!error_ && pending_size_ > 0 &&
        (!deferred() || pending_size_ >= kBytes / 2 || !parked_.empty())) {
      start_flush();
    }
    wake_parked();
  }

  template <class Self>
  void park(Self&& self) {
    parked_.emplace_back(std::forward<Self>(self));
  }

  tcp::socket& socket_;
  RelayBuffers& pool_;
  RelayTransport* source_ = nullptr;
  RelayTransport* sink_ = nullptr;

  std::optional<RelayBuffers::Handle> rbuf_;
  std::size_t rpos_ = 0;
  std::size_t rend_ = 0;
  bool read_ahead_ = false;
  std::uint64_t bytes_read_ = 0;

  std::optional<RelayBuffers::Handle> pending_;
  std::size_t pending_size_ = 0;
  std::optional<RelayBuffers::Handle> flight_;
  bool flushing_ = false;
  beast::error_code error_;
  std::vector<net::any_completion_handler<void()>> parked_;

  bool frame_open_ = false;  // a frame of the relay's is partly written
  bool masking_ = false;
  unsigned char mask_key_[4] = {};
  std::uint64_t mask_state_;
};

namespace detail {

struct RelayTeardownOp {
  beast::role_type role;
  RelayTransport& t;
  bool drained = false;

  template <class Self>
  void operator()(Self& self) {
    t.async_drain(std::move(self));
  }
  template <class Self>
  void operator()(Self& self, beast::error_code ec) {
    if (drained) return self.complete(ec);  // the teardown's; a failed drain is moot
    drained = true;
    beast::websocket::async_teardown(role, t.next_layer(), std::move(self));
  }
};

}  // namespace detail

// Beast's close handshake ends with a teardown: what is still buffered leaves first.
template <class TeardownHandler>
void async_teardown(beast::role_type role, RelayTransport& transport, TeardownHandler&& handler) {
  net::async_compose<TeardownHandler, void(beast::error_code)>(
      detail::RelayTeardownOp{role, transport}, handler, transport.next_layer());
}

inline void teardown(beast::role_type role, RelayTransport& transport, beast::error_code& ec) {
  beast::websocket::teardown(role, transport.next_layer(), ec);
}

}  // namespace gw::stream
