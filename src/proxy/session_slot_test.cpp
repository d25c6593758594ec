#include "proxy/session_slot.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "store/memory/memory_session_store.h"

namespace gw::proxy {
namespace {

using namespace std::chrono_literals;

class SessionSlotTest : public ::testing::Test {
 protected:
  const core::UnixNanos now{std::chrono::seconds(1'800'000'000)};
  std::unique_ptr<store::MemorySessionStore> sessions =
      *store::MemorySessionStore::open(":memory:", now);
  net::io_context io;

  // A slot of "acme:live" under a limit of one.
  store::SlotGrant acquire() { return *sessions->acquire_now("acme:live", "acme", 1, now, 60s); }

  void run(net::awaitable<void> work) {
    net::co_spawn(io, std::move(work), net::detached);
    io.run();
    io.restart();
  }
};

TEST_F(SessionSlotTest, ASlotNobodySettledIsGivenBackByItsOwner) {
  {
    SessionSlot slot(*sessions, io.get_executor(), "acme:live", acquire());
    EXPECT_TRUE(slot.held());
    EXPECT_FALSE(acquire().acquired);  // the limit of one is taken
  }                                    // an early return, as it were: nothing settled it
  io.run();
  io.restart();
  EXPECT_TRUE(acquire().acquired);
}

TEST_F(SessionSlotTest, A2xxAnswerWithAnIdBindsTheSlot) {
  {
    SessionSlot slot(*sessions, io.get_executor(), "acme:live", acquire());
    run(slot.settle(201, R"({"id":"sess_1"})", now, 60s));
    EXPECT_FALSE(slot.held());
  }
  io.run();
  EXPECT_FALSE(acquire().acquired);  // bound: still taken after the owner is gone
  EXPECT_TRUE(*sessions->release_now("acme:live", "sess_1"));
}

TEST_F(SessionSlotTest, AnyOtherAnswerGivesTheSlotBack) {
  for (const auto& [status, body] :
       {std::pair{201, std::string_view("{}")}, std::pair{201, std::string_view("not json")},
        std::pair{500, std::string_view(R"({"id":"sess_1"})")}}) {
    SessionSlot slot(*sessions, io.get_executor(), "acme:live", acquire());
    run(slot.settle(status, body, now, 60s));
    EXPECT_FALSE(slot.held());
    const store::SlotGrant again = acquire();
    EXPECT_TRUE(again.acquired) << status << " " << body;
    EXPECT_TRUE(*sessions->cancel_now("acme:live", again.reservation));
  }
}

TEST_F(SessionSlotTest, ARefusedGrantHoldsNothing) {
  const store::SlotGrant taken = acquire();
  SessionSlot refused(*sessions, io.get_executor(), "acme:live", acquire());
  EXPECT_FALSE(refused.held());
  EXPECT_FALSE(refused.grant().acquired);
  EXPECT_EQ(refused.grant().active, 1);
  (void)taken;
}

}  // namespace
}  // namespace gw::proxy
