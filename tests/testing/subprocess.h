// A child process for tests of long-running programs (the server): started with fork/exec,
// its stdout+stderr captured in a file that tests poll for lines, signalled and reaped.
#ifndef MASKFEED_TESTS_TESTING_SUBPROCESS_H_
#define MASKFEED_TESTS_TESTING_SUBPROCESS_H_

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/testing/test_util.h"

namespace maskfeed::testing {

class Subprocess {
 public:
  // Runs `argv` (argv[0] is the program path) with `env` entries ("K=V") added.
  Subprocess(const std::vector<std::string>& argv, const std::string& log_path,
             const std::vector<std::string>& env = {})
      : log_path_(log_path) {
    pid_ = ::fork();
    if (pid_ == 0) {
      const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
      for (const std::string& e : env) ::putenv(const_cast<char*>(e.c_str()));
      std::vector<char*> args;
      for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }
  ~Subprocess() {
    if (pid_ > 0 && !exit_code_.has_value()) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  std::string log() const { return ReadFile(log_path_); }

  // Waits until the log contains `text`; false after `timeout` or if the process exited.
  bool WaitForLog(const std::string& text, std::chrono::seconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      if (log().find(text) != std::string::npos) return true;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return log().find(text) != std::string::npos;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  // The value after "key=" on the first log line that has `event`.
  std::string LogValue(const std::string& event, const std::string& key) const {
    const std::string text = log();
    const size_t at = text.find("event=" + event);
    if (at == std::string::npos) return "";
    const size_t line_end = text.find('\n', at);
    const size_t k = text.find(" " + key + "=", at);
    if (k == std::string::npos || k > line_end) return "";
    const size_t start = k + key.size() + 2;
    return text.substr(start, text.find_first_of(" \n", start) - start);
  }

  void Signal(int signo) { ::kill(pid_, signo); }
  pid_t pid() const { return pid_; }

  // The process's resident set size in bytes (VmRSS of /proc/PID/status); 0 if unreadable.
  uint64_t ResidentBytes() const {
    const std::string status = ReadFile("/proc/" + std::to_string(pid_) + "/status");
    const size_t at = status.find("VmRSS:");
    if (at == std::string::npos) return 0;
    return std::strtoull(status.c_str() + at + 6, nullptr, 10) * 1024;  // reported in kB
  }

  // The exit code (128 + signal if killed); nullopt if still running after `timeout`.
  std::optional<int> Wait(std::chrono::seconds timeout) {
    if (exit_code_.has_value()) return exit_code_;
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return exit_code_;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return std::nullopt;
  }

 private:
  std::string log_path_;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

}  // namespace maskfeed::testing

#endif  // MASKFEED_TESTS_TESTING_SUBPROCESS_H_
