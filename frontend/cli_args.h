// The command-line parser shared by maskfeed's programs: `--name value` and `--name=value`
// flags, boolean `--name` switches, and positional arguments. Errors name the flag.
#ifndef MASKFEED_FRONTEND_CLI_ARGS_H_
#define MASKFEED_FRONTEND_CLI_ARGS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace maskfeed {

class CliArgs {
 public:
  // `value_flags` take a value, `switches` do not; anything else starting with "--" is an
  // INVALID_ARGUMENT error naming it.
  static absl::StatusOr<CliArgs> Parse(const std::vector<std::string>& args,
                                       const std::set<std::string>& value_flags,
                                       const std::set<std::string>& switches = {});

  bool Has(const std::string& flag) const { return values_.count(flag) > 0; }
  // The last value given for `flag`.
  std::string GetString(const std::string& flag, const std::string& fallback = "") const;
  // Every value of a flag given several times ("--listen a --listen b"), in order.
  std::vector<std::string> GetAll(const std::string& flag) const;
  // INVALID_ARGUMENT "--flag: 'x' is not an integer in [lo, hi]".
  absl::StatusOr<int64_t> GetInt(const std::string& flag, int64_t fallback, int64_t lo,
                                 int64_t hi) const;
  // A byte count: digits with an optional K, M, G or T (powers of 1024; "8G", "512M").
  // INVALID_ARGUMENT "--flag: 'x' is not a size (...)" otherwise or past 2^63.
  absl::StatusOr<uint64_t> GetBytes(const std::string& flag, uint64_t fallback) const;
  const std::vector<std::string>& positional() const { return positional_; }
  // Whether --help (or -h) was given, anywhere: the program prints its usage and exits 0.
  bool help() const { return help_; }

 private:
  std::map<std::string, std::string> values_;
  std::map<std::string, std::vector<std::string>> all_values_;
  std::vector<std::string> positional_;
  bool help_ = false;
};

// Exit codes shared by maskfeed's programs.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

// One command of a program run as `program COMMAND ARGS...`.
struct Command {
  std::string name;
  // Its synopsis and description, as lines of the program's usage: "  synth --out DIR ...\n
  //     Writes ...\n".
  std::string usage;
  std::function<int(const std::vector<std::string>& args)> run;
};

// Runs `program COMMAND ARGS...`: calls the command named by argv[1] with the remaining
// arguments. The program's usage is `header`, every command's usage, then `footer`. No
// command prints it to stderr (exit 2); --help / -h / help to stdout (exit 0); an unknown
// command says so (exit 2). `program COMMAND --help` (or -h anywhere in its arguments) prints
// that command's usage and `footer` (exit 0) without running it.
int DispatchCommand(int argc, char** argv, const std::string& program, const std::string& header,
                    const std::vector<Command>& commands, const std::string& footer = "");

}  // namespace maskfeed

#endif  // MASKFEED_FRONTEND_CLI_ARGS_H_
