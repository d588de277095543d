// How random the windowed epoch order is, against the global permutation: for a dataset of
// SHARDS shards of SAMPLES samples, one JSON line per order (global, then windows of K shards):
//   mean_jump        mean |sample(t+1) − sample(t)| over an epoch, as a fraction of the dataset
//                    (a uniformly random order gives 1/3)
//   same_shard       fraction of consecutive samples from the same shard
//   shards_per_batch distinct shards in a batch of 128 (mean)
//   shards_needed    distinct shards a window holds (what the cache must keep), or all
// then, for repeats (4M's wds_n_repeats 4 and wds_shuffle_buffer_repeat 1000 by default), one
// line per batch size: distinct samples per batch of consecutive positions in maskfeed's
// spread order and in a model of 4M's shuffle buffer (tests/testing/fourm_repeat_buffer.h).
//
//   build/bench/maskfeed-bench-order [--shards 1000] [--samples 1000] [--windows 1,4,8,32]
//       [--repeats 4] [--repeat-spread 1000] [--repeat-samples 100000]
//       [--batches 32,128,512,1024,4096,16384]
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "frontend/cli_args.h"
#include "pipeline/base/json_line.h"
#include "pipeline/order/sample_order.h"
#include "pipeline/order/windowed_shuffle.h"
#include "tests/testing/fourm_repeat_buffer.h"

namespace maskfeed {
namespace {

constexpr char kUsage[] =
    R"(How random the windowed epoch order is against the global permutation: one JSON line per
order (mean_jump, same_shard, shards_per_batch, shards_needed); then distinct samples per
batch with repeats, maskfeed's spread against a model of 4M's shuffle buffer, per batch size.

usage: maskfeed-bench-order [--shards 1000] [--samples 1000] [--windows 1,4,8,32]
           [--repeats 4] [--repeat-spread 1000] [--repeat-samples 100000]
           [--batches 32,128,512,1024,4096,16384]
)";

std::vector<uint64_t> Numbers(const std::string& list) {
  std::vector<uint64_t> out;
  for (absl::string_view v : absl::StrSplit(list, ',')) out.push_back(std::stoull(std::string(v)));
  return out;
}

// Distinct samples per batch: maskfeed's spread repeats against 4M's buffer.
void RepeatLines(uint32_t repeats, uint32_t spread, uint64_t samples,
                 const std::vector<uint64_t>& batches) {
  OrderOptions o;
  o.num_samples = samples;
  o.seed = 1;
  o.n_repeats = repeats;
  o.repeat_spread = spread;
  const SampleOrder order(o);
  std::vector<uint64_t> ours;
  for (uint64_t p = 0; p < samples * repeats; ++p) ours.push_back(order.At(p).sample);
  const std::vector<uint64_t> fourm = testing::FourMRepeatBuffer(samples, repeats, spread, 1);
  for (uint64_t b : batches) {
    std::printf("%s\n", JsonLine({{"bench", "repeat_spread"},
                                  {"n_repeats", repeats},
                                  {"repeat_spread", spread},
                                  {"samples", samples},
                                  {"batch", b},
                                  {"distinct_maskfeed", testing::DistinctPerBatch(ours, b)},
                                  {"distinct_4m_buffer", testing::DistinctPerBatch(fourm, b)}})
                            .c_str());
  }
}

int Run(const std::vector<std::string>& argv) {
  absl::StatusOr<CliArgs> args = CliArgs::Parse(
      argv,
      {"shards", "samples", "windows", "repeats", "repeat-spread", "repeat-samples", "batches"});
  if (!args.ok()) {
    std::fprintf(stderr, "order bench: %s\n", args.status().ToString().c_str());
    return 2;
  }
  if (args->help()) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  const uint64_t shards =
      static_cast<uint64_t>(args->GetInt("shards", 1000, 1, 1000000).value_or(1000));
  const uint64_t per =
      static_cast<uint64_t>(args->GetInt("samples", 1000, 1, 1000000).value_or(1000));
  std::vector<uint32_t> windows = {0};
  for (absl::string_view w : absl::StrSplit(args->GetString("windows", "1,4,8,32"), ',')) {
    windows.push_back(static_cast<uint32_t>(std::stoul(std::string(w))));
  }
  const uint64_t n = shards * per;
  for (uint32_t window : windows) {
    SampleOrder order(OrderOptions{.num_samples = n,
                                   .seed = 1,
                                   .n_repeats = 1,
                                   .epoch_size = 0,
                                   .shuffle = true,
                                   .windowed = nullptr,
                                   .nodes = nullptr});
    std::shared_ptr<const WindowedShuffle> windowed;
    if (window > 0) {
      windowed = *WindowedShuffle::Create(std::vector<uint64_t>(shards, per), window);
      order = SampleOrder(OrderOptions{.num_samples = n,
                                       .seed = 1,
                                       .n_repeats = 1,
                                       .epoch_size = 0,
                                       .shuffle = true,
                                       .windowed = windowed,
                                       .nodes = nullptr});
    }
    double jump = 0;
    uint64_t same = 0, batch_shards = 0, batches = 0;
    std::set<uint64_t> in_batch;
    uint64_t previous = order.At(0).sample;
    for (uint64_t t = 0; t < n; ++t) {
      const uint64_t s = order.At(t).sample;
      if (t > 0) {
        jump += static_cast<double>(s > previous ? s - previous : previous - s) /
                static_cast<double>(n);
        same += s / per == previous / per;
      }
      in_batch.insert(s / per);
      if (t % 128 == 127) {
        batch_shards += in_batch.size();
        ++batches;
        in_batch.clear();
      }
      previous = s;
    }
    std::printf(
        "%s\n",
        JsonLine({{"bench", "order_quality"},
                  {"order", window == 0 ? "global" : "windowed"},
                  {"window_shards", window},
                  {"shards", shards},
                  {"samples_per_shard", per},
                  {"mean_jump", jump / static_cast<double>(n - 1)},
                  {"same_shard", static_cast<double>(same) / static_cast<double>(n - 1)},
                  {"shards_per_batch",
                   batches ? static_cast<double>(batch_shards) / static_cast<double>(batches) : 0},
                  {"shards_needed", window == 0 ? shards : window}})
            .c_str());
  }
  RepeatLines(static_cast<uint32_t>(args->GetInt("repeats", 4, 2, 1024).value_or(4)),
              static_cast<uint32_t>(args->GetInt("repeat-spread", 1000, 1, 1 << 24).value_or(1000)),
              static_cast<uint64_t>(
                  args->GetInt("repeat-samples", 100000, 1000, 100000000).value_or(100000)),
              Numbers(args->GetString("batches", "32,128,512,1024,4096,16384")));
  return 0;
}

}  // namespace
}  // namespace maskfeed

int main(int argc, char** argv) {
  return maskfeed::Run(std::vector<std::string>(argv + 1, argv + argc));
}
