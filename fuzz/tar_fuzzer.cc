// Tar shards (ustar, GNU long names, pax headers): the index, then every record read back
// through the shard reader as the server would.
#include "fuzz_util.h"
#include "pipeline/shard/shard_reader.h"
#include "pipeline/shard/tar_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace maskfeed;
  const std::string_view bytes = fuzz::AsView(data, size);
  absl::StatusOr<std::vector<TarMember>> members = IndexTar(bytes, "fuzz.tar");
  if (members.ok()) {
    for (const TarMember& m : *members) {
      fuzz::Check(m.data_offset <= size && m.size <= size - m.data_offset,
                  "a member past the end of the archive");
    }
  }
  absl::StatusOr<std::unique_ptr<ShardReader>> shard = OpenShard(fuzz::ScratchFile(bytes, ".tar"));
  if (!shard.ok()) return 0;
  Record record;
  for (size_t i = 0; i < (*shard)->num_records(); ++i) {
    (void)(*shard)->key(i);
    if (!(*shard)->Read(i, &record).ok()) continue;
    const int64_t rows = (*shard)->first_dim(i);
    if ((*shard)->layout().rank >= 2 && rows > 0) (void)(*shard)->ReadRow(i, rows - 1, &record);
  }
  return 0;
}
