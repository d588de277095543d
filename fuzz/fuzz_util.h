// Helpers shared by the fuzz targets: a scratch file for decoders that read files, and the
// check that turns a broken invariant into a crash libFuzzer reports.
#ifndef MASKFEED_FUZZ_FUZZ_UTIL_H_
#define MASKFEED_FUZZ_FUZZ_UTIL_H_

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace maskfeed::fuzz {

// Aborts (a finding) when `condition` is false.
inline void Check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
    std::abort();
  }
}

// Writes `bytes` to a per-process scratch file ending in `extension` and returns its path.
inline std::string ScratchFile(std::string_view bytes, std::string_view extension) {
  const char* dir = std::getenv("TMPDIR");
  std::string path = std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") +
                     "/maskfeed-fuzz-" + std::to_string(::getpid()) + std::string(extension);
  std::FILE* f = std::fopen(path.c_str(), "wb");
  Check(f != nullptr, "cannot create the scratch file");
  if (!bytes.empty()) Check(std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size(), "write");
  std::fclose(f);
  return path;
}

inline std::string_view AsView(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace maskfeed::fuzz

#endif  // MASKFEED_FUZZ_FUZZ_UTIL_H_
