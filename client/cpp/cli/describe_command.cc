// maskfeed describe: what a server serves (datasets, modalities, shapes, dtypes, limits), as
// text or, with --json, as the DescribeResponse in protobuf's JSON mapping.
#include <cstdio>

#include "client/cpp/cli/commands.h"
#include "client/cpp/feed_client.h"
#include "google/protobuf/util/json_util.h"
#include "pipeline/base/strings.h"

namespace maskfeed::cli {

const char kDescribeUsage[] = R"(  describe [--address A] [--json]
      What a server serves: datasets, modalities, shapes, dtypes, limits.
)";

int Describe(const std::vector<std::string>& argv) {
  absl::StatusOr<CliArgs> args = CliArgs::Parse(argv, WithTlsFlags({"address"}), {"json"});
  if (!args.ok()) return Fail(args.status(), kExitUsage);
  const std::string address = args->GetString("address", kDefaultAddress);
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = ChannelFromFlags(*args, address);
  if (!channel.ok()) return Fail(channel.status(), kExitUsage);
  absl::StatusOr<v1::DescribeResponse> desc = DescribeFeed(*channel);
  if (!desc.ok()) return Fail(AtAddress(address, desc.status()));
  if (args->Has("json")) {
    std::string json;
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    const auto printed = google::protobuf::util::MessageToJsonString(*desc, &json, options);
    if (!printed.ok()) {
      return Fail(absl::InternalError(
          StrCat("cannot print the server's description as JSON: ", printed.ToString())));
    }
    std::printf("%s\n", json.c_str());
    return kExitOk;
  }
  std::printf("maskfeed-server %s at %s\n", desc->version().c_str(), address.c_str());
  const v1::Limits& l = desc->limits();
  std::printf("limits: %u streams, batch size <= %u, messages <= %llu bytes, repeats <= %u\n",
              l.max_streams(), l.max_batch_size(),
              static_cast<unsigned long long>(l.max_message_bytes()), l.max_repeats());
  for (const v1::DatasetDescription& d : desc->datasets()) {
    std::printf(
        "\ndataset '%s'%s: %llu samples, preset %s, input %u / target %u tokens, "
        "%llu bytes per sample\n",
        d.name().c_str(), d.is_default() ? " (default)" : "",
        static_cast<unsigned long long>(d.num_samples()),
        d.preset().empty() ? "-" : d.preset().c_str(), d.input_tokens(), d.target_tokens(),
        static_cast<unsigned long long>(d.bytes_per_sample()));
    for (int c = 0; c < d.components_size(); ++c) {
      std::printf("  component %s weight %g\n", d.components(c).c_str(), d.weights(c));
    }
    for (const v1::DatasetInfo& source : d.sources()) {
      std::printf("  data: %s (%d shards per modality)\n", source.root().c_str(),
                  source.shard_sizes_size());
    }
    std::printf("  order: %s\n", d.window_shards() == 0
                                     ? "global permutation"
                                     : StrCat("windows of ", d.window_shards(), " shards").c_str());
    std::string repeats = StrCat(d.n_repeats());
    for (int c = 0; c < d.component_repeats_size(); ++c) {
      repeats =
          StrCat(c == 0 ? "" : StrCat(repeats, ", "), d.components(c), " ", d.component_repeats(c));
    }
    if (d.n_repeats() > 1 || d.component_repeats_size() > 0) {
      std::printf("  repeats: %s views of each sample per epoch, spread over segments of %u\n",
                  repeats.c_str(), d.repeat_spread());
    }
    if (d.canonical_nodes() > 1) {
      std::printf("  shares: %u canonical nodes, turns of %llu positions\n", d.canonical_nodes(),
                  static_cast<unsigned long long>(d.node_batch()));
    }
    if (d.has_storage()) {
      const v1::StorageState& st = d.storage();
      std::printf(
          "  cache: %s, %.1f MB used of %s, %.1f MB held; %llu shards fetched (%.1f MB, %llu "
          "retries), %llu hits\n",
          st.cache_dir().c_str(), st.cache_used_bytes() / 1e6,
          st.cache_limit_bytes() == 0 ? "no limit"
                                      : StrCat(st.cache_limit_bytes() / 1000000, " MB").c_str(),
          st.held_bytes() / 1e6, static_cast<unsigned long long>(st.shards_fetched()),
          st.bytes_fetched() / 1e6, static_cast<unsigned long long>(st.retries()),
          static_cast<unsigned long long>(st.cache_hits()));
    }
    for (const v1::ModalityLayout& m : d.modalities()) {
      if (m.pixel_size() != 0) {
        std::printf("  %-16s %-9s %4u patches    pixels uint8 (3, %u, %u)  id %u\n",
                    m.name().c_str(), m.type().c_str(), m.max_tokens(), m.pixel_size(),
                    m.pixel_size(), m.id());
        continue;
      }
      std::printf("  %-16s %-9s %4u positions  tokens %s  id %u\n", m.name().c_str(),
                  m.type().c_str(), m.max_tokens(), v1::DType_Name(m.token_dtype()).c_str(),
                  m.id());
    }
  }
  return kExitOk;
}

}  // namespace maskfeed::cli
