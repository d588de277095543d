// maskfeed preview: an SVG of one batch's masks (mask_preview.h).
#include <algorithm>
#include <cstdio>

#include "client/cpp/cli/commands.h"
#include "client/cpp/cli/mask_preview.h"
#include "client/cpp/feed_client.h"
#include "pipeline/base/strings.h"

namespace maskfeed::cli {

const char kPreviewUsage[] =
    R"(  preview --out FILE.svg [--address A] [--dataset NAME] [--batch-size B] [--rows R]
          [--seed S] [--rank R --world-size W] [--resume FILE]
      Draws the masks of the first R samples (default 4) of one batch (default 8 samples):
      each image modality's token grid and each sequence's positions, coloured as encoder
      input, decoder target or neither.
)";

int Preview(const std::vector<std::string>& argv) {
  absl::StatusOr<CliArgs> args =
      CliArgs::Parse(argv, WithTlsFlags({"address", "dataset", "batch-size", "seed", "rank",
                                         "world-size", "resume", "rows", "out"}));
  if (!args.ok()) return Fail(args.status(), kExitUsage);
  const std::string out = args->GetString("out");
  if (out.empty()) {
    return Fail(absl::InvalidArgumentError("--out FILE.svg is required"), kExitUsage);
  }
  absl::StatusOr<int64_t> rows = args->GetInt("rows", 4, 1, 1024);
  if (!rows.ok()) return Fail(rows.status(), kExitUsage);
  absl::StatusOr<v1::StreamBatchesRequest> request = RequestFromFlags(*args, 8);
  if (!request.ok()) return Fail(request.status(), kExitUsage);
  request->set_max_batches(1);
  const std::string address = args->GetString("address", kDefaultAddress);
  absl::StatusOr<std::shared_ptr<grpc::Channel>> opened = ChannelFromFlags(*args, address);
  if (!opened.ok()) return Fail(opened.status(), kExitUsage);
  std::shared_ptr<grpc::Channel> channel = *opened;
  absl::StatusOr<v1::DescribeResponse> desc = DescribeFeed(channel);
  if (!desc.ok()) return Fail(AtAddress(address, desc.status()));
  std::vector<v1::ModalityLayout> layouts;
  for (const v1::DatasetDescription& d : desc->datasets()) {
    if (request->dataset().empty() ? layouts.empty() : d.name() == request->dataset()) {
      layouts.assign(d.modalities().begin(), d.modalities().end());
    }
  }
  BatchReader reader(channel, *request);
  absl::StatusOr<std::optional<StreamBatch>> next = reader.Next();
  if (!next.ok() || !next->has_value()) {
    const absl::Status st =
        next.ok() ? absl::InternalError("the server sent no batch") : next.status();
    return Fail(AtAddress(address, st));
  }
  const std::string title = StrCat(
      "maskfeed ", request->dataset().empty() ? desc->datasets(0).name() : request->dataset(),
      ": batch ", (*next)->sequence, ", seed ", request->seed(), ", rank ", request->rank(), "/",
      request->world_size());
  const std::string svg =
      RenderMaskPreview((*next)->batch, layouts, static_cast<int>(*rows), title);
  if (absl::Status s = WriteWholeFile(out, svg); !s.ok()) return Fail(s);
  std::printf("wrote %s (%lld samples)\n", out.c_str(),
              static_cast<long long>(std::min<int64_t>(*rows, (*next)->batch.size)));
  return kExitOk;
}

}  // namespace maskfeed::cli
