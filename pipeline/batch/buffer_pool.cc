#include <utility>

#include "pipeline/batch/batch.h"

namespace maskfeed {

Buffer::Buffer(Buffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      pool_(std::move(other.pool_)) {}

Buffer& Buffer::operator=(Buffer&& other) noexcept {
  if (this != &other) {
    Release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    pool_ = std::move(other.pool_);
  }
  return *this;
}

void Buffer::Release() {
  if (data_ == nullptr) return;
  if (pool_) {
    pool_->Put(data_, size_);
    pool_.reset();
  } else {
    delete[] data_;
  }
  data_ = nullptr;
  size_ = 0;
}

std::shared_ptr<BufferPool> BufferPool::Create(size_t budget_bytes) {
  return std::shared_ptr<BufferPool>(new BufferPool(budget_bytes));
}

BufferPool::~BufferPool() {
  for (auto& [size, data] : free_) delete[] data;
}

Buffer BufferPool::Get(size_t size) {
  std::vector<std::byte*> evicted;
  {
    std::lock_guard<std::mutex> lock(mu_);
    in_use_bytes_ += size;
    // Most recently returned first: it is the likeliest to still be in cache.
    for (size_t i = free_.size(); i-- > 0;) {
      if (free_[i].first != size) continue;
      std::byte* data = free_[i].second;
      free_.erase(free_.begin() + static_cast<ptrdiff_t>(i));
      cached_bytes_ -= size;
      return Buffer(data, size, shared_from_this());
    }
    // A miss: make room by freeing the oldest cached buffers (other sizes, unlikely to be
    // asked for again soon).
    size_t drop = 0;
    while (drop < free_.size() && cached_bytes_ + in_use_bytes_ > budget_bytes_) {
      cached_bytes_ -= free_[drop].first;
      evicted.push_back(free_[drop].second);
      ++drop;
    }
    free_.erase(free_.begin(), free_.begin() + static_cast<ptrdiff_t>(drop));
  }
  for (std::byte* data : evicted) delete[] data;  // outside the lock
  return Buffer(new std::byte[size], size, shared_from_this());
}

void BufferPool::Put(std::byte* data, size_t size) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    in_use_bytes_ -= size;
    if (cached_bytes_ + in_use_bytes_ + size <= budget_bytes_) {
      free_.emplace_back(size, data);
      cached_bytes_ += size;
      return;
    }
  }
  delete[] data;
}

size_t BufferPool::cached_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cached_bytes_;
}

size_t BufferPool::in_use_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return in_use_bytes_;
}

}  // namespace maskfeed
