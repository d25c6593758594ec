// The CounterStore contract on MemoryCounterStore: caller-clocked (it decides with the
// `now` it is given), completions posted to a loop of its own.
#include <memory>

#include "store/memory/memory_counter_store.h"
#include "store/testing/counter_store_contract.h"
#include "testing/loop_thread.h"

namespace gw::store::contract {
namespace {

class MemoryCounterBackend final : public CounterStoreBackend {
 public:
  explicit MemoryCounterBackend(core::FakeClock&) {}
  ~MemoryCounterBackend() override { loop_.stop(); }

  CounterStore& store() override { return store_; }
  boost::asio::any_io_executor executor() override { return loop_.executor(); }
  Clocking clocking() const override { return Clocking::caller; }
  core::UnixNanos store_time() override { return {}; }
  std::size_t stored_subjects() override { return store_.size(); }

 private:
  gw::testing::LoopThread loop_;
  MemoryCounterStore store_;
};

INSTANTIATE_TYPED_TEST_SUITE_P(MemoryCounterStoreContract, CounterStoreContract,
                               MemoryCounterBackend);

}  // namespace
}  // namespace gw::store::contract
