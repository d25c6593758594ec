// Fixed-size buffers that bodies and session streams are relayed through, kept per worker
// and reused, so a request costs no allocation (and no zeroing) of a relay buffer. Worker
// thread only.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

namespace gw::stream {

class RelayBuffers {
  using FreeList = std::vector<std::unique_ptr<char[]>>;

 public:
  static constexpr std::size_t kBytes = 64 * 1024;

  // A buffer on loan; it goes back to the pool when the handle dies. The free list is
  // shared with the handles: a handle may die after its pool (a coroutine frame that
  // the worker's io_context destroys at shutdown, after the worker's other members).
  class Handle {
   public:
    Handle(std::shared_ptr<FreeList> pool, std::unique_ptr<char[]> data)
        : pool_(std::move(pool)), data_(std::move(data)) {}
    Handle(Handle&&) = default;
    Handle& operator=(Handle&&) = default;
    ~Handle() {
      if (data_ && pool_->size() < kMaxFree) pool_->push_back(std::move(data_));
    }
    char* data() const noexcept { return data_.get(); }
    static constexpr std::size_t size() noexcept { return kBytes; }

   private:
    std::shared_ptr<FreeList> pool_;
    std::unique_ptr<char[]> data_;
  };

  Handle take() {
    if (free_->empty()) return Handle(free_, std::make_unique_for_overwrite<char[]>(kBytes));
    Handle handle(free_, std::move(free_->back()));
    free_->pop_back();
    return handle;
  }

 private:
  static constexpr std::size_t kMaxFree = 64;  // bounds what a burst leaves behind

  std::shared_ptr<FreeList> free_ = std::make_shared<FreeList>();
};

}  // namespace gw::stream
