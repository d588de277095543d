// The rgb@S pixel path alone, one thread: for every image of a manifest (JSON lines with
// file, top, left, crop_height, crop_width, flip and a group name), decode, convert, crop,
// resize to S×S, flip and write channel-first uint8 into a batch slot, again and again for
// --seconds; prints one JSON line per group with images per second. --fast: the fast path
// (reduced-DCT JPEG decode for large crops, rgb_pixels.h).
//
//   build/bench/maskfeed-bench-pixels --manifest DIR/manifest.jsonl [--size 224] [--seconds 3]
// bench/pixels_vs_pillow.sh runs it beside 4M's Python path on the same images and crops.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "frontend/cli_args.h"
#include "nlohmann/json.hpp"
#include "pipeline/base/json_line.h"
#include "pipeline/image/decode_rgb.h"
#include "pipeline/image/pillow_resample.h"
#include "pipeline/image/rgb_pixels.h"

namespace {

constexpr char kUsage[] =
    R"(The rgb@S pixel path alone, one thread: decode, convert, crop, resize and flip every image
of a manifest (JSON lines: file, top, left, crop_height, crop_width, flip, group) for
--seconds; one JSON line per group with images per second. --fast: the fast path.

usage: maskfeed-bench-pixels --manifest DIR/manifest.jsonl [--size 224] [--seconds 3] [--fast]
)";

struct Case {
  std::string bytes;
  maskfeed::CropBox box;
  bool flip = false;
};

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace maskfeed;
  absl::StatusOr<CliArgs> args = CliArgs::Parse(std::vector<std::string>(argv + 1, argv + argc),
                                                {"manifest", "size", "seconds"}, {"fast"});
  if (args.ok() && args->help()) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (!args.ok() || !args->Has("manifest")) {
    if (!args.ok()) std::fprintf(stderr, "%s\n", std::string(args.status().message()).c_str());
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string manifest = args->GetString("manifest");
  absl::StatusOr<int64_t> size_arg = args->GetInt("size", 224, 16, 4096);
  absl::StatusOr<int64_t> seconds_arg = args->GetInt("seconds", 3, 1, 3600);
  if (!size_arg.ok() || !seconds_arg.ok()) {
    std::fprintf(stderr, "maskfeed-bench-pixels: %s\n",
                 std::string((size_arg.ok() ? seconds_arg : size_arg).status().message()).c_str());
    return 2;
  }
  const int size = static_cast<int>(*size_arg);
  const auto seconds = static_cast<double>(*seconds_arg);
  const PixelOptions options{.fast = args->Has("fast")};
  const std::string dir = manifest.substr(0, manifest.rfind('/') + 1);
  std::map<std::string, std::vector<Case>> groups;
  std::ifstream lines(manifest);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    const nlohmann::json j = nlohmann::json::parse(line);
    groups[j["group"]].push_back({Slurp(dir + j["file"].get<std::string>()),
                                  {j["top"], j["left"], j["crop_height"], j["crop_width"]},
                                  j["flip"].get<bool>()});
  }
  std::vector<uint8_t> slot(static_cast<size_t>(size) * size * 3);  // (3, S, S)
  for (const auto& [group, cases] : groups) {
    size_t images = 0;
    const auto start = std::chrono::steady_clock::now();
    double elapsed = 0;
    while (elapsed < seconds) {
      for (const Case& c : cases) {
        if (absl::Status s = RgbPixels(c.bytes, c.box, c.flip, size, options, slot.data());
            !s.ok()) {
          std::fprintf(stderr, "pixel bench: %s\n", s.ToString().c_str());
          return 1;
        }
        ++images;
      }
      elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    std::printf("%s\n", JsonLine({{"bench", "pixels"},
                                  {"impl", options.fast ? "maskfeed-fast" : "maskfeed-exact"},
                                  {"source", group},
                                  {"size", size},
                                  {"images", images},
                                  {"seconds", elapsed},
                                  {"images_per_s", static_cast<double>(images) / elapsed}})
                            .c_str());
  }
  return 0;
}
