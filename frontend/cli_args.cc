#include "frontend/cli_args.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <iostream>

#include "pipeline/base/strings.h"

namespace maskfeed {

absl::StatusOr<CliArgs> CliArgs::Parse(const std::vector<std::string>& args,
                                       const std::set<std::string>& value_flags,
                                       const std::set<std::string>& switches) {
  CliArgs parsed;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      parsed.help_ = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0 || arg == "--") {
      parsed.positional_.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2), value;
    const size_t eq = name.find('=');
    const bool inline_value = eq != std::string::npos;
    if (inline_value) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (switches.count(name)) {
      if (inline_value) return absl::InvalidArgumentError(StrCat("--", name, " takes no value"));
      parsed.values_[name] = "true";
    } else if (value_flags.count(name)) {
      if (!inline_value) {
        if (i + 1 >= args.size()) {
          return absl::InvalidArgumentError(StrCat("--", name, " needs a value"));
        }
        value = args[++i];
      }
      parsed.values_[name] = value;
      parsed.all_values_[name].push_back(value);
    } else {
      return absl::InvalidArgumentError(StrCat("unknown flag --", name));
    }
  }
  return parsed;
}

std::vector<std::string> CliArgs::GetAll(const std::string& flag) const {
  auto it = all_values_.find(flag);
  return it == all_values_.end() ? std::vector<std::string>() : it->second;
}

std::string CliArgs::GetString(const std::string& flag, const std::string& fallback) const {
  auto it = values_.find(flag);
  return it == values_.end() ? fallback : it->second;
}

absl::StatusOr<int64_t> CliArgs::GetInt(const std::string& flag, int64_t fallback, int64_t lo,
                                        int64_t hi) const {
  auto it = values_.find(flag);
  if (it == values_.end()) return fallback;
  const std::string& s = it->second;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < lo || v > hi) {
    return absl::InvalidArgumentError(
        StrCat("--", flag, ": '", s, "' is not an integer in [", lo, ", ", hi, "]"));
  }
  return v;
}

absl::StatusOr<uint64_t> CliArgs::GetBytes(const std::string& flag, uint64_t fallback) const {
  auto it = values_.find(flag);
  if (it == values_.end()) return fallback;
  const std::string& s = it->second;
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  int shift = 0;
  if (end != s.data() && end + 1 == s.data() + s.size()) {
    switch (*end) {
      case 'K':
      case 'k':
        shift = 10;
        break;
      case 'M':
      case 'm':
        shift = 20;
        break;
      case 'G':
      case 'g':
        shift = 30;
        break;
      case 'T':
      case 't':
        shift = 40;
        break;
      default:
        shift = -1;
    }
    if (shift > 0) ++end;
  }
  constexpr uint64_t kMax = uint64_t{1} << 63;
  if (ec != std::errc() || shift < 0 || end != s.data() + s.size() || v > (kMax >> shift)) {
    return absl::InvalidArgumentError(
        StrCat("--", flag, ": '", s, "' is not a size (bytes, or a number with K, M, G or T)"));
  }
  return v << shift;
}

int DispatchCommand(int argc, char** argv, const std::string& program, const std::string& header,
                    const std::vector<Command>& commands, const std::string& footer) {
  std::string usage = StrCat("usage: ", program, " COMMAND [ARGS]\n", header, "\ncommands:\n");
  for (const Command& c : commands) usage += c.usage;
  usage += footer;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::fputs(usage.c_str(), args.empty() ? stderr : stdout);
    return args.empty() ? kExitUsage : kExitOk;
  }
  const std::string name = args[0];
  args.erase(args.begin());
  auto it = std::find_if(commands.begin(), commands.end(),
                         [&](const Command& c) { return c.name == name; });
  if (it == commands.end()) {
    std::cerr << program << ": unknown command '" << name << "'\n" << usage;
    return kExitUsage;
  }
  if (std::find_if(args.begin(), args.end(),
                   [](const std::string& a) { return a == "--help" || a == "-h"; }) != args.end()) {
    // The command's lines without their indent: "usage: maskfeed-shard synth ...".
    std::string lines = it->usage;
    const size_t start = lines.find_first_not_of(' ');
    std::printf("usage: %s %s%s", program.c_str(), lines.substr(start).c_str(), footer.c_str());
    return kExitOk;
  }
  return it->run(args);
}

}  // namespace maskfeed
