// `maskfeed-shard import-jsonl`: a JSON Lines file from anywhere, split into lines (bounded),
// each parsed, its text written to tar shards. Any bytes must import, be skipped line by line
// or be refused — never crash, and never count more samples and bad lines than lines.
#include <algorithm>
#include <filesystem>

#include "fuzz_util.h"
#include "pipeline/tools/jsonl_import.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace maskfeed;
  const std::string in = fuzz::ScratchFile(fuzz::AsView(data, size), ".jsonl");
  const std::filesystem::path out = in + ".out";
  const size_t lines = static_cast<size_t>(std::count(data, data + size, '\n')) + 1;
  for (const bool skip : {false, true}) {
    std::filesystem::remove_all(out);
    absl::StatusOr<JsonlImportResult> r = ImportJsonLines(
        {.in = in, .out = out.string(), .samples_per_shard = 3, .skip_bad_lines = skip});
    if (r.ok()) fuzz::Check(r->samples + r->bad_lines <= lines, "more samples than lines");
  }
  return 0;
}
