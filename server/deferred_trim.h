// Gives freed heap pages back to the system a moment after streams end. A stream's last
// buffers are freed on several threads (its producer, gRPC's transport when it drops the
// slices of the batch it was writing), after the stream's own code has finished, so trimming
// there would miss them; trimming a short delay after the latest request catches them all and
// runs once for a burst of streams ending together.
//
//   DeferredTrim trim(std::chrono::milliseconds(300));
//   ...a stream ends...   trim.Request();
#ifndef MASKFEED_SERVER_DEFERRED_TRIM_H_
#define MASKFEED_SERVER_DEFERRED_TRIM_H_

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

namespace maskfeed {

class DeferredTrim {
 public:
  explicit DeferredTrim(std::chrono::milliseconds delay);
  ~DeferredTrim();  // stops the thread; a pending trim is dropped
  DeferredTrim(const DeferredTrim&) = delete;
  DeferredTrim& operator=(const DeferredTrim&) = delete;

  // Trims `delay` after the latest call (ReturnFreeMemory, malloc_tuning.h).
  void Request();

 private:
  void Run();

  const std::chrono::milliseconds delay_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<std::chrono::steady_clock::time_point> due_;  // guarded by mu_
  bool stop_ = false;                                         // guarded by mu_
  std::thread thread_;
};

}  // namespace maskfeed

#endif  // MASKFEED_SERVER_DEFERRED_TRIM_H_
