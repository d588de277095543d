#include "pipeline/stream/data_defaults.h"

#include <filesystem>
#include <system_error>

namespace maskfeed {

DataDefaults DefaultsForDataDir(const std::string& dir, const std::string& preset) {
  const std::filesystem::path root(dir);
  std::error_code ec;
  return DefaultsFor(std::filesystem::is_directory(root / "rgb", ec),
                     std::filesystem::is_regular_file(root / "tokenizer.json", ec)
                         ? (root / "tokenizer.json").string()
                         : std::string(),
                     preset);
}

DataDefaults DefaultsFor(bool has_rgb, const std::string& tokenizer, const std::string& preset) {
  DataDefaults d;
  d.preset = !preset.empty() ? preset : has_rgb ? "4m-7" : "4m-7-tokens";
  d.text_tokenizer = tokenizer;
  if (d.preset == "4m-7") d.main_augment_domain = "rgb@224";
  return d;
}

}  // namespace maskfeed
