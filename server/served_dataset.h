// What a server serves, opened once at start: each configured dataset (its shards indexed and
// checked against its masking config) and each mixture of them, as the stream sources that
// StreamBatches requests read. Owned by FeedService; fixed after OpenServedDatasets.
#ifndef MASKFEED_SERVER_SERVED_DATASET_H_
#define MASKFEED_SERVER_SERVED_DATASET_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "maskfeed/v1/config.pb.h"
#include "maskfeed/v1/feed.pb.h"
#include "maskfeed/v1/server_config.pb.h"
#include "oneapi/tbb/task_arena.h"
#include "pipeline/storage/remote_shard.h"
#include "pipeline/stream/stream_source.h"

namespace maskfeed {

// One dataset of a served name: itself, or one component of a mixture.
struct ServedComponent {
  std::string name;
  double weight = 1;
  std::shared_ptr<const Dataset> dataset;
  v1::MaskingConfig masking;
  RawOptions raw;  // how raw members become ids (tokenizer, main_augment_domain)
  std::shared_ptr<const StreamSource> source;
};

// A name clients ask for (StreamBatchesRequest.dataset).
struct ServedDataset {
  std::string name;
  std::string preset;
  std::vector<ServedComponent> components;
  std::shared_ptr<const MixtureSource> mixture;
  bool skip_corrupt = false;
  uint32_t n_repeats = 1;  // for streams that do not override it
  // Shards per window of the windowed epoch order (DatasetConfig.window_shards); 0 = global.
  uint32_t window_shards = 0;
  // Per-host shares (DatasetConfig.canonical_nodes, node_batch); 0 = none.
  uint32_t canonical_nodes = 0;
  uint64_t node_batch = 0;
  // The shard cache of its remote datasets; null when all of its data is local.
  std::shared_ptr<RemoteStorage> storage;
};

// The datasets of a finalized config (FinalizeServerConfig), then its mixtures, in config
// order. Remote roots (s3://, http(s)://) share one RemoteStorage made from config.storage().
// Errors name the dataset or mixture ("dataset 'cc12m': ...").
absl::StatusOr<std::vector<ServedDataset>> OpenServedDatasets(const v1::ServerConfig& config,
                                                              tbb::task_arena* arena);

// The source a stream with these overrides reads: the served one when nothing is overridden,
// otherwise one built with the request's token totals. INVALID_ARGUMENT naming the override
// when it exceeds what the modalities hold.
absl::StatusOr<std::shared_ptr<const MixtureSource>> SourceWithOverrides(
    const ServedDataset& served, const v1::StreamOverrides& overrides);

}  // namespace maskfeed

#endif  // MASKFEED_SERVER_SERVED_DATASET_H_
