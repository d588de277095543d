// The one assembly path from a dataset description to what streams read: each dataset of a
// config opened (local or remote root, 4M data_path, tokenizer, pixel options) and checked
// against its masking config, each mixture of them, with its order and the storage behind it.
// Every front end calls this — maskfeed-server's FeedService, `maskfeed bench --in-process`,
// the benchmarks — and none rebuilds a part of it.
//
//   absl::StatusOr<std::vector<ServedSource>> served = OpenServedSources(config, &arena);
//   const ServedSource& s = served->front();
//   StreamOptions o{.batch_size = 128, .order = s.order, .hold_budget_bytes = s.hold_budget_bytes};
//   absl::StatusOr<std::unique_ptr<Stream>> stream = Stream::Open(s.mixture, o, &arena);
#ifndef MASKFEED_PIPELINE_SOURCE_SERVED_SOURCE_H_
#define MASKFEED_PIPELINE_SOURCE_SERVED_SOURCE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "maskfeed/v1/config.pb.h"
#include "maskfeed/v1/feed.pb.h"
#include "maskfeed/v1/server_config.pb.h"
#include "oneapi/tbb/task_arena.h"
#include "pipeline/order/order_spec.h"
#include "pipeline/storage/storage_report.h"
#include "pipeline/stream/stream_source.h"

namespace maskfeed {

// One dataset of a served name: itself, or one component of a mixture.
struct ServedComponent {
  std::string name;
  double weight = 1;
  std::shared_ptr<const Dataset> dataset;
  v1::MaskingConfig masking;
  RawOptions raw;  // how raw members become ids and pixels
  std::shared_ptr<const StreamSource> source;
};

// A name clients ask for (a dataset or a mixture of the config).
struct ServedSource {
  std::string name;
  std::string preset;
  std::vector<ServedComponent> components;
  std::shared_ptr<const MixtureSource> mixture;
  // Its order, for streams that override nothing (order_spec.h).
  OrderSpec order;
  bool skip_corrupt = false;
  // The most bytes of shards a stream may hold ahead of need: the shard cache's limit when
  // its data is fetched on demand, else 0 (unbounded).
  uint64_t hold_budget_bytes = 0;
  // The storage its remote datasets read through; null when all of its data is local.
  std::shared_ptr<const StorageReport> storage;
};

// The datasets of a config that went through FinalizeDataConfig, then its mixtures, in config
// order. Remote roots (s3://, http(s)://) share one shard cache made from config.storage();
// datasets naming the same tokenizer file share one tokenizer. Each order is built once over
// its data (with seed 0) so that a setting the data cannot stream fails here. Errors name the
// dataset or mixture ("dataset 'cc12m': ...").
absl::StatusOr<std::vector<ServedSource>> OpenServedSources(const v1::ServerConfig& config,
                                                            tbb::task_arena* arena);

// The source a stream with these overrides reads: the served one when no token total is
// overridden and it is not an evaluation pass, otherwise one built with the request's totals
// (fixed: min = max) and, for `evaluation`, crop variant 0 always (4M's no_aug).
// INVALID_ARGUMENT naming the override when it exceeds what the modalities hold.
absl::StatusOr<std::shared_ptr<const MixtureSource>> SourceWithOverrides(
    const ServedSource& served, const v1::StreamOverrides& overrides, bool evaluation = false);

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_SOURCE_SERVED_SOURCE_H_
