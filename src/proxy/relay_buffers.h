// Fixed-size buffers that bodies are relayed through, kept per worker and reused, so a
// request costs no allocation (and no zeroing) of a relay buffer. Worker thread only.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

namespace gw::proxy {

class RelayBuffers {
 public:
  static constexpr std::size_t kBytes = 64 * 1024;

  // A buffer on loan; it goes back to the pool when the handle dies.
  class Handle {
   public:
    Handle(RelayBuffers& pool, std::unique_ptr<char[]> data)
        : pool_(&pool), data_(std::move(data)) {}
    Handle(Handle&&) = default;
    Handle& operator=(Handle&&) = default;
    ~Handle() {
      if (data_) pool_->give_back(std::move(data_));
    }
    char* data() const noexcept { return data_.get(); }
    static constexpr std::size_t size() noexcept { return kBytes; }

   private:
    RelayBuffers* pool_;
    std::unique_ptr<char[]> data_;
  };

  Handle take() {
    if (free_.empty()) return Handle(*this, std::make_unique_for_overwrite<char[]>(kBytes));
    Handle handle(*this, std::move(free_.back()));
    free_.pop_back();
    return handle;
  }

 private:
  static constexpr std::size_t kMaxFree = 64;  // bounds what a burst leaves behind

  void give_back(std::unique_ptr<char[]> data) {
    if (free_.size() < kMaxFree) free_.push_back(std::move(data));
  }

  std::vector<std::unique_ptr<char[]>> free_;
};

}  // namespace gw::proxy
