// Helpers for tests that work on real files: a temporary directory removed at the end of the
// test, and small file surgery (read, write, flip a byte, truncate) to make corrupt shards.
#ifndef MASKFEED_TESTS_TESTING_TEST_UTIL_H_
#define MASKFEED_TESTS_TESTING_TEST_UTIL_H_

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace maskfeed::testing {

// Bytes of the cached objects in a shard cache directory (not its lock or temporary files),
// as the file system says now; a file evicted while counting is skipped.
inline uint64_t CachedObjectBytes(const std::filesystem::path& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (const std::filesystem::directory_entry& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.find(".tmp-") != std::string::npos || name.ends_with(".lock")) continue;
    const uintmax_t size = std::filesystem::file_size(e.path(), ec);
    if (!ec) total += size;
  }
  return total;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "maskfeed-test-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return (path_ / rel).string(); }

 private:
  std::filesystem::path path_;
};

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void WriteFile(const std::string& path, const std::string& bytes) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

// XORs the byte at `offset` (negative: from the end) with 0xFF.
inline void FlipByte(const std::string& path, int64_t offset) {
  std::string bytes = ReadFile(path);
  const size_t at =
      offset >= 0 ? static_cast<size_t>(offset) : bytes.size() - static_cast<size_t>(-offset);
  ASSERT_LT(at, bytes.size());
  bytes[at] = static_cast<char>(bytes[at] ^ 0xFF);
  WriteFile(path, bytes);
}

inline void Truncate(const std::string& path, size_t size) {
  std::filesystem::resize_file(path, size);
}

// A status message as a std::string, for matchers.
inline std::string Message(const absl::Status& s) { return std::string(s.message()); }

// Runs a shell command and returns its exit status (or -1 if it did not exit normally).
inline int RunCommand(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// A test that runs programs: Run() captures their stdout and stderr in out_ and err_.
class ProgramTest : public ::testing::Test {
 protected:
  int Run(const std::string& program, const std::string& args) {
    const int code =
        RunCommand(program + " " + args + " >" + (dir_ / "out.txt") + " 2>" + (dir_ / "err.txt"));
    out_ = ReadFile(dir_ / "out.txt");
    err_ = ReadFile(dir_ / "err.txt");
    return code;
  }

  TempDir dir_;
  std::string out_, err_;
};

}  // namespace maskfeed::testing

#endif  // MASKFEED_TESTS_TESTING_TEST_UTIL_H_
