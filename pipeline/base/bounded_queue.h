// A bounded, closable, cancellable FIFO between a stream's producer and its consumer: the
// producer blocks while the queue is full (backpressure), the consumer while it is empty.
#ifndef MASKFEED_PIPELINE_BASE_BOUNDED_QUEUE_H_
#define MASKFEED_PIPELINE_BASE_BOUNDED_QUEUE_H_

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>

namespace maskfeed {

template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  // Blocks until there is room; false (and `item` dropped) once cancelled.
  bool Push(T item) {
    std::unique_lock<std::mutex> lock(mu_);
    ++waiting_;
    not_full_.wait(lock, [&] { return cancelled_ || items_.size() < capacity_; });
    --waiting_;
    if (cancelled_) return false;
    items_.push_back(std::move(item));
    if (items_.size() > high_water_) high_water_ = items_.size();
    not_empty_.notify_one();
    return true;
  }

  // Blocks until an item arrives; nullopt once closed and drained, or cancelled.
  std::optional<T> Pop() {
    std::unique_lock<std::mutex> lock(mu_);
    ++waiting_;
    not_empty_.wait(lock, [&] { return cancelled_ || closed_ || !items_.empty(); });
    --waiting_;
    if (cancelled_ || items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    not_full_.notify_one();
    return item;
  }

  // No more items will be pushed; Pop drains what is there, then returns nullopt.
  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    not_empty_.notify_all();
  }

  // Wakes everyone; Push and Pop fail from now on. Queued items are dropped.
  void Cancel() {
    std::deque<T> dropped;
    {
      std::lock_guard<std::mutex> lock(mu_);
      cancelled_ = true;
      dropped.swap(items_);
      not_full_.notify_all();
      not_empty_.notify_all();
    }
  }

  size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return items_.size();
  }
  // The most items ever held at once.
  size_t high_water() const {
    std::lock_guard<std::mutex> lock(mu_);
    return high_water_;
  }
  // Threads inside Push or Pop now (blocked, or about to return).
  size_t waiting() const {
    std::lock_guard<std::mutex> lock(mu_);
    return waiting_;
  }

 private:
  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable not_full_, not_empty_;
  std::deque<T> items_;     // guarded by mu_
  bool closed_ = false;     // guarded by mu_
  bool cancelled_ = false;  // guarded by mu_
  size_t high_water_ = 0;   // guarded by mu_
  size_t waiting_ = 0;      // guarded by mu_
};

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_BASE_BOUNDED_QUEUE_H_
