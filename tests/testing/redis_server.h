// A real redis-server for unit tests: started on a free loopback port with no persistence,
// in its own temporary directory, and killed when the object goes away. Construction
// returns once the server answers PING (it polls the port; no fixed sleeps).
//
// Tests that need one: `testing::RedisServer server;` then `server.port()`. If
// redis-server is not installed the constructor throws, and the test fails loudly.
#pragma once

#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace gw::testing {

inline std::uint16_t any_free_loopback_port();

// A port nothing listens on right now (bound to 0 and released), at most 55535: Redis
// Cluster also listens on the port + 10000.
inline std::uint16_t free_loopback_port() {
  for (;;) {
    const std::uint16_t port = any_free_loopback_port();
    if (port <= 55535) return port;
  }
}

inline std::uint16_t any_free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    throw std::runtime_error("free_loopback_port: bind failed");
  }
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

class RedisServer {
 public:
  // `extra` are additional redis-server arguments, e.g. {"--cluster-enabled", "yes"}.
  explicit RedisServer(std::vector<std::string> extra = {}) : extra_(extra) {
    dir_ = std::filesystem::temp_directory_path() /
           ("gw-redis-" + std::to_string(::getpid()) + "-" + std::to_string(next_id()));
    std::filesystem::create_directories(dir_);
    for (int attempt = 0; attempt < 5; ++attempt) {
      port_ = free_loopback_port();
      if (start(extra)) return;
      stop();
    }
    throw std::runtime_error("RedisServer: redis-server did not start");
  }
  ~RedisServer() {
    stop();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

  // A blocking hiredis connection for test assertions (caller frees with redisFree).
  redisContext* connect() const {
    timeval timeout{1, 0};
    return redisConnectWithTimeout("127.0.0.1", port_, timeout);
  }

  // Runs one command on a fresh blocking connection; returns the reply as text (integers
  // in decimal, errors prefixed "ERR:", nil as "(nil)").
  std::string command(const std::vector<std::string>& args) const {
    redisContext* c = connect();
    if (!c || c->err) {
      if (c) redisFree(c);
      return "ERR:connect";
    }
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* reply = static_cast<redisReply*>(
        redisCommandArgv(c, static_cast<int>(args.size()), argv.data(), lens.data()));
    std::string text;
    if (!reply) {
      text = "ERR:io";
    } else if (reply->type == REDIS_REPLY_INTEGER) {
      text = std::to_string(reply->integer);
    } else if (reply->type == REDIS_REPLY_NIL) {
      text = "(nil)";
    } else if (reply->type == REDIS_REPLY_ERROR) {
      text = "ERR:" + std::string(reply->str, reply->len);
    } else if (reply->str) {
      text.assign(reply->str, reply->len);
    }
    if (reply) freeReplyObject(reply);
    redisFree(c);
    return text;
  }

  void kill() { stop(); }

  // Starts it again on the same port (after kill()), empty: nothing is persisted.
  void restart() {
    stop();
    if (!start(extra_)) throw std::runtime_error("RedisServer: restart failed");
  }

  // SIGSTOP / SIGCONT: the server keeps its connections but answers nothing meanwhile.
  void pause() { ::kill(pid_, SIGSTOP); }
  void resume() { ::kill(pid_, SIGCONT); }

 private:
  static int next_id() {
    static int id = 0;
    return ++id;
  }

  bool start(const std::vector<std::string>& extra) {
    std::vector<std::string> args{"redis-server",    "--port",       std::to_string(port_),
                                  "--bind",          "127.0.0.1",    "--save",
                                  "",                "--appendonly", "no",
                                  "--dir",           dir_.string(),  "--daemonize",
                                  "no",              "--loglevel",   "warning",
                                  "--logfile",       (dir_ / "redis.log").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    pid_ = ::fork();
    if (pid_ == 0) {
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execvp("redis-server", argv.data());
      ::_exit(127);
    }
    // Poll until it answers PING, or the process has exited (port taken).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      const std::string pong = command({"PING"});
      if (pong == "PONG" || pong.starts_with("ERR:NOAUTH")) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // poll interval
    }
    return false;
  }

  void stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }

  std::vector<std::string> extra_;
  std::filesystem::path dir_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace gw::testing
