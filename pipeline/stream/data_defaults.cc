#include "pipeline/stream/data_defaults.h"

#include <filesystem>
#include <system_error>

namespace maskfeed {

DataDefaults DefaultsForDataDir(const std::string& dir, const std::string& preset) {
  const std::filesystem::path root(dir);
  std::error_code ec;
  DataDefaults d;
  d.preset = !preset.empty()                                   ? preset
             : std::filesystem::is_directory(root / "rgb", ec) ? "4m-7"
                                                               : "4m-7-tokens";
  if (std::filesystem::is_regular_file(root / "tokenizer.json", ec)) {
    d.text_tokenizer = (root / "tokenizer.json").string();
  }
  if (d.preset == "4m-7") d.main_augment_domain = "rgb@224";
  return d;
}

}  // namespace maskfeed
