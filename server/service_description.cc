#include "server/service_description.h"

#include <algorithm>
#include <climits>

#include "pipeline/base/strings.h"
#include "pipeline/collate/collator.h"

namespace maskfeed {
namespace {

// Per message beyond the tensors: names, shapes, token, per-row dataset/sample ids.
constexpr uint64_t kHeaderBytes = 64 * 1024;
constexpr uint64_t kPerRowHeaderBytes = 16;
// gRPC cannot send a message of 2 GiB or more.
constexpr uint64_t kGrpcMessageCeiling = INT_MAX;

const char* TypeName(ModalityType type) {
  switch (type) {
    case ModalityType::kImg:
      return "img";
    case ModalityType::kSeq:
      return "seq";
    case ModalityType::kSeqToken:
      return "seq_token";
    case ModalityType::kSeqEmb:
      return "seq_emb";
  }
  return "?";
}

// Describes one served dataset; returns its widest row at int64 tokens.
uint64_t DescribeDataset(const ServedSource& s, v1::DatasetDescription* d) {
  d->set_name(s.name);
  d->set_preset(s.preset);
  const MaskingSpec& first = s.components.front().source->spec();
  d->set_input_tokens(static_cast<uint32_t>(first.input_max));
  d->set_target_tokens(static_cast<uint32_t>(first.target_max));
  uint64_t samples = 0;
  for (const ServedComponent& c : s.components) {
    samples += c.dataset->num_samples();
    *d->add_sources() = c.dataset->Describe();
    if (s.components.size() > 1 || s.name != c.name) {
      d->add_components(c.name);
      d->add_weights(c.weight);
    }
  }
  d->set_num_samples(samples);
  const MaskingSpec& spec = s.mixture->spec();
  const Batch row = Collator(spec, {}).Allocate(1);
  const Batch wide = Collator(spec, {.int64_tokens = true}).Allocate(1);
  d->set_bytes_per_sample(row.bytes());
  for (size_t m = 0; m < spec.modalities.size(); ++m) {
    const ModalitySpec& ms = spec.modalities[m];
    v1::ModalityLayout* l = d->add_modalities();
    l->set_name(ms.name);
    l->set_type(TypeName(ms.type));
    l->set_max_tokens(static_cast<uint32_t>(ms.length()));
    l->set_token_dtype(static_cast<v1::DType>(row.modalities[m].tensor.dtype));
    l->set_id(ms.id);
    l->set_pixel_size(static_cast<uint32_t>(ms.pixel_size));
  }
  return wide.bytes();
}

}  // namespace

absl::StatusOr<ServiceDescription> DescribeService(const std::vector<ServedSource>& served,
                                                   const v1::ServerLimits& limits) {
  ServiceDescription out;
  uint64_t widest_row = 0;
  for (const ServedSource& s : served) {
    widest_row = std::max(widest_row, DescribeDataset(s, out.response.add_datasets()));
  }
  out.max_message_bytes =
      limits.max_batch_size() * (widest_row + kPerRowHeaderBytes) + kHeaderBytes;
  if (out.max_message_bytes >= kGrpcMessageCeiling) {
    return absl::InvalidArgumentError(
        StrCat("limits.max_batch_size: batches of ", limits.max_batch_size(), " samples reach ",
               out.max_message_bytes, " bytes, over gRPC's 2 GiB message limit"));
  }
  v1::Limits* l = out.response.mutable_limits();
  l->set_max_streams(limits.max_streams());
  l->set_max_batch_size(limits.max_batch_size());
  l->set_max_message_bytes(out.max_message_bytes);
  l->set_max_repeats(limits.max_repeats());
  for (const std::string& p : PresetNames()) out.response.add_presets(p);
  out.response.set_version(MASKFEED_VERSION);
  return out;
}

}  // namespace maskfeed
