// maskfeed fetch: N batches of a stream as DIR/batch-<sequence>.npz, and DIR/resume_token to
// continue from (--resume).
#include <cstdio>
#include <filesystem>

#include "client/cpp/cli/commands.h"
#include "client/cpp/feed_client.h"
#include "frontend/progress_printer.h"
#include "pipeline/base/strings.h"
#include "pipeline/tools/npz_writer.h"

namespace maskfeed::cli {
namespace {

NpzWriter BatchArchive(const StreamBatch& b, const int64_t* sequence,
                       const std::vector<int64_t>& samples) {
  NpzWriter npz;
  for (const ModalityBatch& m : b.batch.modalities) {
    for (auto [name, t] : {std::pair{"tensor", &m.tensor}, std::pair{"input_mask", &m.input_mask},
                           std::pair{"target_mask", &m.target_mask},
                           std::pair{"decoder_attention_mask", &m.decoder_attention_mask}}) {
      npz.Add(StrCat(m.name, "/", name), t->dtype, t->shape, t->data.data());
    }
  }
  npz.Add("sequence", DType::kInt64, {}, sequence);
  npz.Add("resume_token", DType::kUInt8, {static_cast<int64_t>(b.resume_token.size())},
          b.resume_token.data());
  npz.Add("samples", DType::kInt64, {static_cast<int64_t>(samples.size())}, samples.data());
  npz.Add("datasets", DType::kUInt32, {static_cast<int64_t>(b.batch.datasets.size())},
          b.batch.datasets.data());
  // Per row, the config name of its dataset ("datasets" indexes the stream's names).
  std::vector<std::string> names;
  for (uint32_t d : b.batch.datasets) {
    names.push_back(d < b.batch.dataset_names.size() ? b.batch.dataset_names[d] : StrCat(d));
  }
  npz.AddStrings("dataset_names", names);
  npz.Add("padding_rows", DType::kUInt32, {}, &b.batch.padding_rows);
  return npz;
}

}  // namespace

const char kFetchUsage[] =
    R"(  fetch --out DIR [--address A] [--dataset NAME] [--batches N] [--batch-size B] [--seed S]
        [--rank R --world-size W] [--resume FILE] [--eval pad|partial]
        [--input-tokens N] [--target-tokens N]
      Writes N batches as DIR/batch-SEQUENCE.npz (numpy.load: "<modality>/tensor",
      ".../input_mask", ".../target_mask", ".../decoder_attention_mask", "sequence",
      "resume_token", "samples", "datasets", "dataset_names": per row, the config name of the
      sample's dataset; "padding_rows") and DIR/resume_token to continue from. Without
      --dataset: the server's default (what its config trains on). --eval: an evaluation
      pass (every sample of the dataset once, in order, crop variant 0; the last batch
      padded with fully masked rows, or partial), every batch of it unless --batches says
      fewer. --input-tokens/--target-tokens: fixed token budgets (4M's fixed-eval: 128).
      Defaults: 1 batch of 128.
)";

int Fetch(const std::vector<std::string>& argv) {
  absl::StatusOr<CliArgs> args = CliArgs::Parse(
      argv, WithTlsFlags({"address", "dataset", "batches", "batch-size", "seed", "rank",
                          "world-size", "resume", "out", "eval", "input-tokens", "target-tokens"}));
  if (!args.ok()) return Fail(args.status(), kExitUsage);
  const std::string out = args->GetString("out");
  if (out.empty()) return Fail(absl::InvalidArgumentError("--out DIR is required"), kExitUsage);
  const std::string eval = args->GetString("eval");
  if (args->Has("eval") && eval != "pad" && eval != "partial") {
    return Fail(absl::InvalidArgumentError(StrCat("--eval: 'pad' or 'partial', not '", eval, "'")),
                kExitUsage);
  }
  // An evaluation pass: all of it unless --batches says fewer.
  absl::StatusOr<int64_t> batches =
      args->GetInt("batches", args->Has("eval") ? 1 << 20 : 1, 1, 1 << 20);
  if (!batches.ok()) return Fail(batches.status(), kExitUsage);
  absl::StatusOr<int64_t> input_tokens = args->GetInt("input-tokens", 0, 1, 1 << 20);
  absl::StatusOr<int64_t> target_tokens = args->GetInt("target-tokens", 0, 1, 1 << 20);
  for (const absl::Status& s : {input_tokens.status(), target_tokens.status()}) {
    if (!s.ok()) return Fail(s, kExitUsage);
  }
  absl::StatusOr<v1::StreamBatchesRequest> request = RequestFromFlags(*args, 128);
  if (!request.ok()) {
    return Fail(request.status(),
                request.status().code() == absl::StatusCode::kNotFound ? kExitFailed : kExitUsage);
  }
  request->set_max_batches(
      args->Has("eval") && !args->Has("batches") ? 0 : static_cast<uint64_t>(*batches));
  if (args->Has("eval")) {
    request->mutable_eval()->set_last_batch(eval == "partial" ? v1::EvalPass::LAST_BATCH_PARTIAL
                                                              : v1::EvalPass::LAST_BATCH_PAD);
  }
  request->mutable_overrides()->set_input_tokens(static_cast<uint32_t>(*input_tokens));
  request->mutable_overrides()->set_target_tokens(static_cast<uint32_t>(*target_tokens));
  std::error_code ec;
  std::filesystem::create_directories(out, ec);
  if (ec) return Fail(absl::InternalError(StrCat("cannot create ", out, ": ", ec.message())));
  const std::string address = args->GetString("address", kDefaultAddress);
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = ChannelFromFlags(*args, address);
  if (!channel.ok()) return Fail(channel.status(), kExitUsage);
  BatchReader reader(*channel, *request);
  ProgressFn progress = ProgressPrinter("fetch: batches written");
  for (int64_t i = 0; i < *batches; ++i) {
    absl::StatusOr<std::optional<StreamBatch>> next = reader.Next();
    if (!next.ok()) return Fail(AtAddress(address, next.status()));
    if (!next->has_value()) break;
    const StreamBatch& b = **next;
    const int64_t sequence = static_cast<int64_t>(b.sequence);
    const std::vector<int64_t> samples(b.batch.samples.begin(), b.batch.samples.end());
    char name[32];
    std::snprintf(name, sizeof(name), "batch-%06llu.npz",
                  static_cast<unsigned long long>(b.sequence));
    const absl::Status written =
        BatchArchive(b, &sequence, samples).Write((std::filesystem::path(out) / name).string());
    if (!written.ok()) return Fail(written);
    // (A whole evaluation pass: its length is the server's to know; no progress line.)
    if (!args->Has("eval") || args->Has("batches")) {
      progress(static_cast<size_t>(i + 1), static_cast<size_t>(*batches));
    }
  }
  const absl::Status token =
      WriteWholeFile((std::filesystem::path(out) / "resume_token").string(), reader.resume_token());
  if (!token.ok()) return Fail(token);
  std::printf("fetched into %s (resume with --resume %s/resume_token)\n", out.c_str(), out.c_str());
  return kExitOk;
}

}  // namespace maskfeed::cli
