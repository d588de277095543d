// .mfs shards: header, trailer, index (offsets, sizes, keys, CRCs) and zstd records, read back
// through the shard reader as the server would, every row of every record.
#include "fuzz_util.h"
#include "pipeline/shard/shard_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace maskfeed;
  absl::StatusOr<std::unique_ptr<ShardReader>> shard =
      OpenShard(fuzz::ScratchFile(fuzz::AsView(data, size), ".mfs"));
  if (!shard.ok()) return 0;
  Record record;
  for (size_t i = 0; i < (*shard)->num_records(); ++i) {
    (void)(*shard)->key(i);
    (*shard)->PrefetchIndex(i);
    if (!(*shard)->Read(i, &record).ok()) continue;
    const int64_t rows = (*shard)->first_dim(i);
    if ((*shard)->layout().rank < 2) continue;
    for (int64_t r = 0; r < rows && r < 8; ++r) (void)(*shard)->ReadRow(i, r, &record);
  }
  return 0;
}
