// The transport's ceiling on this machine: a plain Unix-socket copy of batch-sized messages
// from a writer process to a reader process, no framing, no serialization. One socketpair and
// one forked writer per stream; the parent reads every stream on its own thread into a reused
// buffer.
//
//   maskfeed-bench-socket [--message-bytes N] [--messages M] [--streams S]
//
// Prints one JSON line: {"bench": "socket_copy", ..., "bytes_per_s": ...}.
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <thread>
#include <vector>

#include "frontend/cli_args.h"
#include "pipeline/base/json_line.h"

namespace maskfeed {
namespace {

constexpr char kUsage[] =
    R"(The transport's ceiling: a plain Unix-socket copy of batch-sized messages from writer
processes to a reader. One JSON line.

usage: maskfeed-bench-socket [--message-bytes N] [--messages M] [--streams S]
)";

// Default: one plain 4m-7 batch of 128 samples.
constexpr int64_t kDefaultMessageBytes = 128 * 20080;

bool WriteAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

int Main(int argc, char** argv) {
  absl::StatusOr<CliArgs> args = CliArgs::Parse(std::vector<std::string>(argv + 1, argv + argc),
                                                {"message-bytes", "messages", "streams"});
  if (!args.ok()) {
    std::cerr << "maskfeed-bench-socket: " << args.status().message() << "\n";
    return kExitUsage;
  }
  if (args->help()) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  absl::StatusOr<int64_t> size = args->GetInt("message-bytes", kDefaultMessageBytes, 1, 1 << 30);
  absl::StatusOr<int64_t> messages = args->GetInt("messages", 400, 1, 1 << 30);
  absl::StatusOr<int64_t> streams = args->GetInt("streams", 1, 1, 64);
  for (const absl::Status& s : {size.status(), messages.status(), streams.status()}) {
    if (!s.ok()) {
      std::cerr << "maskfeed-bench-socket: " << s.message() << "\n";
      return kExitUsage;
    }
  }
  std::vector<int> fds;
  std::vector<pid_t> children;
  for (int64_t s = 0; s < *streams; ++s) {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0) {
      std::perror("socketpair");
      return kExitFailed;
    }
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::close(pair[0]);
      std::vector<char> message(static_cast<size_t>(*size), 'x');
      for (int64_t m = 0; m < *messages; ++m) {
        if (!WriteAll(pair[1], message.data(), message.size())) ::_exit(1);
      }
      ::_exit(0);
    }
    ::close(pair[1]);
    fds.push_back(pair[0]);
    children.push_back(pid);
  }
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> readers;
  std::vector<uint64_t> received(fds.size(), 0);
  for (size_t s = 0; s < fds.size(); ++s) {
    readers.emplace_back([&, s] {
      std::vector<char> buffer(static_cast<size_t>(*size));
      for (ssize_t n; (n = ::read(fds[s], buffer.data(), buffer.size())) > 0;) {
        received[s] += static_cast<uint64_t>(n);
      }
    });
  }
  for (std::thread& t : readers) t.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (pid_t pid : children) ::waitpid(pid, nullptr, 0);
  uint64_t total = 0;
  for (uint64_t r : received) total += r;
  if (total != static_cast<uint64_t>(*size * *messages * *streams)) {
    std::cerr << "maskfeed-bench-socket: received " << total << " bytes, expected more\n";
    return kExitFailed;
  }
  const nlohmann::ordered_json line = {
      {"bench", "socket_copy"},
      {"streams", *streams},
      {"message_bytes", *size},
      {"messages", *messages},
      {"seconds", std::round(seconds * 1e4) / 1e4},
      {"bytes_per_s", std::llround(seconds > 0 ? total / seconds : 0)},
      {"cores", std::max(1u, std::thread::hardware_concurrency())}};
  std::printf("%s\n", JsonLine(line).c_str());
  return kExitOk;
}

}  // namespace
}  // namespace maskfeed

int main(int argc, char** argv) { return maskfeed::Main(argc, argv); }
