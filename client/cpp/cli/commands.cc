#include "client/cpp/cli/commands.h"

#include <fstream>
#include <iostream>
#include <sstream>

#include "pipeline/base/limits.h"
#include "pipeline/base/output_file.h"
#include "pipeline/base/strings.h"

namespace maskfeed::cli {

int Fail(const absl::Status& status, int code) {
  std::cerr << "maskfeed: " << ToStd(status.message()) << "\n";
  if (code == kExitUsage) std::cerr << "run 'maskfeed --help' for usage\n";
  return code;
}

std::set<std::string> WithTlsFlags(std::set<std::string> flags) {
  for (const char* f : {"tls-ca", "tls-cert", "tls-key", "tls-server-name"}) flags.insert(f);
  return flags;
}

absl::StatusOr<std::optional<ChannelTls>> TlsFromFlags(const CliArgs& args) {
  if (!args.Has("tls-ca") && !args.Has("tls-cert") && !args.Has("tls-key") &&
      !args.Has("tls-server-name")) {
    return std::optional<ChannelTls>();
  }
  absl::StatusOr<ChannelTls> tls =
      LoadChannelTls(args.GetString("tls-ca"), args.GetString("tls-cert"),
                     args.GetString("tls-key"), args.GetString("tls-server-name"));
  if (!tls.ok()) return tls.status();
  return std::optional<ChannelTls>(std::move(*tls));
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> ChannelFromFlags(const CliArgs& args,
                                                                const std::string& address) {
  absl::StatusOr<std::optional<ChannelTls>> tls = TlsFromFlags(args);
  if (!tls.ok()) return tls.status();
  return MakeFeedChannel(address, tls->has_value() ? &**tls : nullptr);
}

absl::Status AtAddress(const std::string& address, const absl::Status& status) {
  return absl::Status(status.code(), StrCat(address, ": ", ToStd(status.message())));
}

absl::StatusOr<v1::StreamBatchesRequest> RequestFromFlags(const CliArgs& args,
                                                          int64_t default_batch_size) {
  v1::StreamBatchesRequest r;
  r.set_dataset(args.GetString("dataset"));
  absl::StatusOr<int64_t> batch_size =
      args.GetInt("batch-size", default_batch_size, 1, limits::kMaxBatchSize);
  absl::StatusOr<int64_t> seed = args.GetInt("seed", 0, 0, INT64_MAX);
  absl::StatusOr<int64_t> world = args.GetInt("world-size", 1, 1, limits::kMaxWorldSize);
  absl::StatusOr<int64_t> rank = args.GetInt("rank", 0, 0, limits::kMaxWorldSize - 1);
  for (const absl::Status& st :
       {batch_size.status(), seed.status(), world.status(), rank.status()}) {
    if (!st.ok()) return st;
  }
  r.set_batch_size(static_cast<uint32_t>(*batch_size));
  r.set_seed(static_cast<uint64_t>(*seed));
  r.set_world_size(static_cast<uint32_t>(*world));
  r.set_rank(static_cast<uint32_t>(*rank));
  r.set_encoding(v1::ENCODING_PACKED);
  if (args.Has("resume")) {
    std::ifstream in(args.GetString("resume"), std::ios::binary);
    if (!in) return absl::NotFoundError(StrCat("--resume: cannot read ", args.GetString("resume")));
    std::stringstream token;
    token << in.rdbuf();
    r.set_resume_token(token.str());
  }
  return r;
}

absl::Status WriteWholeFile(const std::string& path, std::string_view bytes) {
  absl::StatusOr<OutputFile> out = OutputFile::Create(path);
  if (!out.ok()) return out.status();
  if (absl::Status s = out->Write(bytes); !s.ok()) return s;
  return out->Commit();
}

}  // namespace maskfeed::cli
