// For a stream over data fetched on demand (remote roots): holds the shards of the batches it
// is about to build, so that they are fetched ahead of need, and lets go of them once built.
//
// Before building batch i, Advance(i) holds the shards of batch i and of the batches after it
// up to the lookahead — for the windowed order, one window's worth of positions, so the next
// window's shards are fetched while this one is read — as long as the bytes held stay within
// the budget (the cache limit); batch i's own shards are held whatever the budget. Shards of
// batches before i are released. The positions come from the same order the producer reads,
// so what is held is exactly what will be read; nothing here changes a batch's bytes.
#ifndef MASKFEED_PIPELINE_STREAM_SHARD_HOLDS_H_
#define MASKFEED_PIPELINE_STREAM_SHARD_HOLDS_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <unordered_map>
#include <vector>

#include "pipeline/order/mixture_order.h"
#include "pipeline/order/order_spec.h"
#include "pipeline/stream/stream_source.h"

namespace maskfeed {

struct ShardHoldOptions {
  uint32_t rank = 0;
  uint32_t world_size = 1;
  uint32_t batch_size = 1;
  LayoutStart layout;         // where this rank layout begins (sample_order.h)
  OrderSpec order;            // what `order` was built from: how far ahead a window reaches
  uint64_t budget_bytes = 0;  // 0 = unbounded
  uint64_t end_batch = 0;     // the stream ends before this batch (none past it held); 0 = endless
};

class ShardHolds {
 public:
  ShardHolds(std::shared_ptr<const MixtureSource> source, MixtureOrder order,
             const ShardHoldOptions& options);
  ~ShardHolds();
  ShardHolds(const ShardHolds&) = delete;
  ShardHolds& operator=(const ShardHolds&) = delete;

  // Whether any dataset fetches on demand; Advance does nothing otherwise.
  bool active() const { return active_; }
  // Before building batch `index` (non-decreasing from call to call).
  void Advance(uint64_t index);
  // Batches held ahead of the one being built (for tests and metrics).
  uint64_t batches_ahead() const { return next_ > first_ ? next_ - first_ - 1 : 0; }
  uint64_t held_bytes() const { return held_bytes_; }

 private:
  // Distinct (dataset, shard) keys of batch `index`.
  std::vector<uint64_t> ShardsOf(uint64_t index) const;
  uint64_t NewBytes(const std::vector<uint64_t>& keys) const;
  void Hold(const std::vector<uint64_t>& keys);
  void Release(const std::vector<uint64_t>& keys);

  const std::shared_ptr<const MixtureSource> source_;
  const MixtureOrder order_;
  const ShardHoldOptions options_;
  bool active_ = false;
  uint64_t ahead_batches_ = 1;
  std::deque<std::vector<uint64_t>> batches_;  // keys of batches first_ .. next_-1
  uint64_t first_ = 0, next_ = 0;
  bool started_ = false;
  std::unordered_map<uint64_t, int> counts_;  // key -> batches held that read it
  uint64_t held_bytes_ = 0;
};

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_STREAM_SHARD_HOLDS_H_
