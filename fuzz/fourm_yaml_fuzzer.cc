// 4M's YAML configs (--4m-config): the input is written as a data config and as the alphas
// file it may name ("alphas.yaml"), then imported and, when that succeeds, finalized as a
// server config. Hostile YAML must give an error naming the file, never a crash or a hang.
#include <unistd.h>

#include <fstream>
#include <string>

#include "fuzz_util.h"
#include "pipeline/source/fourm_config.h"
#include "server/server_config.h"

namespace {

const std::string& Dir() {
  static const std::string dir = [] {
    char path[] = "/tmp/maskfeed-fourm-fuzz-XXXXXX";
    return std::string(mkdtemp(path));
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace maskfeed;
  const std::string_view bytes = fuzz::AsView(data, size);
  for (const char* name : {"/data.yaml", "/alphas.yaml"}) {
    std::ofstream(Dir() + name, std::ios::binary).write(bytes.data(), bytes.size());
  }
  FourMImport import;
  import.files = {Dir() + "/data.yaml"};
  import.root = Dir();
  absl::StatusOr<v1::ServerConfig> config = ImportFourMConfig(import);
  if (config.ok()) (void)FinalizeServerConfig(*config);
  return 0;
}
