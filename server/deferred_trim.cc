#include "server/deferred_trim.h"

#include "frontend/malloc_tuning.h"

namespace maskfeed {

DeferredTrim::DeferredTrim(std::chrono::milliseconds delay)
    : delay_(delay), thread_([this] { Run(); }) {}

DeferredTrim::~DeferredTrim() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void DeferredTrim::Request() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    due_ = std::chrono::steady_clock::now() + delay_;
  }
  cv_.notify_all();
}

void DeferredTrim::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stop_ || due_.has_value(); });
    if (stop_) return;
    // Wait until the latest due time; later requests move it.
    while (!stop_ && due_.has_value() && std::chrono::steady_clock::now() < *due_) {
      cv_.wait_until(lock, *due_);
    }
    if (stop_) return;
    due_.reset();
    lock.unlock();
    ReturnFreeMemory();
    lock.lock();
  }
}

}  // namespace maskfeed
