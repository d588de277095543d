#include "client/cpp/pixels.h"

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "pipeline/base/strings.h"

namespace maskfeed {
namespace {

constexpr std::array<float, 3> kMean = {0.485f, 0.456f, 0.406f};
constexpr std::array<float, 3> kStd = {0.229f, 0.224f, 0.225f};

// The 256 results of each channel, each computed by the formula's float32 steps (IEEE
// division and subtraction, correctly rounded: the build never enables fast-math), so a
// lookup gives every pixel exactly the formula's value.
struct Table {
  Table() {
    for (int c = 0; c < 3; ++c) {
      for (int p = 0; p < 256; ++p) {
        volatile float v = static_cast<float>(p) / 255.0f;  // no contraction across steps
        volatile float centred = v - kMean[c];
        values[c][p] = centred / kStd[c];
      }
    }
  }
  float values[3][256];
};

const Table& Values() {
  static const Table table;
  return table;
}

}  // namespace

bool IsPixels(const HostTensor& tensor) {
  return tensor.dtype == DType::kUInt8 && tensor.shape.size() == 4 && tensor.shape[1] == 3;
}

absl::StatusOr<HostTensor> NormalizePixels(const HostTensor& pixels, BufferPool* pool) {
  const size_t rank = pixels.shape.size();
  if (pixels.dtype != DType::kUInt8 || rank < 3 || pixels.shape[rank - 3] != 3) {
    std::string shape;
    for (int64_t d : pixels.shape) shape += StrCat(shape.empty() ? "" : ", ", d);
    return absl::InvalidArgumentError(StrCat("NormalizePixels: wants uint8 (..., 3, H, W), got ",
                                             DTypeName(pixels.dtype), " (", shape, ")"));
  }
  HostTensor out;
  out.dtype = DType::kFloat32;
  out.shape = pixels.shape;
  const size_t count = pixels.nbytes();
  out.data = pool != nullptr ? pool->Get(out.nbytes()) : Buffer(out.nbytes());
  const size_t plane =
      static_cast<size_t>(pixels.shape[rank - 2]) * static_cast<size_t>(pixels.shape[rank - 1]);
  const Table& table = Values();
  const uint8_t* in = pixels.as<uint8_t>();
  float* to = out.as<float>();
  for (size_t start = 0; start < count; start += plane) {
    const float* values = table.values[(start / plane) % 3];
    for (size_t i = 0; i < plane; ++i) to[start + i] = values[in[start + i]];
  }
  return out;
}

absl::Status NormalizeBatchPixels(Batch* batch, BufferPool* pool) {
  for (ModalityBatch& m : batch->modalities) {
    if (!IsPixels(m.tensor)) continue;
    absl::StatusOr<HostTensor> normalized = NormalizePixels(m.tensor, pool);
    if (!normalized.ok()) return normalized.status();
    m.tensor = *std::move(normalized);
  }
  return absl::OkStatus();
}

}  // namespace maskfeed
