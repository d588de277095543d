// Links the shard library alone (tests/build/check_link_lines.sh reads what it needs): shard
// readers and datasets over base, the dataset messages, TBB and zstd.
#include "pipeline/shard/dataset.h"

int main(int argc, char** argv) {
  if (argc < 2) return 0;
  absl::StatusOr<std::unique_ptr<maskfeed::Dataset>> dataset = maskfeed::Dataset::Open(argv[1]);
  return dataset.ok() ? 0 : 1;
}
